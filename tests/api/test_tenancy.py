"""Departments, projects, users: scoping beyond the permission table, and the audit log's API.

The permission cells are tested in test_access.py; here: what lies outside a caller's scope is
a 404, a department admin's limits, the last admin, and the audit log listed and exported.
"""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, bearer, log_in


def post(c: Any, path: str, body: dict[str, Any], headers: dict[str, str], code: int = 201) -> Any:
    r = c.post(path, json=body, headers=headers)
    assert r.status_code == code, r.text
    return r.json()


def setup_org(c: Any) -> dict[str, str]:
    """d1 with p1 (alice member), d2 with p2 (carol member), bob admin of d1."""
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    for d in ("d1", "d2"):
        post(c, "/api/v1/departments", {"name": d, "quota_hosts": 10}, admin)
    post(c, "/api/v1/projects", {"name": "p1", "department": "d1"}, admin)
    post(c, "/api/v1/projects", {"name": "p2", "department": "d2"}, admin)
    for u in ("alice", "bob", "carol"):
        post(c, "/api/v1/users", {"name": u, "password": PASSWORD}, admin)
    assert c.put("/api/v1/projects/p1/members/alice", json={}, headers=admin).status_code == 200
    assert (
        c.put(
            "/api/v1/projects/p2/members/carol", json={"role": "project_admin"}, headers=admin
        ).status_code
        == 200
    )
    assert c.put("/api/v1/departments/d1/admins/bob", headers=admin).status_code == 200
    return {"admin": admin["Authorization"]}


def as_(c: Any, user: str) -> dict[str, str]:
    return bearer(log_in(c, user, PASSWORD))


def test_members_see_their_projects_only(secure: Any) -> None:
    c, _ = secure
    setup_org(c)
    alice = as_(c, "alice")
    listed = c.get("/api/v1/projects", headers=alice).json()["projects"]
    assert [p["name"] for p in listed] == ["p1"]
    assert listed[0]["members"] == [{"user": "alice", "role": "member"}]
    assert listed[0]["department"] == "d1"
    r = c.get("/api/v1/projects/p2", headers=alice)
    assert r.status_code == 404 and r.json()["detail"] == "project p2 could not be found"
    me = c.get("/api/v1/auth/me", headers=alice).json()
    assert me["roles"] == ["member"]


def test_department_admin_manages_their_department_only(secure: Any) -> None:
    c, _ = secure
    setup_org(c)
    bob = as_(c, "bob")
    assert [d["name"] for d in c.get("/api/v1/departments", headers=bob).json()["departments"]] == [
        "d1"
    ]
    post(c, "/api/v1/projects", {"name": "p3", "department": "d1"}, bob)
    r = c.post("/api/v1/projects", json={"name": "p4", "department": "d2"}, headers=bob)
    assert r.status_code == 404 and "department d2 could not be found" in r.text
    post(c, "/api/v1/users", {"name": "dave", "password": PASSWORD}, bob)
    r = c.post(
        "/api/v1/users", json={"name": "eve", "password": PASSWORD, "is_admin": True}, headers=bob
    )
    assert r.status_code == 403 and "only the cloud admin may create cloud admins" in r.text
    assert c.put("/api/v1/projects/p3/members/dave", json={}, headers=bob).status_code == 200
    users = [u["name"] for u in c.get("/api/v1/users", headers=bob).json()["users"]]
    assert users == ["alice", "bob", "dave"]  # not carol (d2), not the admin
    assert c.delete("/api/v1/users/carol", headers=bob).status_code == 404
    assert c.get("/api/v1/projects/p2", headers=bob).status_code == 404
    # a department admin has joined every project of their department
    assert {p["name"] for p in c.get("/api/v1/projects", headers=bob).json()["projects"]} == {
        "p1",
        "p3",
    }


