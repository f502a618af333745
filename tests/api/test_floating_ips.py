"""Floating IPs through HTTP, on SQLite and PostgreSQL: allocate from the external network
(through IPAM), associate with a host NIC, disassociate, release; quotas; the errors (no
external network, pool exhausted, quota exceeded, another project's NIC) and that nothing is
left half-written; every route for every role (another project's floating IP is a 404); the
audit events; the gateway plan the database gives.

Host NICs are made by `add_nic` here (a host, a NIC, its fixed address from IPAM) until the
host NIC API exists."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ironworks.common.errors import Forbidden
from ironworks.db import ipam as ipam_db
from ironworks.db.engine import utcnow
from ironworks.db.schema import flavors, host_nics, hosts, ip_allocations, projects, subnets
from ironworks.domain.policy import Role
from ironworks.services import floating_ips, gateway
from ironworks.services.context import Caller, Services
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, add_user, bearer, log_in

Client = httpx.Client
EXTERNAL_CIDR = "10.99.72.0/29"  # gateway .1, pool .2-.6: five addresses


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def _admin(c: Client) -> dict[str, str]:
    return bearer(log_in(c, "admin", ADMIN_PASSWORD))


def _as(c: Client, svc: Services, name: str, role: Role, project: str = "p1") -> dict[str, str]:
    add_user(svc, name, role, project)
    return bearer(log_in(c, name, PASSWORD))


def _cloud(c: Client, admin: dict[str, str], *, external: bool = True) -> None:
    """Fabric `fabric` (VLANs 100-199), network n1 of p1 (10.20.0.0/24), n2 of p2
    (10.30.0.0/24) and, unless told not to, the external network `ext` (EXTERNAL_CIDR)."""
    posts: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/physical-networks", {"name": "fabric", "segmentation_ranges": "100-199"}),
        ("/api/v1/networks", {"name": "n1", "project": "p1"}),
        ("/api/v1/subnets", {"name": "s1", "network": "n1", "cidr": "10.20.0.0/24"}),
        ("/api/v1/networks", {"name": "n2", "project": "p2"}),
        ("/api/v1/subnets", {"name": "s2", "network": "n2", "cidr": "10.30.0.0/24"}),
    ]
    if external:
        posts += [
            ("/api/v1/networks", {"name": "ext", "role": "external"}),
            ("/api/v1/subnets", {"name": "ext-sub", "network": "ext", "cidr": EXTERNAL_CIDR}),
        ]
    for path, body in posts:
        _ok(c.post(path, json=body, headers=admin), 201)


def add_nic(svc: Services, project: str, subnet: str, address: str | None = None) -> str:
    """A host of `project` with one NIC on `subnet`'s network holding an address of it (the
    next free one, or `address`); the NIC's uuid."""
    now = utcnow()
    with svc.db.write() as conn:
        flavor = conn.execute(sa.select(flavors.c.id).where(flavors.c.name == "f")).scalar()
        if flavor is None:
            flavor = conn.execute(
                sa.insert(flavors)
                .values(
                    uuid=f"f-{now.timestamp()}",
                    name="f",
                    cpus=1,
                    memory_mb=1,
                    local_gb=1,
                    capabilities={},
                    is_public=True,
                    created_at=now,
                )
                .returning(flavors.c.id)
            ).scalar_one()
        pid = conn.execute(sa.select(projects.c.id).where(projects.c.name == project)).scalar_one()
        sub = dict(
            conn.execute(sa.select(subnets).where(subnets.c.name == subnet)).mappings().one()
        )
        n = conn.execute(sa.select(sa.func.count()).select_from(hosts)).scalar_one()
        host = conn.execute(
            sa.insert(hosts)
            .values(
                uuid=f"00000000-0000-4000-8000-{n + 1:012d}",
                name=f"h{n + 1}",
                project_id=pid,
                flavor_id=flavor,
                image="img",
                availability_zone="default",
                created_at=now,
            )
            .returning(hosts.c.id)
        ).scalar_one()
        nic_uuid = f"00000000-0000-4000-9000-{n + 1:012d}"
        nic = conn.execute(
            sa.insert(host_nics)
            .values(
                uuid=nic_uuid,
                host_id=host,
                network_id=sub["network_id"],
                mac=f"52:54:00:00:00:{n + 1:02x}",
                created_at=now,
            )
            .returning(host_nics.c.id)
        ).scalar_one()
        ipam_db.allocate(conn, sub, host_nic_id=nic, address=address)
    return nic_uuid


