"""Host NICs through HTTP, on SQLite and PostgreSQL (issue #11 item 2): a host gets one NIC per
requested network (or its project's default network) bound to its node's ports, with its MAC
and addresses; NICs are attached and detached on an active host; the count is bounded by the
node's ports; a failed create leaves nothing behind (checked in the database); Ironic's VIF API
reads and writes the same records. Addresses are of the lab range 10.99.70.0/24 (no packet is
sent). Every permission cell of the NIC routes is called here (test_nic_permission_cells)."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from ironworks.db.schema import host_nics, hosts, ip_allocations, nodes
from ironworks.domain import policy
from ironworks.domain.policy import Cell, Role
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, add_user, bearer, log_in
from tests.api.test_hosts import X86, add_nodes, cloud, host, wait_status
from tests.conftest import wait_for

__all__ = ["cloud"]

IMAGE = "http://images/os.raw"


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def _networks(c: Any, admin: dict[str, str]) -> None:
    """Fabric `fab` (VLANs 100-199); p1's networks net1 (10.99.70.0/28, pool .2-.3) and net2
    (10.99.70.16/28 and 2001:db8:70::/64); p2's net3."""
    for path, body in (
        ("/api/v1/physical-networks", {"name": "fab", "segmentation_ranges": "100-199"}),
        ("/api/v1/networks", {"name": "net1", "project": "p1"}),
        ("/api/v1/networks", {"name": "net2", "project": "p1"}),
        ("/api/v1/networks", {"name": "net3", "project": "p2"}),
        (
            "/api/v1/subnets",
            {
                "name": "s1",
                "network": "net1",
                "cidr": "10.99.70.0/28",
                "allocation_pools": [{"start": "10.99.70.2", "end": "10.99.70.3"}],
            },
        ),
        ("/api/v1/subnets", {"name": "s2", "network": "net2", "cidr": "10.99.70.16/28"}),
        ("/api/v1/subnets", {"name": "s2v6", "network": "net2", "cidr": "2001:db8:70::/64"}),
        ("/api/v1/subnets", {"name": "s3", "network": "net3", "cidr": "10.99.70.32/28"}),
    ):
        _ok(c.post(path, json=body, headers=admin), 201)


def _ports(c: Any, admin: dict[str, str], node: str, count: int, base: int) -> list[str]:
    """`count` ports on the node, the first PXE-enabled only; their MACs."""
    macs = []
    for i in range(count):
        mac = f"52:54:00:70:{base:02x}:{i:02x}"
        body = {"node_uuid": node, "address": mac, "pxe_enabled": i == 0}
        _ok(c.post("/v1/ports", json=body, headers=admin), 201)
        macs.append(mac)
    return macs


def _counts(svc: Any) -> tuple[int, int, int, int]:
    """Hosts, NICs, allocated addresses, claimed nodes."""
    with svc.db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(q).scalar_one()
            for q in (
                sa.select(sa.func.count()).select_from(hosts),
                sa.select(sa.func.count()).select_from(host_nics),
                sa.select(sa.func.count()).select_from(ip_allocations),
                sa.select(sa.func.count())
                .select_from(nodes)
                .where(nodes.c.instance_uuid.is_not(None)),
            )
        )