def test_bad_input_names_the_field(secure: Any) -> None:
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    r = c.post("/api/v1/users", json={"name": "weak", "password": "password"}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "password"
    assert "three of" in r.json()["detail"]
    r = c.post("/api/v1/departments", json={"name": "d", "quota_hosts": -1}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "quota_hosts"
    r = c.post("/api/v1/departments", json={"name": "d", "colour": "red"}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "colour"
    post(c, "/api/v1/departments", {"name": "d"}, admin)
    r = c.post("/api/v1/departments", json={"name": "d"}, headers=admin)
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    r = c.post("/api/v1/projects", json={"name": "p"}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "department"


def test_guards_on_deleting(secure: Any) -> None:
    c, _ = secure
    setup_org(c)
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    r = c.delete("/api/v1/departments/d1", headers=admin)
    assert r.status_code == 409 and "still has 1 project(s)" in r.json()["detail"]
    r = c.delete("/api/v1/users/admin", headers=admin)
    assert r.status_code == 409 and "cannot delete yourself" in r.json()["detail"]
    assert c.delete("/api/v1/projects/p2", headers=admin).status_code == 204
    assert c.delete("/api/v1/departments/d2", headers=admin).status_code == 204


def test_unlock_and_reset_password(secure: Any) -> None:
    c, _ = secure
    setup_org(c)
    for _ in range(3):
        c.post("/api/v1/auth/tokens", json={"username": "alice", "password": "wrong"})
    r = c.post("/api/v1/auth/tokens", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 429 and "try again in" in r.json()["detail"]  # from this address
    bob = as_(c, "bob")  # alice's department admin
    r = c.patch(
        "/api/v1/users/alice", json={"unlock": True, "password": "N3w-Passw0rd!"}, headers=bob
    )
    assert r.status_code == 200, r.text
    assert r.json()["failed_logins"] == 0 and r.json()["locked_until"] is None
    assert log_in(c, "alice", "N3w-Passw0rd!")


def test_audit_log_lists_filters_and_exports(secure: Any) -> None:
    c, _ = secure
    setup_org(c)
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    events = c.get(
        "/api/v1/audit-events", params={"action": "project:create"}, headers=admin
    ).json()["audit_events"]
    assert [(e["target_id"], e["user_name"], e["outcome"]) for e in events] == [
        (None, "admin", "success"),
        (None, "admin", "success"),
    ]
    page = c.get("/api/v1/audit-events", params={"limit": 2}, headers=admin).json()
    older = c.get(
        "/api/v1/audit-events", params={"limit": 2, "marker": page["next_marker"]}, headers=admin
    ).json()
    assert not {e["uuid"] for e in page["audit_events"]} & {
        e["uuid"] for e in older["audit_events"]
    }
    r = c.get("/api/v1/audit-events", params={"colour": "red"}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "colour"
    r = c.get(
        "/api/v1/audit-events/export",
        params={"format": "xlsx", "outcome": "success"},
        headers=admin,
    )
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("uuid", "created_at", "user_name", "project_name", "action")
    assert len(rows) - 1 == int(r.headers["x-event-count"]) >= 12
    assert all(row[8] == "success" for row in rows[1:])
    csv_text = c.get("/api/v1/audit-events/export", headers=admin).text
    assert csv_text.splitlines()[0].startswith("uuid,created_at,user_name")
    # a member sees the events of their projects only (none carry p1 yet)
    alice = as_(c, "alice")
    assert c.get("/api/v1/audit-events", headers=alice).json()["audit_events"] == []


def test_lists_page_and_sort_the_same_way(secure: Any) -> None:
    c, _ = secure
    setup_org(c)
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    names, marker = [], None
    while True:
        params = {"limit": 2, **({"marker": marker} if marker else {})}
        got = c.get("/api/v1/users", params=params, headers=admin).json()
        names += [u["name"] for u in got["users"]]
        marker = got.get("next_marker")
        if not marker:
            break
    assert names == ["admin", "alice", "bob", "carol"]
    desc = c.get("/api/v1/projects", params={"sort_dir": "desc"}, headers=admin).json()
    assert [p["name"] for p in desc["projects"]] == ["p2", "p1"] and "next_marker" not in desc
    for path, bad in (
        ("/api/v1/users", {"sort_key": "password_hash"}),
        ("/api/v1/flavors", {"limit": 0}),
        ("/api/v1/hosts", {"colour": "red"}),
        ("/api/v1/departments", {"marker": "nope"}),
    ):
        r = c.get(path, params=bad, headers=admin)
        assert r.status_code == 400 and r.json()["field"] == next(iter(bad)), (path, r.text)


# --- #15 item 1: a department admin manages only users wholly inside their departments ---------


def _outsiders(c: Any, admin: dict[str, str]) -> None:
    """erin: member of p1 (d1) and p2 (d2); dan: admin of d2; fay: created by the cloud admin,
    in no project yet."""
    for u in ("erin", "dan", "fay"):
        post(c, "/api/v1/users", {"name": u, "password": PASSWORD}, admin)
    for p in ("p1", "p2"):
        assert (
            c.put(f"/api/v1/projects/{p}/members/erin", json={}, headers=admin).status_code == 200
        )
    assert c.put("/api/v1/departments/d2/admins/dan", headers=admin).status_code == 200


def test_department_admin_cannot_pull_in_a_user_of_another_department(secure: Any) -> None:
    """The live hole: adding carol (d2) to a d1 project made her editable by d1's admin."""
    c, _ = secure
    setup_org(c)
    bob = as_(c, "bob")
    r = c.put("/api/v1/projects/p1/members/carol", json={}, headers=bob)
    assert r.status_code == 404, r.text
    assert r.json()["detail"] == "user carol could not be found"
    # the same sentence as for a user who does not exist: no name oracle
    r = c.put("/api/v1/projects/p1/members/nobody", json={}, headers=bob)
    assert r.status_code == 404 and r.json()["detail"] == "user nobody could not be found"
    admin = {"Authorization": setup_org_admin(c)}
    members = c.get("/api/v1/projects/p1", headers=admin).json()["members"]
    assert [m["user"] for m in members] == ["alice"]  # nothing was written
    # carol's password stays hers
    r = c.patch("/api/v1/users/carol", json={"password": "Tak3n-Over!"}, headers=bob)
    assert r.status_code == 404
    assert log_in(c, "carol", PASSWORD)


def setup_org_admin(c: Any) -> str:
    return bearer(log_in(c, "admin", ADMIN_PASSWORD))["Authorization"]


def test_department_admin_sees_and_edits_only_users_wholly_inside(secure: Any) -> None:
    c, _ = secure
    setup_org(c)
    admin = {"Authorization": setup_org_admin(c)}
    _outsiders(c, admin)
    bob = as_(c, "bob")
    post(c, "/api/v1/users", {"name": "gus", "password": PASSWORD}, bob)  # bob's, nowhere yet
    listed = [u["name"] for u in c.get("/api/v1/users", headers=bob).json()["users"]]
    assert listed == ["alice", "bob", "gus"]
    for outsider in ("erin", "dan", "fay", "carol", "admin"):
        for method, body in (("GET", None), ("PATCH", {"enabled": False}), ("DELETE", None)):
            r = c.request(method, f"/api/v1/users/{outsider}", json=body, headers=bob)
            assert r.status_code == 404, (method, outsider, r.text)
            assert r.json()["detail"] == f"user {outsider} could not be found"
        r = c.put(f"/api/v1/projects/p1/members/{outsider}", json={}, headers=bob)
        assert r.status_code == 404, (outsider, r.text)
    for insider in ("alice", "gus", "bob"):
        r = c.patch(f"/api/v1/users/{insider}", json={"display_name": "x"}, headers=bob)
        assert r.status_code == 200, (insider, r.text)
    assert c.put("/api/v1/projects/p1/members/gus", json={}, headers=bob).status_code == 200
    # a user bob created who now also belongs to d2 is out of his reach
    assert c.put("/api/v1/projects/p2/members/gus", json={}, headers=admin).status_code == 200
    assert c.get("/api/v1/users/gus", headers=bob).status_code == 404
    # fay, created by the cloud admin and nowhere: not bob's until the cloud admin places her
    assert c.put("/api/v1/projects/p1/members/fay", json={}, headers=admin).status_code == 200
    assert c.get("/api/v1/users/fay", headers=bob).status_code == 200
    # every other role: the permission table refuses user management outright
    for user in ("alice", "carol"):  # member of p1, project admin of p2
        assert c.get("/api/v1/users", headers=as_(c, user)).status_code == 403
        r = c.put("/api/v1/projects/p2/members/erin", json={}, headers=as_(c, user))
        assert r.status_code == 403
    # the cloud admin manages everyone
    for u in ("erin", "dan", "fay", "carol", "gus"):
        assert c.get(f"/api/v1/users/{u}", headers=admin).status_code == 200
