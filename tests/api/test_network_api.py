"""Tenant networking through HTTP, on SQLite and PostgreSQL: physical networks, networks, subnets
and switches created, listed (paged), shown, edited and deleted; typed bodies (a 400 naming the
field); switch credentials never in an answer; who sees whose networks. Every permission cell of
the network rows is called in tests/api/test_access.py (CALLS)."""

from __future__ import annotations

from typing import Any

import httpx

from ironworks.domain.policy import Role
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, add_user, bearer, log_in

Client = httpx.Client
SWITCH_PASSWORD = "Sw1tch-Passw0rd-never-shown"
ENABLE_SECRET = "En4ble-Secret-never-shown"


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def _admin(c: Client) -> dict[str, str]:
    return bearer(log_in(c, "admin", ADMIN_PASSWORD))


def _fabric(c: Client, admin: dict[str, str]) -> dict[str, Any]:
    body = {"name": "fabric-a", "scheme": "dynamic", "segmentation_ranges": "100-199"}
    return _ok(c.post("/api/v1/physical-networks", json=body, headers=admin), 201)


def test_physical_networks_networks_and_subnets_crud(secure: Any) -> None:
    c, svc = secure
    admin = _admin(c)
    add_user(svc, "alice", Role.MEMBER, "p1")
    fabric = _fabric(c, admin)
    assert fabric["segmentation_ranges"] == "100-199" and fabric["scheme"] == "dynamic"
    changed = c.patch(
        "/api/v1/physical-networks/fabric-a", json={"scheme": "postconfigured"}, headers=admin
    )
    assert _ok(changed)["scheme"] == "postconfigured"
    listed = _ok(c.get("/api/v1/physical-networks", headers=admin))
    assert [p["name"] for p in listed["physical_networks"]] == ["fabric-a"]

    net = _ok(c.post("/api/v1/networks", json={"name": "n1", "project": "p1"}, headers=admin), 201)
    assert net["segmentation_id"] == 100 and net["project"] == "p1" and net["subnets"] == []
    second = {"name": "n2", "project": "p1", "segmentation_id": 150}
    assert (
        _ok(c.post("/api/v1/networks", json=second, headers=admin), 201)["segmentation_id"] == 150
    )
    page = _ok(c.get("/api/v1/networks?limit=1&sort_key=name", headers=admin))
    assert [n["name"] for n in page["networks"]] == ["n1"] and page["next_marker"] == net["uuid"]
    rest = _ok(c.get(f"/api/v1/networks?sort_key=name&marker={net['uuid']}", headers=admin))
    assert [n["name"] for n in rest["networks"]] == ["n2"] and rest["next_marker"] is None
    assert _ok(c.get("/api/v1/networks?shared=true", headers=admin))["networks"] == []

    body = {"network": "n1", "name": "s1", "cidr": "10.20.0.0/24", "dns_nameservers": ["10.0.0.2"]}
    sub = _ok(c.post("/api/v1/subnets", json=body, headers=admin), 201)
    assert sub["gateway_ip"] == "10.20.0.1" and sub["network"] == net["uuid"]
    assert sub["allocation_pools"] == [{"start": "10.20.0.2", "end": "10.20.0.254"}]
    pools = {"allocation_pools": [{"start": "10.20.0.10", "end": "10.20.0.20"}]}
    assert _ok(c.patch("/api/v1/subnets/s1", json=pools, headers=admin))["allocation_pools"] == [
        {"start": "10.20.0.10", "end": "10.20.0.20"}
    ]
    assert (
        _ok(c.patch("/api/v1/subnets/s1", json={"gateway_ip": None}, headers=admin))["gateway_ip"]
        is None
    )
    assert _ok(c.get("/api/v1/networks/n1", headers=admin))["subnets"] == [sub["uuid"]]
    assert [
        s["name"] for s in _ok(c.get("/api/v1/subnets?network=n1", headers=admin))["subnets"]
    ] == ["s1"]
    assert _ok(c.get("/api/v1/subnets?network=n2", headers=admin))["subnets"] == []

    # a member of p1 sees p1's networks and manages them, but not the fabric's scheme
    alice = bearer(log_in(c, "alice", PASSWORD))
    assert _ok(c.get(f"/api/v1/subnets/{sub['uuid']}", headers=alice))["name"] == "s1"
    renamed = c.patch("/api/v1/networks/n2", json={"name": "n2b"}, headers=alice)
    assert _ok(renamed)["name"] == "n2b"
    r = c.patch("/api/v1/networks/n2b", json={"shared": True}, headers=alice)
    assert r.status_code == 403 and "cloud admin" in r.json()["detail"]
    r = c.patch("/api/v1/physical-networks/fabric-a", json={"scheme": "dynamic"}, headers=alice)
    assert r.status_code == 403 and "network_scheme:update" in r.json()["detail"]
    mine = _ok(c.post("/api/v1/networks", json={"name": "mine"}, headers=alice), 201)
    assert mine["project"] == "p1" and mine["segmentation_id"] == 101

    # a member of p2 does not see p1's networks
    add_user(svc, "carol", Role.MEMBER, "p2")
    carol = bearer(log_in(c, "carol", PASSWORD))
    assert _ok(c.get("/api/v1/networks", headers=carol))["networks"] == []
    assert c.get("/api/v1/networks/n1", headers=carol).status_code == 404
    assert c.get("/api/v1/subnets/s1", headers=carol).status_code == 404

    # deleting: the physical network is in use until its networks go
    r = c.delete("/api/v1/physical-networks/fabric-a", headers=admin)
    assert r.status_code == 409 and "network(s)" in r.json()["detail"]
    assert c.delete("/api/v1/subnets/s1", headers=alice).status_code == 204
    for name in ("n1", "n2b", "mine"):
        assert c.delete(f"/api/v1/networks/{name}", headers=admin).status_code == 204
    assert _ok(c.get("/api/v1/networks", headers=admin))["networks"] == []
    assert c.delete("/api/v1/physical-networks/fabric-a", headers=admin).status_code == 204
    assert c.get("/api/v1/physical-networks/fabric-a", headers=admin).status_code == 404


