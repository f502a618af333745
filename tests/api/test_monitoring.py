"""`/api/v1/alarms` and `/api/v1/{nodes,hosts}/{ident}/sensors` with identity on, on SQLite and
PostgreSQL: who sees which alarms and sensors (the cloud admin all; others the nodes under
hosts of projects they joined), acknowledging, and bad input named by field.

The alarms and readings are written with the statements the sensor cycle uses
(`db/monitoring.py`); the cycle itself is tested against emulated BMCs in
tests/integration/test_alarms.py.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ironworks.db import monitoring as mon_db
from ironworks.db.engine import utcnow
from ironworks.db.schema import audit_events, hosts, nodes
from ironworks.domain.policy import Role
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, add_user, bearer, log_in


def world(c: Any, svc: Any) -> dict[str, Any]:
    """Hosts h1 (project p1) and h2 (p2, both of department d1) on nodes, a node n0 without a
    host; an alarm on each node, readings on h1's; users alice (p1), bob (p2), carol (admin of
    d1), eve (a project of another department)."""
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    add_user(svc, "alice", Role.MEMBER, "p1")
    add_user(svc, "bob", Role.MEMBER, "p2")
    add_user(svc, "carol", Role.DEPT_ADMIN)
    r = c.post(
        "/api/v1/flavors",
        json={"name": "f", "cpus": 1, "memory_mb": 1, "local_gb": 1},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    made = []
    for name in ("n1", "n2", "n0"):
        r = c.post(
            "/v1/nodes",
            json={
                "name": name,
                "driver": "fake-hardware",
                "properties": {"cpus": 1, "memory_mb": 1, "local_gb": 1},
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
        made.append(r.json()["uuid"])
    ids: dict[str, Any] = {}
    for host, project, node in (("h1", "p1", "n1"), ("h2", "p2", "n2")):
        with svc.db.write() as conn:  # only this node is free: the host lands on it
            conn.execute(
                sa.update(nodes).where(nodes.c.name == node).values(provision_state="available")
            )
        r = c.post(
            "/api/v1/hosts",
            json={"name": host, "flavor": "f", "image": "http://images/i.raw", "project": project},
            headers=admin,
        )
        assert r.status_code == 202, r.text
    now = utcnow()
    with svc.db.write() as conn:
        rows = conn.execute(sa.select(nodes.c.id, nodes.c.name, nodes.c.uuid)).all()
        by_name = {r.name: r for r in rows}
        on = dict(conn.execute(sa.select(hosts.c.name, hosts.c.node_id)).all())
        assert on == {"h1": by_name["n1"].id, "h2": by_name["n2"].id}
        for name in ("n1", "n2", "n0"):
            alarm = mon_db.fire(
                conn,
                by_name[name].id,
                "event_log",
                "sel:08.05.6f.1",
                "critical",
                f"event log: Power Supply PSU1 Power: Failure ({name})",
                now,
            )
            ids[name] = alarm["uuid"]
            ids[f"{name}_uuid"] = by_name[name].uuid
        mon_db.insert_readings(
            conn,
            [
                {
                    "node_id": by_name["n1"].id,
                    "read_at": now,
                    "name": "CPU1 Temp",
                    "kind": "Temperature",
                    "unit": "°C",
                    "value": 45.0,
                    "status": "ok",
                }
            ],
        )
    ids["admin"] = admin
    for user in ("alice", "bob", "carol"):
        ids[user] = bearer(log_in(c, user, PASSWORD))
    return ids


def listed(c: Any, headers: dict[str, str], **params: Any) -> list[str]:
    r = c.get("/api/v1/alarms", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return sorted(a["node_name"] for a in r.json()["alarms"])


def test_who_sees_which_alarms_and_sensors(secure: Any) -> None:
    c, svc = secure
    w = world(c, svc)
    assert listed(c, w["admin"]) == ["n0", "n1", "n2"]
    assert listed(c, w["alice"]) == ["n1"]
    assert listed(c, w["bob"]) == ["n2"]
    assert listed(c, w["carol"]) == ["n1", "n2"]  # a department admin joins its projects
    (alarm,) = c.get("/api/v1/alarms", headers=w["alice"]).json()["alarms"]
    assert alarm["host_name"] == "h1" and alarm["severity"] == "critical"

    r = c.get("/api/v1/hosts/h1/sensors", headers=w["alice"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["node_name"] == "n1" and body["host_name"] == "h1"
    assert body["readings"] == [
        {"name": "CPU1 Temp", "kind": "Temperature", "unit": "°C", "value": 45.0, "status": "ok"}
    ]
    assert [a["uuid"] for a in body["alarms"]] == [w["n1"]]
    for path in (
        "/api/v1/hosts/h2/sensors",
        f"/api/v1/nodes/{w['n2_uuid']}/sensors",
        f"/api/v1/nodes/{w['n0_uuid']}/sensors",
    ):
        r = c.get(path, headers=w["alice"])
        assert r.status_code == 404, (path, r.text)
    r = c.get("/api/v1/nodes/n0/sensors", headers=w["admin"])
    assert r.status_code == 200 and r.json()["readings"] == [] and r.json()["read_at"] is None


def test_acknowledge(secure: Any) -> None:
    c, svc = secure
    w = world(c, svc)
    r = c.post(f"/api/v1/alarms/{w['n1']}/acknowledge", headers=w["bob"])
    assert r.status_code == 404, r.text  # another project's: not even there
    r = c.post(f"/api/v1/alarms/{w['n1']}/acknowledge", headers=w["alice"])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "acknowledged" and r.json()["acknowledged_by"] == "alice"
    again = c.post(f"/api/v1/alarms/{w['n1']}/acknowledge", headers=w["admin"])
    assert again.status_code == 200 and again.json()["acknowledged_by"] == "alice"
    assert listed(c, w["alice"], state="firing") == []
    assert listed(c, w["alice"], state="open") == ["n1"]
    with svc.db.write() as conn:
        row = mon_db.find_alarm(conn, w["n2"], None)
        assert row is not None
        mon_db.resolve(conn, row["id"], utcnow())
    r = c.post(f"/api/v1/alarms/{w['n2']}/acknowledge", headers=w["bob"])
    assert r.status_code == 409 and "resolved already" in r.text
    assert listed(c, w["admin"], state=["firing", "acknowledged"]) == ["n0", "n1"]
    with svc.db.read() as conn:
        events = conn.execute(
            sa.select(audit_events.c.user_name, audit_events.c.target_id, audit_events.c.outcome)
            .where(audit_events.c.action == "alarm:acknowledge")
            .order_by(audit_events.c.id)
        ).all()
    assert [tuple(e) for e in events][:2] == [
        ("bob", None, "failure"),  # not found for bob: the event does not say what exists
        ("alice", w["n1"], "success"),
    ]


def test_bad_filters_name_the_field(secure: Any) -> None:
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    for params, field in (
        ({"state": "burning"}, "state"),
        ({"severity": "meh"}, "severity"),
        ({"rule": "gut feeling"}, "rule"),
        ({"marker": "00000000-0000-0000-0000-000000000000"}, "marker"),
        ({"limit": "0"}, "limit"),
    ):
        r = c.get("/api/v1/alarms", params=params, headers=admin)
        assert r.status_code == 400 or r.status_code == 422, r.text
        assert field in r.text, (params, r.text)
    r = c.post("/api/v1/alarms/nope/acknowledge", headers=admin)
    assert r.status_code == 404
