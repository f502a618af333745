"""The audit log as every list (sort_key, sort_dir, marker) and what node events carry: the
node's uuid, even when the URL named it, and the verb of a provision or power request.

Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import httpx

from ironworks.domain.policy import Role
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, add_user, bearer, log_in


def _events(c: httpx.Client, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = c.get("/api/v1/audit-events", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["audit_events"]  # type: ignore[no-any-return]


def test_the_audit_log_sorts_like_every_list(secure: Any) -> None:
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    for name in ("bravo", "alpha", "charlie"):
        r = c.post("/v1/nodes", json={"name": name, "driver": "fake-hardware"}, headers=admin)
        assert r.status_code == 201, r.text
    created = {"action": "node:create"}
    assert [e["target_name"] for e in _events(c, admin, **created)] == ["charlie", "alpha", "bravo"]
    by_name = _events(c, admin, sort_key="target_name", sort_dir="asc", **created)
    assert [e["target_name"] for e in by_name] == ["alpha", "bravo", "charlie"]
    first = c.get(
        "/api/v1/audit-events",
        params={"sort_key": "target_name", "sort_dir": "desc", "limit": 2, **created},
        headers=admin,
    ).json()
    assert [e["target_name"] for e in first["audit_events"]] == ["charlie", "bravo"]
    rest = _events(
        c,
        admin,
        sort_key="target_name",
        sort_dir="desc",
        limit=2,
        marker=first["next_marker"],
        **created,
    )
    assert [e["target_name"] for e in rest] == ["alpha"]
    oldest = _events(c, admin, sort_key="created_at", sort_dir="asc", limit=1)
    assert oldest[0]["action"] == "auth:login"
    r = c.get("/api/v1/audit-events", params={"sort_key": "detail"}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "sort_key"
    r = c.get("/api/v1/audit-events", params={"sort_dir": "up"}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "sort_dir"


def test_node_events_carry_the_uuid_and_the_verb(secure: Any) -> None:
    c, svc = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    uuid = c.post(
        "/v1/nodes", json={"name": "n1", "driver": "fake-hardware"}, headers=admin
    ).json()["uuid"]
    other = c.post(
        "/v1/nodes", json={"name": "n2", "driver": "fake-hardware"}, headers=admin
    ).json()["uuid"]
    r = c.put("/v1/nodes/n1/states/power", json={"target": "power off"}, headers=admin)
    assert r.status_code == 202, r.text
    r = c.put("/v1/nodes/n1/states/provision", json={"target": "manage"}, headers=admin)
    assert r.status_code == 202, r.text
    r = c.patch("/v1/nodes/n1", json=[{"op": "add", "path": "/extra/a", "value": 1}], headers=admin)
    assert r.status_code == 200, r.text
    add_user(svc, "mallory", Role.MEMBER)
    member = bearer(log_in(c, "mallory", PASSWORD))
    r = c.put("/v1/nodes/n1/states/power", json={"target": "power on"}, headers=member)
    assert r.status_code == 403
    r = c.put("/v1/nodes/n1/states/provision", json={"target": "fly"}, headers=admin)
    assert r.status_code == 400
    assert c.delete("/v1/nodes/n2", headers=admin).status_code == 204
    events = _events(c, admin, target_type="node", sort_key="created_at", sort_dir="asc")
    got = [(e["action"], e["target_id"], e["outcome"], e["detail"]) for e in events]
    assert [g[:3] for g in got] == [
        ("node:create", uuid, "success"),
        ("node:create", other, "success"),
        ("node:power", uuid, "success"),
        ("node:update", uuid, "success"),
        ("node:update", uuid, "success"),
        ("node:power", uuid, "denied"),
        ("node:update", uuid, "failure"),
        ("node:delete", other, "success"),
    ]
    assert got[2][3] == "power off" and got[3][3] == "manage"
    assert got[5][3].startswith("power on: ") and "may not" in got[5][3]
    assert got[6][3].startswith("fly: ")
    assert [e["target_name"] for e in events] == ["n1", "n2", "n1", "n1", "n1", "n1", "n1", "n2"]