def test_bad_input_is_a_400_naming_the_field(secure: Any) -> None:
    c, _ = secure
    admin = _admin(c)
    _fabric(c, admin)
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/api/v1/networks", {"name": "n", "colour": "red"}, "colour"),
        ("POST", "/api/v1/networks", {"name": "n", "segmentation_id": 5000}, "segmentation_id"),
        ("POST", "/api/v1/networks", {"name": ""}, "name"),
        ("POST", "/api/v1/networks", {"name": "n", "role": "boss"}, "role"),
        ("POST", "/api/v1/physical-networks", {"name": "f", "scheme": "manual"}, "scheme"),
        ("POST", "/api/v1/physical-networks", {"name": "x" * 65}, "name"),
        ("PATCH", "/api/v1/physical-networks/fabric-a", {"name": "g"}, "name"),
        ("POST", "/api/v1/subnets", {"network": "n", "cidr": "10.0.0.0/24", "vlan": 3}, "vlan"),
        (
            "POST",
            "/api/v1/subnets",
            {"network": "n", "cidr": "10.0.0.0/24", "allocation_pools": [{"start": "10.0.0.2"}]},
            "allocation_pools.0.end",
        ),
        ("POST", "/api/v1/switches", {"name": "sw", "vendor": "cisco_ios"}, "address"),
        ("PATCH", "/api/v1/switches/sw", {"port": 70000}, "port"),
        ("PATCH", "/api/v1/switches/sw", {"enable": "x"}, "enable"),
    ]
    for method, path, body, field in cases:
        r = c.request(method, path, json=body, headers=admin)
        assert r.status_code == 400, (path, body, r.text)
        assert r.json()["field"] == field, (path, body, r.text)
        assert field.split(".")[0] in r.json()["detail"]
    # what the types cannot say, the services do, naming the field as well
    c.post("/api/v1/networks", json={"name": "n"}, headers=admin)
    r = c.post("/api/v1/subnets", json={"network": "n", "cidr": "10.0.0.0/33"}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "cidr", r.text
    r = c.get("/api/v1/networks?colour=red", headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "colour", r.text
    r = c.get("/api/v1/networks?sort_key=colour", headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "sort_key", r.text


def test_switch_credentials_are_never_answered(secure: Any) -> None:
    c, _ = secure
    admin = _admin(c)
    _fabric(c, admin)
    body = {
        "name": "tor-1",
        "vendor": "cisco_ios",
        "address": "10.99.0.2",
        "username": "netops",
        "password": SWITCH_PASSWORD,
        "secret": ENABLE_SECRET,
        "physical_network": "fabric-a",
    }
    answers = [c.post("/api/v1/switches", json=body, headers=admin)]
    made = _ok(answers[0], 201)
    assert made["password"] == "******" and made["secret"] == "******" and made["port"] == 22
    assert made["created_at"].endswith(("Z", "+00:00")), made  # RFC 3339: with its zone
    answers += [
        c.get("/api/v1/switches", headers=admin),
        c.get("/api/v1/switches?physical_network=fabric-a", headers=admin),
        c.get("/api/v1/switches/tor-1", headers=admin),
        c.patch("/api/v1/switches/tor-1", json={"password": "******", "port": 2222}, headers=admin),
        c.patch("/api/v1/switches/tor-1", json={"secret": None}, headers=admin),
        c.get("/api/v1/audit-events", headers=admin),
    ]
    for r in answers:
        assert r.status_code in (200, 201), r.text
        assert SWITCH_PASSWORD not in r.text and ENABLE_SECRET not in r.text
    shown = _ok(c.get(f"/api/v1/switches/{made['uuid']}", headers=admin))
    assert shown["password"] == "******" and shown["secret"] is None and shown["port"] == 2222
    assert [s["name"] for s in _ok(answers[1])["switches"]] == ["tor-1"]
    r = c.post("/api/v1/switches", json={**body, "vendor": "acme"}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "vendor", r.text
    assert c.delete("/api/v1/switches/tor-1", headers=admin).status_code == 204
    assert c.get("/api/v1/switches/tor-1", headers=admin).status_code == 404


def test_the_routes_are_typed_in_the_openapi_document(secure: Any) -> None:
    c, _ = secure
    doc = c.get("/openapi.json").json()
    ops = {
        op["operationId"]: op
        for path, item in doc["paths"].items()
        if path.startswith(
            ("/api/v1/networks", "/api/v1/subnets", "/api/v1/switches", "/api/v1/physical-networks")
        )
        for op in item.values()
    }
    for kind in ("physical_network", "network", "subnet", "switch"):
        plural = "switches" if kind == "switch" else f"{kind}s"
        for name in (
            f"list_{plural}",
            f"create_{kind}",
            f"show_{kind}",
            f"update_{kind}",
            f"delete_{kind}",
        ):
            assert name in ops, sorted(ops)
        for name in (f"create_{kind}", f"update_{kind}"):
            schema = ops[name]["requestBody"]["content"]["application/json"]["schema"]
            assert "$ref" in schema, name
        for name in (f"list_{plural}", f"show_{kind}", f"create_{kind}"):
            answer = next(a for s, a in ops[name]["responses"].items() if s.startswith("2"))
            assert "$ref" in answer["content"]["application/json"]["schema"], name
    schemas = doc["components"]["schemas"]
    assert schemas["SwitchCreate"]["additionalProperties"] is False
    assert schemas["NetworkCreate"]["properties"]["segmentation_id"]["anyOf"][0]["maximum"] == 4094
