"""A dead conductor's locks and jobs are taken over; wait states time out with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from ironworks.conductor.conductor import Conductor
from ironworks.db import agents as agent_db
from ironworks.db.engine import utcnow
from ironworks.db.schema import agent_sessions, conductors, jobs, nodes
from tests.api.test_nodes import make_node
from tests.conftest import make_settings, wait_for


@pytest.fixture
def fast_settings(database_url, tmp_path):
    return make_settings(
        database_url,
        tmp_path,
        conductor={
            "hostname": "survivor",
            "poll_interval": 0.05,
            "periodic_interval": 0.2,
            "heartbeat_timeout": 5,
            "job_lease": 30,
            "power_sync_interval": 0,
        },
        timeouts={"deploy_callback": 2},
    )


@pytest.fixture
def survivor(db, fast_settings):
    c = Conductor(db, fast_settings)
    yield c
    c.stop(wait=True)


def test_dead_conductors_lock_and_job_are_taken_over(client, db, survivor):
    uuid = make_node(client)["uuid"]
    assert (
        client.put(f"/v1/nodes/{uuid}/states/provision", json={"target": "manage"}).status_code
        == 202
    )
    long_ago = utcnow() - timedelta(minutes=10)
    with db.write() as conn:  # a conductor that claimed the job and died with it
        conn.execute(
            sa.insert(conductors).values(
                hostname="ghost",
                conductor_group="",
                online=True,
                drivers=["fake-hardware"],
                incarnation="x",
                created_at=long_ago,
                updated_at=long_ago,
            )
        )
        conn.execute(sa.update(nodes).where(nodes.c.uuid == uuid).values(reservation="ghost"))
        conn.execute(sa.update(jobs).values(state="running", owner="ghost/x", lease_until=long_ago))
    survivor.start()
    node = wait_for(
        lambda: (
            (n := client.get(f"/v1/nodes/{uuid}").json())["provision_state"] == "manageable"
            and n["reservation"] is None
            and n
        ),
        timeout=20,
    )
    assert node["last_error"] is None
    ghost = next(
        c for c in client.get("/v1/conductors").json()["conductors"] if c["hostname"] == "ghost"
    )
    assert ghost["alive"] is False
    with db.read() as conn:
        row = conn.execute(sa.select(jobs.c.state, jobs.c.owner, jobs.c.attempts)).one()
    assert row.state == "done" and row.owner.startswith("survivor/") and row.attempts == 1


def test_wait_state_times_out_with_a_sentence(client, db, survivor):
    uuid = make_node(client)["uuid"]
    with db.write() as conn:
        conn.execute(
            sa.update(nodes)
            .where(nodes.c.uuid == uuid)
            .values(
                provision_state="wait call-back",
                target_provision_state="active",
                provision_updated_at=utcnow() - timedelta(seconds=10),
                driver_internal_info={
                    "timeline": [
                        {"phase": "boot ramdisk", "started": "t0", "finished": "t1"},
                        {"phase": "write image", "started": "t1", "finished": None},
                    ]
                },
            )
        )
        node_id = conn.execute(sa.select(nodes.c.id).where(nodes.c.uuid == uuid)).scalar_one()
        agent_db.reset(conn, node_id, "deploy")
        conn.execute(
            sa.update(agent_sessions).values(
                token_sha256="0" * 64,
                agent_address="10.99.1.7",
                last_heartbeat=utcnow() - timedelta(seconds=90),
                running={
                    "id": "write_image-1",
                    "name": "write_image",
                    "progress": {"done": 1048576, "total": 67108864},
                },
            )
        )
    survivor.start()
    node = wait_for(
        lambda: (
            (n := client.get(f"/v1/nodes/{uuid}").json())["provision_state"] == "deploy failed"
            and n
        ),
        timeout=10,
    )
    assert "timed out after 2 s in 'wait call-back' during 'write image'" in node["last_error"]
    assert "the agent at 10.99.1.7 was last heard 9" in node["last_error"]
    assert "running write_image (1048576 of 67108864 bytes)" in node["last_error"]
    hist = client.get(f"/v1/nodes/{uuid}/history?detail=True").json()["history"]
    assert hist[-1]["severity"] == "ERROR" and hist[-1]["state"] == "deploy failed"


def test_abort_a_wait_state(client, db):
    uuid = make_node(client)["uuid"]
    with db.write() as conn:
        conn.execute(
            sa.update(nodes)
            .where(nodes.c.uuid == uuid)
            .values(provision_state="clean wait", target_provision_state="available")
        )
    assert (
        client.put(f"/v1/nodes/{uuid}/states/provision", json={"target": "abort"}).status_code
        == 202
    )
    node = client.get(f"/v1/nodes/{uuid}").json()
    assert node["provision_state"] == "clean failed" and node["target_provision_state"] is None


def test_restart_requeues_own_jobs_at_once(db, settings, client):
    uuid = make_node(client)["uuid"]
    client.put(f"/v1/nodes/{uuid}/states/provision", json={"target": "manage"})
    first = Conductor(db, settings)
    # a previous incarnation of the same host held the job and the lock when it was killed
    with db.write() as conn:
        conn.execute(sa.update(nodes).values(reservation=settings.conductor.hostname))
        conn.execute(
            sa.update(jobs).values(
                state="running",
                owner=f"{settings.conductor.hostname}/old",
                lease_until=utcnow() + timedelta(hours=1),
            )
        )
    first.start()
    try:
        wait_for(
            lambda: client.get(f"/v1/nodes/{uuid}").json()["provision_state"] == "manageable",
            timeout=10,
        )
    finally:
        first.stop()
    with db.read() as conn:
        assert conn.execute(sa.select(jobs.c.state, jobs.c.attempts)).one() == ("done", 1)


def test_a_job_that_keeps_failing_is_given_up_with_a_reason(client, db, survivor):
    uuid = make_node(client)["uuid"]
    with db.write() as conn:
        node_id = conn.execute(sa.select(nodes.c.id).where(nodes.c.uuid == uuid)).scalar_one()
        # a malformed job (no power target) that already failed four times
        conn.execute(
            sa.insert(jobs).values(
                node_id=node_id,
                kind="power",
                args={},
                state="queued",
                attempts=4,
                request_id="req-broken",
                created_at=utcnow(),
            )
        )
        conn.execute(sa.update(nodes).values(target_power_state="power on"))
    survivor.start()
    node = wait_for(
        lambda: (n := client.get(f"/v1/nodes/{uuid}").json())["last_error"] and n, timeout=10
    )
    assert (
        "internal error after 5 attempts" in node["last_error"]
        and "req-broken" in node["last_error"]
    )
    assert node["target_power_state"] is None and node["reservation"] is None
    with db.read() as conn:
        assert conn.execute(sa.select(jobs.c.state)).scalar_one() == "failed"


def test_a_conductor_works_only_for_the_nodes_of_its_group(client, db, database_url, tmp_path):
    """Conductor groups (Ironic's): a node's jobs go to a conductor of the node's group, whose
    boot services sit on that group's provisioning network; none serves group 'rack9'."""

    def conductor(name: str, group: str) -> Conductor:
        settings = make_settings(
            database_url,
            tmp_path / name,
            conductor={
                "hostname": name,
                "group": group,
                "poll_interval": 0.05,
                "power_sync_interval": 0,
            },
        )
        return Conductor(db, settings)

    on_rack1 = make_node(client, name="in-rack1", conductor_group="rack1")["uuid"]
    on_rack2 = make_node(client, name="in-rack2", conductor_group="rack2")["uuid"]
    orphan = make_node(client, name="in-rack9", conductor_group="rack9")["uuid"]
    r1, r2 = conductor("cond-rack1", "rack1"), conductor("cond-rack2", "rack2")
    r1.start()
    r2.start()
    try:
        for u in (on_rack1, on_rack2, orphan):
            r = client.put(f"/v1/nodes/{u}/states/provision", json={"target": "manage"})
            assert r.status_code == 202, r.text
        for u in (on_rack1, on_rack2):
            wait_for(
                lambda u=u: client.get(f"/v1/nodes/{u}").json()["provision_state"] == "manageable"
            )
        ran_on = {}
        with db.read() as conn:
            for u in (on_rack1, on_rack2, orphan):
                ran_on[u] = conn.execute(
                    sa.select(jobs.c.state, jobs.c.owner)
                    .join(nodes, nodes.c.id == jobs.c.node_id)
                    .where(nodes.c.uuid == u)
                ).one()
        assert ran_on[on_rack1].owner.startswith("cond-rack1/")
        assert ran_on[on_rack2].owner.startswith("cond-rack2/")
        assert (ran_on[orphan].state, ran_on[orphan].owner) == ("queued", None)
        assert client.get(f"/v1/nodes/{orphan}").json()["provision_state"] == "verifying"
    finally:
        r1.stop(wait=True)
        r2.stop(wait=True)
