"""A rolling upgrade from the previous release (v0.1.0) on PostgreSQL, nodes deploying throughout.

The previous release's source is taken from this repository's git history (the tag, else its
commit, which every full clone has) and run with this environment's interpreter and
dependencies (the same set): an old API and two old conductors deploy slow fake nodes; then
`ironworks db upgrade --expand` (this release) while they run, one conductor replaced by this
release, the API, more nodes enrolled and deployed, the other conductor, and `--contract`. Every
node ends active, each job ran once (one `done` row per accepted verb, each transition once in
the node's history).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ironworks import __version__
from ironworks.db import migrate
from tests.conftest import PG_URL, free_port, pg_available, wait_for

H = {"X-OpenStack-Ironic-API-Version": "latest"}
ROOT = Path(__file__).resolve().parents[2]
OLD_TAG = "v0.1.0"
OLD_COMMIT = "d58a05af75a9d608daaa2490eb390fa694a8e1b5"  # what v0.1.0 tags
OLD_HEAD = "0018"  # v0.1.0's newest migration
HEAD = migrate.head_revision()  # this release's (recorded by its conductors)
N_OLD = 24  # nodes deploying when the upgrade starts
N_NEW = 8  # nodes enrolled through the new API while the old conductor c2 still runs
EXPECTED = [
    (None, "enroll"),
    ("enroll", "verifying"),
    ("verifying", "manageable"),
    ("manageable", "cleaning"),
    ("cleaning", "available"),
    ("available", "deploying"),
    ("deploying", "active"),
]


def old_release(dest: Path) -> Path:
    """The previous release's source tree, extracted from git under `dest`."""
    for ref in (OLD_TAG, OLD_COMMIT):
        r = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            capture_output=True,
            text=True,
        )
        if r.returncode == 0:
            break
    else:
        pytest.fail(
            f"neither the tag {OLD_TAG} nor its commit {OLD_COMMIT[:12]} is in the git "
            f"repository at {ROOT}: this test needs the previous release (clone with full "
            "history, e.g. actions/checkout with fetch-depth: 0, or `git fetch --tags`)"
        )
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


@pytest.fixture
def pg_database():
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but {PG_URL} is not reachable")
        pytest.skip("PostgreSQL not reachable")
    name = f"iw_upgrade_{uuidlib.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


class Release:
    """One release's `ironworks` command: its source tree first on the path, run from `cwd` (not
    the repository root, which `python -m` would put ahead of it)."""

    def __init__(self, source: Path, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.env = {**env, "PYTHONPATH": str(source)}
        self.cwd = cwd
        self.log = log

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ironworks.cmd.main", *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def spawn(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "ironworks.cmd.main", *args],
            env={**self.env, **env},
            cwd=self.cwd,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )


def _stop(p: subprocess.Popen[bytes]) -> None:
    p.terminate()
    p.wait(60)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _states(url: str) -> collections.Counter[str]:
    nodes = httpx.get(
        f"{url}/v1/nodes", params={"fields": "uuid,provision_state"}, headers=H, timeout=30
    ).json()["nodes"]
    return collections.Counter(n["provision_state"] for n in nodes)


def _conductor(engine: sa.Engine, host: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT * FROM conductors WHERE hostname = :h"), {"h": host}
        ).mappings()
        return next((dict(r) for r in row), None)


def _enroll(c: httpx.Client, prefix: str, n: int) -> list[str]:
    uuids = []
    for i in range(n):
        r = c.post(
            "/v1/nodes",
            json={
                "driver": "fake-hardware",
                "name": f"{prefix}-{i}",
                "driver_info": {"fake_deploy_delay": "6:10"},
            },
        )
        assert r.status_code == 201, r.text
        uuids.append(r.json()["uuid"])
    return uuids


