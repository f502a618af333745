"""A PostgreSQL restart under load: the API answers 503 with Retry-After, then recovers; the
conductor keeps running, reconnects, and every accepted job finishes exactly once.

The test starts its OWN PostgreSQL (initdb into a temporary directory, 127.0.0.1 on a free
port, its socket in that directory) and stops and starts it; the machine's shared server is
never touched. `ironworks api` and `ironworks conductor` run as real processes against it.
"""

from __future__ import annotations

import collections
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import free_port, wait_for

H = {"X-OpenStack-Ironic-API-Version": "latest"}
N = 12


class PrivatePostgres:
    """A throw-away PostgreSQL cluster: trust auth, loopback only."""

    def __init__(self, root: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
        self.bin = Path(found[-1]).parent
        self.root, self.data, self.port = root, root / "data", free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        # initdb refuses to run as root: run the server as the postgres user then
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        if self.prefix:
            shutil.chown(self.root, "postgres")
        initdb = [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres"]
        subprocess.run(
            [*self.prefix, *initdb, "--auth=trust", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", opts, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    root = Path(tempfile.mkdtemp(prefix="iwpg-"))  # short: the socket path has a length limit
    root.chmod(0o755)
    pg = PrivatePostgres(root)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        try:
            pg.stop()
        except Exception:
            pass
        shutil.rmtree(root, ignore_errors=True)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ironworks.cmd.main", *args],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


class Workload:
    """Toggles the nodes' power through the API as fast as it is allowed; counts every answer
    and, per node, the requests the API accepted (202)."""

    def __init__(self, url: str, uuids: list[str]) -> None:
        self.url, self.uuids = url, uuids
        self.accepted: collections.Counter[str] = collections.Counter()
        self.codes: collections.Counter[int] = collections.Counter()
        self.unavailable: list[httpx.Response] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        target = dict.fromkeys(self.uuids, "power on")
        with httpx.Client(base_url=self.url, headers=H, timeout=30) as c:
            while not self.stop.is_set():
                for u in self.uuids:
                    try:
                        r = c.put(f"/v1/nodes/{u}/states/power", json={"target": target[u]})
                        g = c.get("/api/v1/statistics")
                    except httpx.HTTPError:
                        self.codes[0] += 1
                        continue
                    self.codes[r.status_code] += 1
                    self.codes[g.status_code] += 1
                    for resp in (r, g):
                        if resp.status_code == 503:
                            self.unavailable.append(resp)
                    if r.status_code == 202:
                        self.accepted[u] += 1
                        target[u] = "power off" if target[u] == "power on" else "power on"
                time.sleep(0.05)


@pytest.mark.slow
def test_postgres_restart_under_load(private_pg, tmp_path):
    env = {
        **os.environ,
        "IRONWORKS_DATABASE_URL": private_pg.url,
        "IRONWORKS_HOME": str(tmp_path / "home"),
        "IRONWORKS_AUTH__NOAUTH": "true",
        "IRONWORKS_CONDUCTOR__HOSTNAME": "c1",
        "IRONWORKS_CONDUCTOR__POLL_INTERVAL": "0.5",
        "IRONWORKS_CONDUCTOR__HEARTBEAT_INTERVAL": "1",
        "IRONWORKS_CONDUCTOR__POWER_SYNC_INTERVAL": "0",
        "IRONWORKS_LICENSE__EVALUATION_NODES": "1000",
    }
    subprocess.run(
        [sys.executable, "-m", "ironworks.cmd.main", "db", "upgrade"],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    port = free_port()
    log = tmp_path / "procs.log"
    api = _spawn(["api", "--port", str(port)], env, log)
    conductor = _spawn(["conductor"], env, log)
    url = f"http://127.0.0.1:{port}"
    engine = sa.create_engine(private_pg.url)
    try:
        wait_for(lambda: _up(url), timeout=60, interval=0.2)
        with httpx.Client(base_url=url, headers=H, timeout=30) as c:
            uuids = [
                c.post(
                    "/v1/nodes",
                    json={"driver": "fake-hardware", "driver_info": {"fake_power_delay": "0.3"}},
                ).json()["uuid"]
                for _ in range(N)
            ]
        load = Workload(url, uuids)
        load.thread.start()
        wait_for(lambda: sum(load.accepted.values()) >= 2 * N, timeout=60)

        private_pg.stop()  # -m fast: every session is cut, as by a crash or a failover
        wait_for(lambda: len(load.unavailable) >= 3, timeout=30)
        time.sleep(2)  # the conductor's loops and jobs meet the outage too
        private_pg.start()
        before = sum(load.accepted.values())
        wait_for(lambda: sum(load.accepted.values()) >= before + 2 * N, timeout=60)
        load.stop.set()
        load.thread.join(30)

        assert api.poll() is None and conductor.poll() is None, log.read_text()[-4000:]
        unexpected = {code: n for code, n in load.codes.items() if code not in (202, 200, 409, 503)}
        assert not unexpected, f"{unexpected}\n{log.read_text()[-4000:]}"
        paths = {r.request.url.path.startswith("/api/") for r in load.unavailable}
        assert paths == {True, False}, "both APIs met the outage"
        for resp in load.unavailable:  # a clear problem, never a 500
            assert resp.headers["retry-after"] == "1"
            if resp.request.url.path.startswith("/api/"):
                assert resp.headers["content-type"].startswith("application/problem+json")
                body = resp.json()
                assert body["status"] == 503 and "database is unavailable" in body["detail"]
            else:  # the Ironic API keeps Ironic's error body
                assert "database is unavailable" in resp.text

        # every accepted job ends, once: a power line in the node's history per 202
        def settled() -> bool:
            with engine.connect() as conn:
                return not conn.execute(
                    sa.text("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')")
                ).scalar_one()

        wait_for(settled, timeout=90, interval=0.5)
        with engine.connect() as conn:
            jobs = collections.Counter(
                (row.uuid, row.state)
                for row in conn.execute(
                    sa.text("SELECT n.uuid, j.state FROM jobs j JOIN nodes n ON n.id = j.node_id")
                )
            )
            lines = collections.Counter(
                row.uuid
                for row in conn.execute(
                    sa.text(
                        "SELECT n.uuid FROM node_history h JOIN nodes n ON n.id = h.node_id "
                        "WHERE h.event_type = 'power' AND h.severity = 'INFO'"
                    )
                )
            )
        assert sum(load.accepted.values()) > 3 * N
        for u in uuids:
            assert jobs[(u, "done")] == load.accepted[u], (u, jobs, load.accepted)
            assert lines[u] == load.accepted[u], (u, lines[u], load.accepted[u])
        assert not [k for k in jobs if k[1] != "done"]
    finally:
        engine.dispose()
        for p in (api, conductor):
            if p.poll() is None:
                p.terminate()
        for p in (api, conductor):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