def _held(svc: Services, subnet: str) -> list[str]:
    with svc.db.read() as conn:
        q = (
            sa.select(ip_allocations.c.address)
            .join(subnets, subnets.c.id == ip_allocations.c.subnet_id)
            .where(subnets.c.name == subnet)
            .order_by(ip_allocations.c.id)
        )
        return list(conn.execute(q).scalars())


def test_allocate_associate_disassociate_release(secure: Any) -> None:
    c, svc = secure
    admin = _admin(c)
    alice = _as(c, svc, "alice", Role.MEMBER, "p1")
    add_user(svc, "carol", Role.MEMBER, "p2")
    _cloud(c, admin)
    nic = add_nic(svc, "p1", "s1", "10.20.0.5")

    fip = _ok(c.post("/api/v1/floating-ips", json={"description": "web"}, headers=alice), 201)
    # the project's router took the first address, the floating IP the next: both from IPAM
    assert fip["address"] == "10.99.72.3" and fip["project"] == "p1", fip
    assert fip["status"] == "unassociated" and fip["host_nic"] is None and fip["fixed_ip"] is None
    assert fip["created_at"].endswith(("Z", "+00:00"))
    assert _held(svc, "ext-sub") == ["10.99.72.2", "10.99.72.3"]
    assert _ok(c.get("/api/v1/floating-ips/10.99.72.3", headers=alice))["uuid"] == fip["uuid"]
    listed = _ok(c.get("/api/v1/floating-ips", headers=alice))["floating_ips"]
    assert [f["address"] for f in listed] == ["10.99.72.3"]

    done = _ok(
        c.patch(f"/api/v1/floating-ips/{fip['uuid']}", json={"host_nic": nic}, headers=alice)
    )
    assert done["status"] == "associated" and done["fixed_ip"] == "10.20.0.5", done
    assert done["host_nic"] == nic and done["host_name"] == "h1"
    # what the gateway renders: the router with its leg on n1 and the 1:1 mapping
    (router,) = gateway.plan(svc)
    assert router.floating == (("10.99.72.3", "10.20.0.5"),)
    assert router.external.address == "10.99.72.2/29" and router.external_gateway == "10.99.72.1"
    assert [(leg.address, leg.bridge) for leg in router.internal] == [
        ("10.20.0.1/24", "br-vlan100")
    ]

    r = c.delete(f"/api/v1/floating-ips/{fip['uuid']}", headers=alice)
    assert r.status_code == 409 and r.json()["field"] == "host_nic", r.text
    assert "disassociate it first" in r.json()["detail"]
    undone = c.patch("/api/v1/floating-ips/10.99.72.3", json={"host_nic": None}, headers=alice)
    assert _ok(undone)["status"] == "unassociated" and undone.json()["fixed_ip"] is None
    assert gateway.plan(svc)[0].floating == ()

    r = c.delete("/api/v1/projects/p1", headers=admin)  # it holds a floating IP: refused
    assert r.status_code == 409 and "floating IPs" in r.json()["detail"], r.text
    assert c.delete("/api/v1/floating-ips/10.99.72.3", headers=alice).status_code == 204
    assert c.get(f"/api/v1/floating-ips/{fip['uuid']}", headers=alice).status_code == 404
    # the last floating IP took the router with it: the external subnet hands out nothing
    assert _held(svc, "ext-sub") == [] and gateway.plan(svc) == []

    events = _ok(c.get("/api/v1/audit-events?target_type=floating_ip", headers=admin))
    got = [
        (e["action"], e["outcome"], e["target_name"], e["project_name"])
        for e in reversed(events["audit_events"])
    ]
    outcomes = ["success", "success", "failure", "success", "success"]  # the refused release
    assert got == [("host:floating_ip", o, "10.99.72.3", "p1") for o in outcomes], got


