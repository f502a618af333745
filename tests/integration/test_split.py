"""`ironworks api` and two `ironworks conductor` processes against one PostgreSQL.

Work queued through the API is picked up at once by NOTIFY (not by the 30 s poll set here), and
the two conductors share it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid as uuidlib

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL, free_port, pg_available, wait_for

H = {"X-OpenStack-Ironic-API-Version": "latest"}


@pytest.fixture
def pg_database():
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but {PG_URL} is not reachable")
        pytest.skip("PostgreSQL not reachable")
    name = f"iw_split_{uuidlib.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def _spawn(args, env, log):
    return subprocess.Popen(
        [sys.executable, "-m", "ironworks.cmd.main", *args],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
def test_api_and_two_conductors_share_work(pg_database, tmp_path):
    env = {
        **os.environ,
        "IRONWORKS_DATABASE_URL": pg_database,
        "IRONWORKS_HOME": str(tmp_path),
        "IRONWORKS_CONDUCTOR__POLL_INTERVAL": "30",
        "IRONWORKS_AUTH__NOAUTH": "true",
        # fewer workers than nodes, so that one conductor cannot take the whole batch
        "IRONWORKS_CONDUCTOR__WORKERS": "4",
    }
    log = tmp_path / "split.log"
    # the api refuses to start on an old schema
    r = subprocess.run(
        [sys.executable, "-m", "ironworks.cmd.main", "api"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "ironworks db upgrade" in r.stderr
    subprocess.run(
        [sys.executable, "-m", "ironworks.cmd.main", "db", "upgrade"],
        env=env,
        check=True,
        timeout=60,
    )
    port = free_port()
    procs = [
        _spawn(["api", "--port", str(port)], env, log),
        _spawn(["conductor"], {**env, "IRONWORKS_CONDUCTOR__HOSTNAME": "c1"}, log),
        _spawn(["conductor"], {**env, "IRONWORKS_CONDUCTOR__HOSTNAME": "c2"}, log),
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(url), timeout=30, interval=0.2)
        wait_for(
            lambda: len(httpx.get(f"{url}/v1/conductors", headers=H).json()["conductors"]) == 2,
            timeout=30,
        )
        with httpx.Client(base_url=url, headers=H) as c:
            uuids = [
                c.post(
                    "/v1/nodes",
                    json={"driver": "fake-hardware", "driver_info": {"fake_power_delay": "0.2"}},
                ).json()["uuid"]
                for _ in range(20)
            ]
            t0 = time.monotonic()
            for u in uuids:
                assert (
                    c.put(f"/v1/nodes/{u}/states/provision", json={"target": "manage"}).status_code
                    == 202
                )
            wait_for(
                lambda: all(
                    n["provision_state"] == "manageable"
                    for n in c.get("/v1/nodes?fields=uuid,provision_state").json()["nodes"]
                ),
                timeout=25,
            )
            elapsed = time.monotonic() - t0
            hist = [
                c.get(f"/v1/nodes/{u}/history?detail=True").json()["history"][-1]["conductor"]
                for u in uuids
            ]
        assert elapsed < 10, "woken by NOTIFY, not by the 30 s poll"
        assert set(hist) == {"c1", "c2"}, f"both conductors worked: {hist}"
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(15)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