def _provision(c: httpx.Client, uuids: list[str], verb: str) -> None:
    for u in uuids:
        r = c.put(f"/v1/nodes/{u}/states/provision", json={"target": verb})
        assert r.status_code == 202, r.text


@pytest.mark.slow
def test_rolling_upgrade_from_the_previous_release(pg_database, tmp_path):
    t_start = time.monotonic()
    old_src = old_release(tmp_path / "v0.1.0")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("IRONWORKS_") and k != "PYTHONPATH"
    }
    env |= {
        "IRONWORKS_DATABASE_URL": pg_database,
        "IRONWORKS_HOME": str(tmp_path / "home"),
        "IRONWORKS_AUTH__NOAUTH": "true",
        "IRONWORKS_CONDUCTOR__WORKERS": "2",
        "IRONWORKS_LICENSE__EVALUATION_NODES": "1000",
        "IRONWORKS_CONDUCTOR__POLL_INTERVAL": "1",
        "IRONWORKS_CONDUCTOR__JOB_LEASE": "15",
        "IRONWORKS_CONDUCTOR__HEARTBEAT_INTERVAL": "2",
        "IRONWORKS_CONDUCTOR__HEARTBEAT_TIMEOUT": "15",
    }
    log = tmp_path / "processes.log"
    old = Release(old_src, env, run_dir, log)
    new = Release(ROOT, env, run_dir, log)
    engine = sa.create_engine(pg_database)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs: dict[str, subprocess.Popen[bytes]] = {}
    timings: dict[str, float] = {}
    seen: list[str] = []  # the nodes' states when each step starts

    def step(name: str) -> None:
        states = _states(url)
        seen.append(f"{name} at {time.monotonic() - t_upgrade:.0f} s: {dict(states)}")

    try:
        r = old.run("db", "upgrade")
        assert r.returncode == 0, r.stderr
        procs["api"] = old.spawn("api", "--port", str(port))
        procs["c1"] = old.spawn("conductor", IRONWORKS_CONDUCTOR__HOSTNAME="c1")
        procs["c2"] = old.spawn("conductor", IRONWORKS_CONDUCTOR__HOSTNAME="c2")
        wait_for(lambda: _up(url), timeout=90, interval=0.3)
        wait_for(lambda: all(_conductor(engine, h) for h in ("c1", "c2")), timeout=90, interval=0.3)
        with httpx.Client(base_url=url, headers=H, timeout=30) as c:
            first = _enroll(c, "old", N_OLD)
            _provision(c, first, "manage")
            wait_for(lambda: _states(url)["manageable"] == N_OLD, timeout=120, interval=0.3)
            _provision(c, first, "provide")
            wait_for(lambda: _states(url)["available"] == N_OLD, timeout=120, interval=0.3)
            _provision(c, first, "active")
        wait_for(lambda: _states(url)["active"] >= 3, timeout=60, interval=0.2)
        t_upgrade = time.monotonic()

        # 1. expand, with the old release running
        step("expand")
        r = new.run("db", "upgrade", "--expand")
        assert r.returncode == 0, r.stderr
        expanded = migrate.expand_target(migrate.pending(migrate.chain(), OLD_HEAD) or [])
        assert f"database at revision {expanded}" in r.stdout, r.stdout
        assert "(expand)" in r.stdout and "(contract)" not in r.stdout, r.stdout
        # contracting now is refused: both conductors run the old release
        r = new.run("db", "upgrade", "--contract")
        assert r.returncode == 2, r.stdout + r.stderr
        assert "c1 (a release older than rolling upgrades)" in r.stderr, r.stderr
        assert "c2 (a release older" in r.stderr, r.stderr
        mid = _states(url)
        assert mid["active"] < N_OLD, f"the upgrade must start mid-deploy: {dict(mid)}"

        # 2. conductor c1: old out, new in
        step("c1")
        _stop(procs.pop("c1"))
        procs["c1"] = new.spawn("conductor", IRONWORKS_CONDUCTOR__HOSTNAME="c1")
        wait_for(
            lambda: (
                (_conductor(engine, "c1") or {}).get("schema_head") == HEAD
                and _conductor(engine, "c1")["online"]
            ),
            timeout=90,
            interval=0.3,
        )
        # 3. the API: old out, new in (same port)
        step("api")
        _stop(procs.pop("api"))
        procs["api"] = new.spawn("api", "--port", str(port))
        wait_for(lambda: _up(url), timeout=90, interval=0.3)
        # nodes enrolled and deployed through the new API while old c2 still works
        with httpx.Client(base_url=url, headers=H, timeout=30) as c:
            second = _enroll(c, "new", N_NEW)
            _provision(c, second, "manage")
            wait_for(lambda: _states(url)["manageable"] == N_NEW, timeout=120, interval=0.3)
            _provision(c, second, "provide")
            wait_for(lambda: _states(url)["available"] == N_NEW, timeout=120, interval=0.3)
            _provision(c, second, "active")
        r = new.run("db", "upgrade", "--contract")
        assert r.returncode == 2 and "c2 (a release older" in r.stderr, r.stdout + r.stderr
        assert "c1" not in r.stderr.split("online:")[1], r.stderr

        # 4. conductor c2: old out, new in
        step("c2")
        _stop(procs.pop("c2"))
        procs["c2"] = new.spawn("conductor", IRONWORKS_CONDUCTOR__HOSTNAME="c2")
        wait_for(
            lambda: (
                (_conductor(engine, "c2") or {}).get("schema_head") == HEAD
                and _conductor(engine, "c2")["online"]
            ),
            timeout=90,
            interval=0.3,
        )
        # 5. contract: every conductor runs this release
        step("contract")
        r = new.run("db", "upgrade", "--contract")
        assert r.returncode == 0, r.stdout + r.stderr
        timings["upgrade steps"] = time.monotonic() - t_upgrade
        status = new.run("db", "status")
        assert status.returncode == 0, status.stderr
        assert f"conductor c1: release {__version__}, schema {HEAD}" in status.stdout, status.stdout
        assert "pending" not in status.stdout, status.stdout

        total = N_OLD + N_NEW
        wait_for(lambda: _states(url)["active"] == total, timeout=240, interval=0.5)
        timings["to all active"] = time.monotonic() - t_upgrade
        nodes = httpx.get(f"{url}/v1/nodes/detail", headers=H, timeout=30).json()["nodes"]
        assert all(n["reservation"] is None and n["last_error"] is None for n in nodes), [
            (n["name"], n["reservation"], n["last_error"]) for n in nodes
        ]
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.wait(60)

    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]

    with engine.connect() as conn:
        jobs = conn.execute(sa.text("SELECT kind, state, owner FROM jobs")).all()
        hist = conn.execute(
            sa.text(
                "SELECT node_id, from_state, to_state FROM node_history "
                "WHERE to_state IS NOT NULL ORDER BY id"
            )
        ).all()
    engine.dispose()
    assert len(jobs) == 3 * total, "one job per accepted verb, none lost, none duplicated"
    assert {j.state for j in jobs} == {"done"}, collections.Counter(j.state for j in jobs)
    per_node: dict[int, list[tuple[str | None, str]]] = collections.defaultdict(list)
    for h in hist:
        per_node[h.node_id].append((h.from_state, h.to_state))
    wrong = {n: seq for n, seq in per_node.items() if seq != EXPECTED}
    assert len(per_node) == total and not wrong, (
        f"{len(wrong)} node(s) with a lost or repeated transition: {wrong}"
    )
    timings["whole test"] = time.monotonic() - t_start
    print(
        f"nodes {total} ({N_OLD} mid-deploy at the upgrade's start: {dict(mid)}); "
        + "; ".join(f"{k} {v:.1f} s" for k, v in timings.items())
    )
    print("\n".join(seen))