def test_errors_name_their_cause_and_leave_nothing_behind(secure: Any) -> None:
    c, svc = secure
    admin = _admin(c)
    _ok(c.post("/api/v1/departments", json={"name": "d1"}, headers=admin), 201)  # a real uuid
    alice = _as(c, svc, "alice", Role.MEMBER, "p1")
    carol = _as(c, svc, "carol", Role.MEMBER, "p2")
    _cloud(c, admin, external=False)

    r = c.post("/api/v1/floating-ips", json={}, headers=alice)
    assert r.status_code == 409 and r.json()["field"] == "network", r.text
    assert "no external network" in r.json()["detail"]
    for path, body in (
        ("/api/v1/networks", {"name": "ext", "role": "external"}),
        ("/api/v1/subnets", {"name": "ext-sub", "network": "ext", "cidr": EXTERNAL_CIDR}),
    ):
        _ok(c.post(path, json=body, headers=admin), 201)

    # quotas: the project's, then the department's
    _ok(c.patch("/api/v1/projects/p1", json={"quota_floating_ips": 1}, headers=admin))
    mine = _ok(c.post("/api/v1/floating-ips", json={}, headers=alice), 201)
    r = c.post("/api/v1/floating-ips", json={}, headers=alice)
    assert r.status_code == 403, r.text
    assert r.json()["detail"].startswith(
        "quota exceeded: project p1 may have 1 floating IPs, has 1, and 1 more was asked for"
    )
    _ok(c.patch("/api/v1/projects/p1", json={"quota_floating_ips": None}, headers=admin))
    shown = _ok(c.patch("/api/v1/departments/d1", json={"quota_floating_ips": 1}, headers=admin))
    assert shown["quota_floating_ips"] == 1
    r = c.post("/api/v1/floating-ips", json={}, headers=carol)
    assert r.status_code == 403 and "department d1 may have 1 floating IPs" in r.text, r.text
    _ok(c.patch("/api/v1/departments/d1", json={"quota_floating_ips": None}, headers=admin))

    # pool exhausted: 5 addresses; p1's router and floating IP hold 2. p2's first floating IP
    # needs two more (its router and itself), so after p1 takes two more, p2's first fails
    # whole: no router row, no address held.
    for _ in range(2):
        _ok(c.post("/api/v1/floating-ips", json={"project": "p1"}, headers=admin), 201)
    before = _held(svc, "ext-sub")
    assert len(before) == 4
    r = c.post("/api/v1/floating-ips", json={}, headers=carol)
    assert r.status_code == 409 and r.json()["field"] == "subnet", r.text
    assert "ext-sub" in r.json()["detail"] and EXTERNAL_CIDR in r.json()["detail"]
    assert _held(svc, "ext-sub") == before and gateway.plan(svc)[0].uuid  # p1's router only
    assert len(gateway.plan(svc)) == 1

    # tenants do not pick addresses; the cloud admin does, inside the external subnets
    r = c.post("/api/v1/floating-ips", json={"address": "10.99.72.6"}, headers=alice)
    assert r.status_code == 403 and r.json()["field"] == "address", r.text
    r = c.post("/api/v1/floating-ips", json={"project": "p1", "address": "10.0.0.9"}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "address", r.text
    r = c.post(
        "/api/v1/floating-ips", json={"project": "p1", "address": "10.99.72.2"}, headers=admin
    )
    assert r.status_code == 409 and r.json()["field"] == "address", r.text

    # NICs: another project's is a 404 to a tenant, a 409 to the cloud admin
    theirs = add_nic(svc, "p2", "s2")
    ours = add_nic(svc, "p1", "s1")
    path = f"/api/v1/floating-ips/{mine['uuid']}"
    r = c.patch(path, json={"host_nic": theirs}, headers=alice)
    assert r.status_code == 404 and r.json()["field"] == "host_nic", r.text
    r = c.patch(path, json={"host_nic": theirs}, headers=admin)
    assert r.status_code == 409 and r.json()["field"] == "host_nic", r.text
    assert "another project" in r.json()["detail"]
    r = c.patch(path, json={"host_nic": ours, "fixed_ip": "10.20.0.99"}, headers=alice)
    assert r.status_code == 400 and r.json()["field"] == "fixed_ip", r.text
    r = c.patch(path, json={"fixed_ip": "10.20.0.2"}, headers=alice)
    assert r.status_code == 400 and r.json()["field"] == "fixed_ip", r.text
    # a fixed address has one floating IP
    _ok(c.patch(path, json={"host_nic": ours}, headers=alice))
    other = _ok(c.get("/api/v1/floating-ips?sort_key=address&limit=2", headers=alice))
    second = other["floating_ips"][1]["uuid"]
    assert second != mine["uuid"]
    r = c.patch(f"/api/v1/floating-ips/{second}", json={"host_nic": ours}, headers=alice)
    assert r.status_code == 409 and r.json()["field"] == "fixed_ip", r.text
    # and carol does not see p1's floating IPs at all
    assert c.get(path, headers=carol).status_code == 404
    assert c.patch(path, json={"host_nic": None}, headers=carol).status_code == 404
    assert c.delete(path, headers=carol).status_code == 404
    assert _ok(c.get("/api/v1/floating-ips", headers=carol))["floating_ips"] == []

    for method, body, field in (
        ("POST", {"colour": "red"}, "colour"),
        ("PATCH", {"router": "x"}, "router"),
        ("PATCH", {"host_nic": ours, "fixed_ip": None}, "fixed_ip"),
    ):
        url = "/api/v1/floating-ips" + ("" if method == "POST" else f"/{mine['uuid']}")
        r = c.request(method, url, json=body, headers=alice)
        assert r.status_code == 400 and r.json()["field"] == field, (body, r.text)
    r = c.get("/api/v1/floating-ips?colour=red", headers=alice)
    assert r.status_code == 400 and r.json()["field"] == "colour"


ROLES = [Role.ADMIN, Role.DEPT_ADMIN, Role.PROJECT_ADMIN, Role.MEMBER]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_every_route_for_every_role(secure: Any, role: Role) -> None:
    """`host:floating_ip` is ALLOW for the cloud admin and JOINED for the others: each route
    works on a joined project's floating IP; another project's is a 404."""
    c, svc = secure
    admin = _admin(c)
    headers = _as(c, svc, f"u-{role.value}", role, "p1")
    add_user(svc, "carol", Role.MEMBER, "p2")
    _cloud(c, admin)
    nic = add_nic(svc, "p1", "s1")
    # px: a project of another department, which no one here but the cloud admin has joined
    _ok(c.post("/api/v1/departments", json={"name": "d2"}, headers=admin), 201)
    _ok(c.post("/api/v1/projects", json={"name": "px", "department": "d2"}, headers=admin), 201)
    theirs = _ok(c.post("/api/v1/floating-ips", json={"project": "px"}, headers=admin), 201)

    made = _ok(c.post("/api/v1/floating-ips", json={"project": "p1"}, headers=headers), 201)
    path = f"/api/v1/floating-ips/{made['uuid']}"
    assert _ok(c.get(path, headers=headers))["project"] == "p1"
    seen = {f["uuid"] for f in _ok(c.get("/api/v1/floating-ips", headers=headers))["floating_ips"]}
    assert made["uuid"] in seen and (theirs["uuid"] in seen) is (role is Role.ADMIN)
    assert _ok(c.patch(path, json={"host_nic": nic}, headers=headers))["status"] == "associated"
    assert _ok(c.patch(path, json={"host_nic": None}, headers=headers))["status"] == "unassociated"
    assert c.delete(path, headers=headers).status_code == 204

    other = f"/api/v1/floating-ips/{theirs['uuid']}"
    calls = [
        c.get(other, headers=headers),
        c.patch(other, json={"description": "x"}, headers=headers),
        c.delete(other, headers=headers),
    ]
    if role is Role.ADMIN:
        assert [r.status_code for r in calls] == [200, 200, 204]
    else:
        assert [r.status_code for r in calls] == [404, 404, 404]
        r = c.post("/api/v1/floating-ips", json={"project": "px"}, headers=headers)
        assert r.status_code == 404 and "project px" in r.json()["detail"], r.text


def test_parallel_allocations_keep_the_quota_and_one_router(secure: Any) -> None:
    """Twelve allocations of one project at once against a quota of four: four addresses, each
    once, one router, eight clear refusals (the project's row lock on PostgreSQL)."""
    c, svc = secure
    admin = _admin(c)
    add_user(svc, "alice", Role.MEMBER, "p1")
    add_user(svc, "carol", Role.MEMBER, "p2")
    _cloud(c, admin)
    _ok(c.patch("/api/v1/projects/p1", json={"quota_floating_ips": 4}, headers=admin))
    got: list[str] = []
    refused: list[str] = []
    start = threading.Barrier(12)

    def one() -> None:
        start.wait()
        try:
            got.append(floating_ips.allocate(svc, Caller(), {"project": "p1"})["address"])
        except Forbidden as e:
            refused.append(e.message)

    threads = [threading.Thread(target=one) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(got) == len(set(got)) == 4 and len(refused) == 8, (got, refused)
    assert all(r.startswith("quota exceeded: project p1 may have 4") for r in refused)
    assert len(gateway.plan(svc)) == 1
    assert sorted(_held(svc, "ext-sub")) == sorted(
        [*got, gateway.plan(svc)[0].external.address.split("/")[0]]
    )
