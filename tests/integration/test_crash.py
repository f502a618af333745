"""kill -9 in the middle of work loses nothing and runs nothing twice.

200 nodes deploy on a slow fake driver; the server is killed with SIGKILL while deploys run and
queue, then started again on the same database. Every node must reach `active`, every job must
be finished exactly once, and each node's history must show each transition exactly once.
"""

from __future__ import annotations

import collections
import signal
import time

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import start_server, wait_for

N = 200
H = {"X-OpenStack-Ironic-API-Version": "latest"}


def _states(url: str) -> collections.Counter:
    nodes = httpx.get(
        f"{url}/v1/nodes?fields=uuid,provision_state,target_provision_state,reservation",
        headers=H,
        timeout=30,
    ).json()["nodes"]
    return collections.Counter(n["provision_state"] for n in nodes)


@pytest.mark.slow
def test_kill_dash_nine_mid_deploy(tmp_path):
    home = tmp_path / "home"
    env = {"IRONWORKS_CONDUCTOR__WORKERS": "32", "IRONWORKS_CONDUCTOR__JOB_LEASE": "30"}
    srv = start_server(home, env=env)
    try:
        with httpx.Client(base_url=srv.url, headers=H, timeout=30) as c:
            uuids = []
            for i in range(N):
                r = c.post(
                    "/v1/nodes",
                    json={
                        "driver": "fake-hardware",
                        "name": f"crash-{i}",
                        "driver_info": {"fake_deploy_delay": "0.5:1.5"},
                    },
                )
                assert r.status_code == 201, r.text
                uuids.append(r.json()["uuid"])
            for verb, target in (("manage", "manageable"), ("provide", "available")):
                for u in uuids:
                    assert (
                        c.put(f"/v1/nodes/{u}/states/provision", json={"target": verb}).status_code
                        == 202
                    )
                wait_for(lambda t=target: _states(srv.url)[t] == N, timeout=120, interval=0.3)
            for u in uuids:
                r = c.put(f"/v1/nodes/{u}/states/provision", json={"target": "active"})
                assert r.status_code == 202, r.text
            # let some finish, some run, most wait in the queue
            wait_for(lambda: _states(srv.url)["active"] >= 20, timeout=60, interval=0.1)
            before = _states(srv.url)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(10)
        assert 0 < before["active"] < N, f"the kill must land mid-work: {before}"

        srv = start_server(home, env=env)
        t0 = time.monotonic()
        wait_for(lambda: _states(srv.url)["active"] == N, timeout=180, interval=0.3)
        recovery = time.monotonic() - t0
        nodes = httpx.get(f"{srv.url}/v1/nodes/detail", headers=H, timeout=30).json()["nodes"]
        assert all(n["reservation"] is None and n["target_provision_state"] is None for n in nodes)
        assert all(n["last_error"] is None for n in nodes), [
            n["last_error"] for n in nodes if n["last_error"]
        ]
    finally:
        srv.proc.terminate()
        srv.proc.wait(15)

    eng = sa.create_engine(f"sqlite:///{home / 'ironworks.db'}")
    with eng.connect() as conn:
        jobs = conn.execute(sa.text("SELECT kind, state, args FROM jobs")).all()
        hist = conn.execute(
            sa.text(
                "SELECT node_id, from_state, to_state FROM node_history WHERE to_state IS NOT NULL"
            )
        ).all()
    eng.dispose()
    assert len(jobs) == 3 * N, "one job per accepted verb, none lost, none duplicated"
    assert {j.state for j in jobs} == {"done"}, collections.Counter(j.state for j in jobs)
    per_node = collections.defaultdict(list)
    for h in hist:
        per_node[h.node_id].append((h.from_state, h.to_state))
    expected = [
        (None, "enroll"),
        ("enroll", "verifying"),
        ("verifying", "manageable"),
        ("manageable", "cleaning"),
        ("cleaning", "available"),
        ("available", "deploying"),
        ("deploying", "active"),
    ]
    wrong = {n: seq for n, seq in per_node.items() if seq != expected}
    assert not wrong, (
        f"{len(wrong)} node(s) with a lost or repeated transition, e.g. {next(iter(wrong.values()))}"
    )
    print(f"state at kill: {dict(before)}; recovery to all active: {recovery:.1f} s")


def test_sigterm_stops_the_conductor_before_the_process_exits(tmp_path):
    """systemd's stop: the API drains, the conductor is marked offline, exit status 0."""
    home = tmp_path / "home"
    srv = start_server(home)
    r = httpx.post(f"{srv.url}/v1/nodes", json={"driver": "fake-hardware"}, headers=H, timeout=30)
    assert r.status_code == 201, r.text
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(20) == 0
    log = srv.log.read_text()
    assert "stopping on SIGTERM" in log and "stopped; running jobs finish" in log, log[-2000:]
    eng = sa.create_engine(f"sqlite:///{home / 'ironworks.db'}")
    with eng.connect() as conn:
        online = conn.execute(sa.text("SELECT online FROM conductors")).scalars().all()
    eng.dispose()
    assert online == [0]
