"""Request size limits before parsing and authentication, and strict booleans (#15 items 3, 9)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.api.conftest import ADMIN_PASSWORD, bearer, log_in

MIB = 1024 * 1024


def test_a_body_over_the_limit_is_refused_before_authentication(secure: Any) -> None:
    c, _ = secure
    big = b'{"name": "' + b"x" * (5 * MIB) + b'"}'
    # no token: the size is checked first, so the answer is 413, not 401
    r = c.post("/api/v1/departments", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert "api.max_body_bytes" in r.json()["detail"]
    r = c.patch("/v1/nodes/n1", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "max_body_bytes" in r.json()["error_message"]


def test_a_chunked_body_is_cut_at_the_limit(secure: Any) -> None:
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(5):
            yield b"x" * MIB
        yield b'"}'

    r = c.post(
        "/api/v1/departments",
        content=chunks(),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text
    assert c.get("/api/v1/departments", headers=admin).json()["departments"] == []


def test_a_body_under_the_limit_and_a_config_drive_pass(secure: Any) -> None:
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    body = {"driver": "fake-hardware", "extra": {"blob": "x" * (3 * MIB)}}
    r = c.post("/v1/nodes", json=body, headers=admin)
    assert r.status_code == 201, r.text[:300]
    # the provision route takes a config drive bigger than the general limit: it reaches the
    # route (a 404 for the unknown node), not the 413 of the size check
    body = {"target": "active", "configdrive": "x" * (6 * MIB)}
    r = c.put("/v1/nodes/nope/states/provision", json=body, headers=admin)
    assert r.status_code == 404, r.text[:300]


def test_booleans_are_booleans(secure: Any) -> None:
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    body = {"name": "u1", "password": "Us3r-Passw0rd", "enabled": "false"}
    r = c.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "enabled", r.text
    body["enabled"] = False
    assert c.post("/api/v1/users", json=body, headers=admin).status_code == 201
    for field in ("enabled", "is_admin", "unlock"):
        r = c.patch("/api/v1/users/u1", json={field: "true"}, headers=admin)
        assert r.status_code == 400 and r.json()["field"] == field, r.text
    assert c.get("/api/v1/users/u1", headers=admin).json()["enabled"] is False


# --- #15 item 2: no 5xx from bad input -----------------------------------------------------------


def test_nul_characters_are_refused_everywhere_even_before_log_in(secure: Any) -> None:
    c, _ = secure
    r = c.post("/api/v1/auth/tokens", json={"username": "ad\x00min", "password": "x"})
    assert r.status_code == 400 and r.json()["field"] == "username", r.text
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    r = c.post("/api/v1/departments", json={"name": "d", "description": "a\x00b"}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "description"
    r = c.get("/api/v1/users?sort_key=na%00me", headers=admin)
    assert r.status_code == 400 and "NUL" in r.json()["detail"]
    r = c.get("/v1/nodes?name=x%00", headers=admin)
    assert r.status_code == 400 and "NUL" in r.json()["error_message"]
    r = c.get("/api/v1/users/ab%00c", headers=admin)
    assert r.status_code == 400 and "NUL" in r.json()["detail"]
    r = c.patch(
        "/v1/nodes/x", json=[{"op": "add", "path": "/extra/k\x00", "value": 1}], headers=admin
    )
    assert r.status_code == 400


def test_deep_json_and_huge_integers_are_refused_naming_the_field(secure: Any) -> None:
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    deep = b'{"name": "d", "description": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    r = c.post(
        "/api/v1/departments", content=deep, headers={**admin, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and "nested more than" in r.json()["detail"]
    r = c.post("/api/v1/departments", json={"name": "d", "quota_hosts": 2**70}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "quota_hosts"
    # beyond PostgreSQL's INTEGER but within 64 bits: the quota's own bound
    r = c.post("/api/v1/departments", json={"name": "d", "quota_hosts": 2**40}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "quota_hosts", r.text
    assert c.get("/api/v1/departments", headers=admin).json()["departments"] == []


def test_a_number_the_database_cannot_store_is_a_400_not_a_500(secure: Any, caplog: Any) -> None:
    """2**40 overflows the INTEGER column on PostgreSQL: the flavor body's model bounds its sizes
    to what both databases store, so both refuse it the same way, naming the field. Nothing is
    written, no parameter is logged."""
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    body = {"name": "huge", "cpus": 2**40, "memory_mb": 1024, "local_gb": 10}
    r = c.post("/api/v1/flavors", json=body, headers=admin)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "cpus" and "2147483647" in r.json()["detail"]
    assert c.get("/api/v1/flavors", headers=admin).json()["flavors"] == []
    assert "1099511627776" not in caplog.text


def test_objects_where_text_is_expected_are_a_400_naming_the_field(secure: Any) -> None:
    """#15 item 2: a dict or a list in a text field reached the database (500 on both
    backends); each is refused naming the field, and nothing is written."""
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    assert c.post("/api/v1/departments", json={"name": "d1"}, headers=admin).status_code == 201
    assert c.post("/api/v1/projects", json={"name": "p1", "department": "d1"},
                  headers=admin).status_code == 201  # fmt: skip
    bad: list[Any] = [{"a": 1}, ["x"], 5]
    cases = [
        ("POST", "/api/v1/departments", {"name": "d2"}, "description"),
        ("PATCH", "/api/v1/departments/d1", {}, "description"),
        ("POST", "/api/v1/projects", {"name": "p2", "department": "d1"}, "description"),
        ("PATCH", "/api/v1/projects/p1", {}, "description"),
        ("POST", "/api/v1/users", {"name": "u1", "password": "Us3r-Passw0rd"}, "display_name"),
        ("POST", "/api/v1/users", {"name": "u1", "password": "Us3r-Passw0rd"}, "email"),
        ("PATCH", "/api/v1/users/admin", {}, "email"),
        (
            "POST",
            "/api/v1/flavors",
            {"name": "f", "cpus": 1, "memory_mb": 1, "local_gb": 1},
            "description",
        ),
        ("POST", "/v1/chassis", {}, "description"),
        (
            "POST",
            "/api/v1/hosts",
            {"name": "h", "flavor": "f", "image": "i", "project": "p1"},
            "ssh_key",
        ),
        (
            "POST",
            "/api/v1/hosts",
            {"name": "h", "flavor": "f", "image": "i", "project": "p1"},
            "user_data",
        ),
    ]
    for method, path, body, field in cases:
        for value in bad:
            r = c.request(method, path, json={**body, field: value}, headers=admin)
            assert r.status_code == 400, (method, path, field, value, r.text)
            detail = r.json().get("detail") or r.json().get("error_message")
            assert field in detail, (path, field, detail)
    assert [
        d["name"] for d in c.get("/api/v1/departments", headers=admin).json()["departments"]
    ] == ["d1"]
    assert c.get("/api/v1/users/u1", headers=admin).status_code == 404


def test_the_text_prescreen_never_hides_a_refusal() -> None:
    """Bodies the raw-text check lets through unparsed are exactly those `_walk` would pass."""
    import json

    from ironworks.api import limits

    deep = limits.MAX_DEPTH
    bodies = [
        b"[" * deep + b"]" * deep,  # as deep as allowed
        b"[" * (deep + 1) + b"]" * (deep + 1),  # one level too deep
        b'{"b": ' * deep + b"1" + b"}" * deep,
        b'{"b": ' * (deep + 1) + b"1" + b"}" * (deep + 1),
        b'{"n": 999999999999999999}',  # 18 digits
        b'{"n": 9223372036854775807}',
        b'{"n": 9223372036854775808}',
        b'{"n": -9223372036854775808}',
        b'{"n": -9223372036854775809}',
        b'{"n": 1.5e300, "s": "9223372036854775808"}',
        b'{"k\\u0000": 1}',
        b'{"s": ["a", "b\\u0000"]}',
        b'{"s": "\\\\u0000"}',  # an escaped backslash, then text: no NUL
        b'{"driver": "fake-hardware", "properties": {"cpus": 8}}',
    ]
    for body in bodies:
        expected = limits._walk(json.loads(body), "", 0)
        assert limits.json_problem(body) == expected, body