def test_nics_at_create_attach_detach_and_everywhere_the_host_shows(cloud: Any) -> None:
    c, svc, who = cloud
    alice, carol, admin = who["alice"], who["carol"], who["admin"]
    _networks(c, admin)
    # without a network named, p1 has two: the host's must be named
    (node,) = add_nodes(c, svc, admin, 1, X86)
    macs = _ports(c, admin, node, 2, 1)
    body = {"name": "web", "flavor": "bm.x86", "image": IMAGE}
    r = c.post("/api/v1/hosts", json=body, headers=alice)
    assert r.status_code == 400 and r.json()["field"] == "networks", r.text
    assert "net1, net2" in r.json()["detail"]
    _ok(
        c.post("/api/v1/hosts", json={**body, "networks": [{"network": "net2"}]}, headers=alice),
        202,
    )
    web = wait_status(c, alice, "web", "active")
    (nic,) = web["nics"]
    # bound to the PXE-enabled port, its MAC, one address per IP version of net2
    assert nic["mac"] == macs[0] and nic["network_name"] == "net2"
    assert [ip["address"] for ip in nic["fixed_ips"]] == ["10.99.70.18", "2001:db8:70::2"]
    assert web["ip_addresses"] == ["10.99.70.18", "2001:db8:70::2"]
    listed = _ok(c.get("/api/v1/hosts", headers=alice))["hosts"]
    assert [h["ip_addresses"] for h in listed] == [["10.99.70.18", "2001:db8:70::2"]]
    # attach a second NIC with a fixed address; the node has no third port
    r = c.post("/api/v1/hosts/web/nics", json={"network": "net1", "fixed_ip": "10.99.70.3"},
               headers=alice)  # fmt: skip
    second = _ok(r, 201)
    assert second["mac"] == macs[1] and [a["address"] for a in second["fixed_ips"]] == [
        "10.99.70.3"
    ]
    r = c.post("/api/v1/hosts/web/nics", json={"network": "net1"}, headers=alice)
    assert r.status_code == 400 and r.json()["field"] == "network", r.text
    assert "no free physical port" in r.json()["detail"]
    nics = _ok(c.get("/api/v1/hosts/web/nics", headers=alice))["nics"]
    assert [n["uuid"] for n in nics] == [nic["uuid"], second["uuid"]]
    assert host(c, alice, "web")["ip_addresses"] == ["10.99.70.18", "2001:db8:70::2", "10.99.70.3"]
    # exports carry the addresses
    text = c.get("/api/v1/hosts/export", headers=alice).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["ip_addresses"] == "10.99.70.18 2001:db8:70::2 10.99.70.3"
    r = c.get("/api/v1/hosts/export", params={"format": "xlsx"}, headers=alice)
    sheet = list(openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    column = sheet[0].index("ip_addresses")
    assert sheet[1][column] == "10.99.70.18 2001:db8:70::2 10.99.70.3"
    # Ironic's VIF API sees the same NICs, the ports show them
    vifs = _ok(c.get(f"/v1/nodes/{node}/vifs", headers=admin))["vifs"]
    assert vifs == [{"id": nic["uuid"]}, {"id": second["uuid"]}]
    port = _ok(c.get(f"/v1/ports/{second['port_uuid']}", headers=admin))
    assert port["internal_info"]["tenant_vif_port_id"] == second["uuid"]
    # another project's user sees none of it; p2's network is not p1's host's
    assert c.get("/api/v1/hosts/web/nics", headers=carol).status_code == 404
    assert c.post("/api/v1/hosts/web/nics", json={"network": "net1"},
                  headers=carol).status_code == 404  # fmt: skip
    # detach: the address is free again, the port too
    assert c.delete(f"/api/v1/hosts/web/nics/{second['uuid']}", headers=alice).status_code == 204
    assert c.delete(f"/api/v1/hosts/web/nics/{second['uuid']}", headers=alice).status_code == 404
    addresses = _ok(c.get("/api/v1/subnets/s1", headers=alice))
    assert addresses["name"] == "s1"
    with svc.db.read() as conn:
        held = conn.execute(sa.select(ip_allocations.c.address)).scalars().all()
    assert sorted(held) == ["10.99.70.18", "2001:db8:70::2"]
    r = c.post("/api/v1/hosts/web/nics", json={"network": "net3"}, headers=alice)
    assert r.status_code == 404 and r.json()["field"] == "network", r.text
    assert _ok(c.get(f"/v1/nodes/{node}/vifs", headers=admin))["vifs"] == [{"id": nic["uuid"]}]
    # deleting the host releases everything once its node is clean again
    assert c.delete("/api/v1/hosts/web", headers=alice).status_code == 202
    wait_for(lambda: c.get("/api/v1/hosts/web", headers=alice).status_code == 404, timeout=20)
    assert _counts(svc) == (0, 0, 0, 0)


def test_the_projects_only_network_is_the_default_and_empty_asks_for_none(cloud: Any) -> None:
    c, svc, who = cloud
    alice, admin = who["alice"], who["admin"]
    for path, body in (
        ("/api/v1/physical-networks", {"name": "fab", "segmentation_ranges": "100-199"}),
        ("/api/v1/networks", {"name": "only", "project": "p1"}),
        ("/api/v1/subnets", {"network": "only", "cidr": "10.99.70.64/28"}),
        ("/api/v1/networks", {"name": "shared", "shared": True}),
    ):
        _ok(c.post(path, json=body, headers=admin), 201)
    for i, node in enumerate(add_nodes(c, svc, admin, 2, X86)):
        _ports(c, admin, node, 1, 10 + i)
    r = c.post("/api/v1/hosts", json={"name": "a", "flavor": "bm.x86", "image": IMAGE},
               headers=alice)  # fmt: skip
    _ok(r, 202)
    nics = _ok(c.get("/api/v1/hosts/a/nics", headers=alice))["nics"]
    assert [(n["network_name"], [a["address"] for a in n["fixed_ips"]]) for n in nics] == [
        ("only", ["10.99.70.66"])
    ]
    body = {"name": "b", "flavor": "bm.x86", "image": IMAGE, "networks": []}
    _ok(c.post("/api/v1/hosts", json=body, headers=alice), 202)
    assert _ok(c.get("/api/v1/hosts/b/nics", headers=alice))["nics"] == []
    assert host(c, alice, "b")["ip_addresses"] == []


def test_nics_beyond_the_nodes_ports_are_refused_before_anything_is_written(cloud: Any) -> None:
    c, svc, who = cloud
    alice, admin = who["alice"], who["admin"]
    _networks(c, admin)
    for i, node in enumerate(add_nodes(c, svc, admin, 2, X86)):
        _ports(c, admin, node, 1, 20 + i)
    body = {
        "name": "wide",
        "flavor": "bm.x86",
        "image": IMAGE,
        "networks": [{"network": "net1"}, {"network": "net2"}],
    }
    r = c.post("/api/v1/hosts", json=body, headers=alice)
    assert r.status_code == 400 and r.json()["field"] == "networks", r.text
    assert "2 NIC(s) were asked for" in r.json()["detail"] and "at most 1" in r.json()["detail"]
    assert _counts(svc) == (0, 0, 0, 0)
    # bad items name their field
    for networks, field, status in (
        ([{"network": "nope"}], "networks.0.network", 404),
        ([{"network": "net3"}], "networks.0.network", 404),  # p2's
        ([{"network": "net1", "fixed_ip": "10.99.70.200"}], "networks.0.fixed_ip", 400),
        ([{"network": "net1", "fixed_ip": "bogus"}], "networks.0.fixed_ip", 400),
        ([{"network": "net1", "colour": "red"}], "networks.0.colour", 400),
    ):
        r = c.post("/api/v1/hosts", json={**body, "networks": networks}, headers=alice)
        assert r.status_code == status and r.json()["field"] == field, (networks, r.text)
    fixed = [{"network": "net1", "fixed_ip": "10.99.70.2"}]
    r = c.post("/api/v1/hosts", json={**body, "count": 2, "networks": fixed}, headers=alice)
    assert r.status_code == 400 and r.json()["field"] == "networks.0.fixed_ip", r.text
    assert _counts(svc) == (0, 0, 0, 0)


def test_a_pool_exhausted_on_the_second_nic_leaves_nothing_behind(cloud: Any) -> None:
    c, svc, who = cloud
    alice, admin = who["alice"], who["admin"]
    _networks(c, admin)
    for i, node in enumerate(add_nodes(c, svc, admin, 3, X86)):
        _ports(c, admin, node, 2, 30 + i)
    one = {"name": "first", "flavor": "bm.x86", "image": IMAGE, "networks": [{"network": "net1"}]}
    _ok(c.post("/api/v1/hosts", json={**one, "count": 2}, headers=alice), 202)  # net1's pool: 2
    before = _counts(svc)
    assert before == (2, 2, 2, 2)
    body = {
        "name": "second",
        "flavor": "bm.x86",
        "image": IMAGE,
        "networks": [{"network": "net2"}, {"network": "net1"}],
    }
    r = c.post("/api/v1/hosts", json=body, headers=alice)
    assert r.status_code == 409 and r.json()["field"] == "networks.1.network", r.text
    assert "no free IPv4 address" in r.json()["detail"] and "s1" in r.json()["detail"]
    assert _counts(svc) == before  # no host, NIC, address of net2 or claimed node left
    # a fixed address already taken: the same
    body["networks"] = [{"network": "net2"}, {"network": "net1", "fixed_ip": "10.99.70.2"}]
    r = c.post("/api/v1/hosts", json=body, headers=alice)
    assert r.status_code == 409 and r.json()["field"] == "networks.1.fixed_ip", r.text
    assert _counts(svc) == before


def test_ironic_vifs_are_host_nics(cloud: Any) -> None:
    """A VIF attached through Ironic's API to a node carrying a host is one of the host's NICs
    (with addresses when it names a network); one on a node without a host has neither."""
    c, svc, who = cloud
    alice, admin = who["alice"], who["admin"]
    _networks(c, admin)
    busy, idle = add_nodes(c, svc, admin, 2, X86)
    _ports(c, admin, busy, 2, 40)
    idle_macs = _ports(c, admin, idle, 1, 41)
    with svc.db.write() as conn:  # the idle node is not schedulable
        conn.execute(sa.update(nodes).where(nodes.c.uuid == idle).values(maintenance=True))
    body = {"name": "h", "flavor": "bm.x86", "image": IMAGE, "networks": [{"network": "net2"}]}
    _ok(c.post("/api/v1/hosts", json=body, headers=alice), 202)
    wait_status(c, alice, "h", "active")
    r = c.post(f"/v1/nodes/{busy}/vifs", json={"id": "vif-x", "network": "net1"}, headers=admin)
    assert r.status_code == 204, r.text
    nics = _ok(c.get("/api/v1/hosts/h/nics", headers=alice))["nics"]
    assert [(n["vif_id"], n["network_name"]) for n in nics][1] == ("vif-x", "net1")
    assert [a["address"] for a in nics[1]["fixed_ips"]] == ["10.99.70.2"]
    r = c.post(f"/v1/nodes/{idle}/vifs", json={"id": "vif-x"}, headers=admin)
    assert r.status_code == 409, r.text  # a VIF id is attached once in the cloud
    assert c.post(f"/v1/nodes/{idle}/vifs", json={"id": "vif-y"}, headers=admin).status_code == 204
    port = _ok(c.get(f"/v1/ports/{idle_macs[0]}", headers=admin))
    assert port["internal_info"]["tenant_vif_port_id"] == "vif-y"
    r = c.delete(f"/v1/ports/{idle_macs[0]}", headers=admin)
    assert r.status_code == 409 and "vif-y" in r.text
    patch = [{"op": "replace", "path": "/node_uuid", "value": busy}]
    r = c.patch(f"/v1/ports/{idle_macs[0]}", json=patch, headers=admin)
    assert r.status_code == 409 and "vif-y" in r.text, r.text
    # detached through Ironic: gone from the host, its address released
    assert c.delete(f"/v1/nodes/{busy}/vifs/vif-x", headers=admin).status_code == 204
    assert len(_ok(c.get("/api/v1/hosts/h/nics", headers=alice))["nics"]) == 1
    with svc.db.read() as conn:
        held = conn.execute(sa.select(ip_allocations.c.address)).scalars().all()
    assert "10.99.70.2" not in held
    assert c.delete(f"/v1/nodes/{idle}/vifs/vif-y", headers=admin).status_code == 204
    assert _ok(c.get(f"/v1/nodes/{idle}/vifs", headers=admin))["vifs"] == []


ROLES = [Role.ADMIN, Role.DEPT_ADMIN, Role.PROJECT_ADMIN, Role.MEMBER]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_nic_permission_cells(secure: Any, role: Role) -> None:
    """`host:vnic` on each NIC route, for each role, on an active host of p1 (the role's user
    is in p1, or admin of its department d1)."""
    c, svc = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    add_user(svc, "p1-user", Role.MEMBER)  # makes d1 and p1
    name = f"u-{role.value}"
    add_user(svc, name, role)
    headers = bearer(log_in(c, name, PASSWORD))
    _ok(c.post("/api/v1/flavors", json={"name": "f", "cpus": 1, "memory_mb": 1, "local_gb": 1},
               headers=admin), 201)  # fmt: skip
    for path, body in (
        ("/api/v1/physical-networks", {"name": "fab", "segmentation_ranges": "100-199"}),
        ("/api/v1/networks", {"name": "n1", "project": "p1"}),
        ("/api/v1/subnets", {"network": "n1", "cidr": "10.99.70.96/28"}),
    ):
        _ok(c.post(path, json=body, headers=admin), 201)
    node = _ok(
        c.post("/v1/nodes", json={"driver": "fake-hardware", "properties": {"cpus": 1,
               "memory_mb": 1, "local_gb": 1}}, headers=admin), 201)["uuid"]  # fmt: skip
    _ports(c, admin, node, 3, 50)
    with svc.db.write() as conn:
        conn.execute(
            sa.update(nodes).where(nodes.c.uuid == node).values(provision_state="available")
        )
    body = {"name": "h1", "flavor": "f", "image": IMAGE, "project": "p1"}
    _ok(c.post("/api/v1/hosts", json=body, headers=admin), 202)
    with svc.db.write() as conn:  # active, as the conductor would leave it
        conn.execute(sa.update(nodes).where(nodes.c.uuid == node).values(provision_state="active"))
    (first,) = _ok(c.get("/api/v1/hosts/h1/nics", headers=admin))["nics"]
    cell = policy.rule("host:vnic").cell(role)
    calls = (
        ("GET", "/api/v1/hosts/h1/nics", None, 200),
        ("POST", "/api/v1/hosts/h1/nics", {"network": "n1"}, 201),
        ("DELETE", f"/api/v1/hosts/h1/nics/{first['uuid']}", None, 204),
    )
    for method, path, json, allowed in calls:
        r = c.request(method, path, json=json, headers=headers)
        if cell is Cell.DENY:
            assert r.status_code == 403 and "operation host:vnic" in r.text, r.text
        else:
            assert r.status_code == allowed, (method, path, r.text)
    # an outsider (a member of another project) finds no such host
    add_user(svc, "outsider", Role.MEMBER, "p9")
    outsider = bearer(log_in(c, "outsider", PASSWORD))
    for method, path, json, _ in calls:
        assert c.request(method, path, json=json, headers=outsider).status_code == 404


def test_the_nic_routes_and_the_create_body_are_typed_in_openapi(secure: Any) -> None:
    c, _ = secure
    doc = c.get("/openapi.json").json()
    ops = {op["operationId"]: op for item in doc["paths"].values() for op in item.values()}
    for name in ("attach_host_nic",):
        schema = ops[name]["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/NicRequest"}, schema
    for name in ("list_host_nics", "attach_host_nic"):
        answer = next(a for s, a in ops[name]["responses"].items() if s.startswith("2"))
        assert "$ref" in answer["content"]["application/json"]["schema"], name
    assert "detach_host_nic" in ops
    create = next(
        op
        for op in doc["paths"]["/api/v1/hosts"].values()
        if op.get("summary", "").startswith("Create")
    )
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    networks = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]["networks"]
    assert {"$ref": "#/components/schemas/NicRequest"} in [
        v.get("items") for v in networks["anyOf"]
    ], networks


