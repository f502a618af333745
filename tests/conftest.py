"""Shared fixtures.

* `backend` / `services` / `client`: the API in-process (httpx over ASGI) on a fresh database,
  parametrized over SQLite and PostgreSQL. PostgreSQL comes from IRONWORKS_TEST_PG_URL
  (default postgresql+psycopg://postgres@127.0.0.1:5432/test); each test gets its own schema.
* `conductor`: a real conductor thread against the same database.
* `live_server`: a real `ironworks serve` process on a free loopback port, for tests that drive
  it with external clients (baremetal CLI, openstacksdk, the ironworks CLI).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

# The CLI speaks the user's language (tests/cli/test_i18n.py checks zh_CN); the other tests
# read its English, whatever the machine's locale.
os.environ["LANGUAGE"] = "en"

from ironworks.api.app import create_app
from ironworks.common.crypto import new_key
from ironworks.common.settings import Settings, load_settings
from ironworks.db import migrate
from ironworks.db.engine import Database
from ironworks.services.context import Services

PG_URL = os.environ.get(
    "IRONWORKS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def pg_available() -> bool:
    try:
        eng = sa.create_engine(PG_URL)
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ironworks.db'}"
        return
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but {PG_URL} is not reachable")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


# One key for every Services and Conductor a test builds from the same settings.
TEST_SECRET_KEY = new_key()


def make_settings(database_url: str, tmp_path: Path, **kw: Any) -> Settings:
    kw.setdefault("secret_key", TEST_SECRET_KEY)
    kw.setdefault("auth", {"noauth": True})  # tests/api/test_access.py turns identity on
    kw.setdefault("license", {"evaluation_nodes": 10**6})  # tests/api/test_license.py: limits
    return load_settings(home=tmp_path, database_url=database_url, **kw)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        conductor={"hostname": "test-conductor", "poll_interval": 0.05, "periodic_interval": 3600},
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.effective_database_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def services(db: Database, settings: Settings) -> Services:
    return Services(db=db, settings=settings)


@pytest.fixture
def client(services: Services) -> Iterator[httpx.Client]:
    """Synchronous client over the in-process ASGI app, speaking the latest microversion."""
    from starlette.testclient import TestClient

    app = create_app(services)
    with TestClient(app, base_url="http://testserver") as c:
        c.headers["X-OpenStack-Ironic-API-Version"] = "latest"
        yield c


@pytest.fixture
def conductor(db: Database, settings: Settings) -> Iterator[Any]:
    from ironworks.conductor.conductor import Conductor

    c = Conductor(db, settings)
    c.start()
    yield c
    c.stop(wait=True)


def wait_for(fn: Any, timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll fn() until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


class LiveServer:
    def __init__(self, url: str, proc: subprocess.Popen, home: Path, log: Path) -> None:
        self.url, self.proc, self.home, self.log = url, proc, home, log

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(
    home: Path, port: int | None = None, env: dict[str, str] | None = None
) -> LiveServer:
    port = port or free_port()
    log = home / "server.log"
    home.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "IRONWORKS_HOME": str(home), **(env or {})}
    full_env.setdefault("IRONWORKS_CONDUCTOR__POLL_INTERVAL", "0.2")
    full_env.setdefault("IRONWORKS_AUTH__NOAUTH", "true")
    full_env.setdefault("IRONWORKS_LICENSE__EVALUATION_NODES", "1000000")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ironworks.cmd.main", "serve", "--port", str(port)],
        env=full_env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # migrations on a loaded 2-core machine
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url + "/v1", timeout=1).status_code == 200:
                return LiveServer(url, proc, home, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not come up:\n{log.read_text()}")


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    srv = start_server(tmp_path / "server")
    yield srv
    stop_server(srv)


def stop_server(srv: LiveServer) -> None:
    srv.proc.terminate()
    try:
        srv.proc.wait(10)
    except subprocess.TimeoutExpired:
        srv.proc.kill()


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """A directory over plain HTTP on 127.0.0.1 (an image server): its base URL."""
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