def test_parallel_attaches_never_bind_a_port_twice(secure: Any) -> None:
    """12 attaches at once on an active host whose node has 4 free ports: 4 NICs, each on its
    own port with its own address, and 8 clear refusals."""
    import threading

    from ironworks.common.errors import IronworksError
    from ironworks.services import hosts as host_svc
    from ironworks.services.context import Caller

    c, svc = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    add_user(svc, "p1-user", Role.MEMBER)
    _ok(c.post("/api/v1/flavors", json={"name": "f", "cpus": 1, "memory_mb": 1, "local_gb": 1},
               headers=admin), 201)  # fmt: skip
    for path, body in (
        ("/api/v1/physical-networks", {"name": "fab", "segmentation_ranges": "100-199"}),
        ("/api/v1/networks", {"name": "n1", "project": "p1"}),
        ("/api/v1/subnets", {"network": "n1", "cidr": "10.99.70.192/26"}),
    ):
        _ok(c.post(path, json=body, headers=admin), 201)
    props = {"cpus": 1, "memory_mb": 1, "local_gb": 1}
    node = _ok(c.post("/v1/nodes", json={"driver": "fake-hardware", "properties": props},
                      headers=admin), 201)["uuid"]  # fmt: skip
    _ports(c, admin, node, 5, 60)
    with svc.db.write() as conn:
        conn.execute(
            sa.update(nodes).where(nodes.c.uuid == node).values(provision_state="available")
        )
    body = {"name": "h1", "flavor": "f", "image": IMAGE, "project": "p1"}
    _ok(c.post("/api/v1/hosts", json=body, headers=admin), 202)  # one NIC: n1 is p1's only
    with svc.db.write() as conn:
        conn.execute(sa.update(nodes).where(nodes.c.uuid == node).values(provision_state="active"))
    results: list[Any] = []
    start = threading.Barrier(12)

    def one() -> None:
        start.wait()
        try:
            results.append(
                host_svc.attach_nic(svc, Caller(request_id="race"), "h1", {"network": "n1"})
            )
        except IronworksError as e:
            results.append(e)

    threads = [threading.Thread(target=one) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    made = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, IronworksError)]
    assert (len(made), len(refused)) == (4, 8), results
    assert all(e.status in (400, 409) for e in refused), [e.message for e in refused]
    nics = _ok(c.get("/api/v1/hosts/h1/nics", headers=admin))["nics"]
    assert len(nics) == 5
    assert len({n["port_uuid"] for n in nics}) == 5 and len({n["mac"] for n in nics}) == 5
    addresses = [a["address"] for n in nics for a in n["fixed_ips"]]
    assert sorted(addresses) == [f"10.99.70.{i}" for i in range(194, 199)]
