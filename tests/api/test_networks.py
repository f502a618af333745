"""Tenant networking at the service level, on SQLite and PostgreSQL: physical networks, networks
(scoping by project, VLAN ids from the ranges), subnets, IPAM under concurrency, switches and
their sealed credentials."""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from ironworks.common.errors import Conflict, Forbidden, InvalidInput, IronworksError, NotFound
from ironworks.db import ipam as ipam_db
from ironworks.db.engine import utcnow
from ironworks.db.schema import departments, ip_allocations, projects, switches
from ironworks.services import networks as net_svc
from ironworks.services import switches as switch_svc
from ironworks.services.auth import Principal
from ironworks.services.context import Caller, Services

ADMIN = Caller(principal=Principal(user_id=1, name="admin", is_admin=True))


def _org(svc: Services) -> dict[str, Caller]:
    """Projects p1 and p2 of department d1; alice in p1, carol in p2."""
    now = utcnow()
    with svc.db.write() as conn:
        dept = conn.execute(
            sa.insert(departments)
            .values(uuid="d1", name="d1", created_at=now)
            .returning(departments.c.id)
        ).scalar_one()
        ids = {
            name: conn.execute(
                sa.insert(projects)
                .values(
                    uuid=f"{name}-uuid",
                    name=name,
                    department_id=dept,
                    created_at=now,
                )
                .returning(projects.c.id)
            ).scalar_one()
            for name in ("p1", "p2")
        }
    return {
        "alice": Caller(principal=Principal(2, "alice", False, projects={ids["p1"]: "member"})),
        "carol": Caller(principal=Principal(3, "carol", False, projects={ids["p2"]: "member"})),
    }


def _raises(kind: type[IronworksError], fn: Callable[..., Any], *args: Any, **kw: Any) -> str:
    with pytest.raises(kind) as err:
        fn(*args, **kw)
    return err.value.message


def test_physical_networks_are_the_cloud_admins(services: Services) -> None:
    users = _org(services)
    made = net_svc.create_physical_network(
        services,
        ADMIN,
        {"name": "fabric-a", "scheme": "dynamic", "segmentation_ranges": "300,100-199"},
    )
    assert made["segmentation_ranges"] == "100-199,300"
    assert (
        net_svc.show_physical_network(services, users["alice"], "fabric-a")["scheme"] == "dynamic"
    )
    _raises(Forbidden, net_svc.create_physical_network, services, users["alice"], {"name": "x"})
    _raises(
        Forbidden,
        net_svc.update_physical_network,
        services,
        users["alice"],
        "fabric-a",
        {"scheme": "preconfigured"},
    )
    assert "scheme" in _raises(
        InvalidInput,
        net_svc.create_physical_network,
        services,
        ADMIN,
        {"name": "b", "scheme": "sdn"},
    )
    _raises(
        InvalidInput,
        net_svc.create_physical_network,
        services,
        ADMIN,
        {"name": "b", "segmentation_ranges": "5-1"},
    )
    _raises(Conflict, net_svc.create_physical_network, services, ADMIN, {"name": "fabric-a"})
    assert "cannot change" in _raises(
        InvalidInput,
        net_svc.update_physical_network,
        services,
        ADMIN,
        "fabric-a",
        {"name": "fabric-b"},
    )
    changed = net_svc.update_physical_network(
        services, ADMIN, made["uuid"], {"scheme": "postconfigured", "segmentation_ranges": "7"}
    )
    assert (changed["scheme"], changed["segmentation_ranges"]) == ("postconfigured", "7")
    net_svc.create_network(services, ADMIN, {"name": "n", "physical_network": "fabric-a"})
    assert "1 network(s)" in _raises(
        Conflict, net_svc.delete_physical_network, services, ADMIN, "fabric-a"
    )
    net_svc.delete_network(services, ADMIN, "n")
    net_svc.delete_physical_network(services, ADMIN, "fabric-a")
    assert net_svc.list_physical_networks(services, ADMIN) == []


def test_networks_are_scoped_by_project_and_vlans_come_from_the_range(services: Services) -> None:
    users = _org(services)
    alice, carol = users["alice"], users["carol"]
    net_svc.create_physical_network(
        services, ADMIN, {"name": "fab", "segmentation_ranges": "100-102"}
    )
    a1 = net_svc.create_network(services, alice, {"name": "a1"})  # the only physical network
    assert (a1["segmentation_id"], a1["project"], a1["network_type"]) == (100, "p1", "vlan")
    c1 = net_svc.create_network(services, carol, {"name": "c1", "physical_network": "fab"})
    assert c1["segmentation_id"] == 101
    pub = net_svc.create_network(services, ADMIN, {"name": "pub", "shared": True})
    assert (pub["segmentation_id"], pub["project"]) == (102, None)
    # the range is exhausted: 409 naming the physical network, nothing inserted
    msg = _raises(Conflict, net_svc.create_network, services, alice, {"name": "a2"})
    assert "'fab'" in msg and "100-102" in msg
    # ... the cloud admin may still give an id by hand, outside the range, but not a used one
    hand = net_svc.create_network(
        services, ADMIN, {"name": "h", "segmentation_id": 500, "project": "p1"}
    )
    assert (hand["segmentation_id"], hand["project"]) == (500, "p1")
    assert "500" in _raises(
        Conflict, net_svc.create_network, services, ADMIN, {"name": "h2", "segmentation_id": 500}
    )
    # scoping: own projects' plus shared ones; the cloud admin sees all
    names = lambda who: sorted(n["name"] for n in net_svc.list_networks(services, who))  # noqa: E731
    assert names(alice) == ["a1", "h", "pub"]
    assert names(carol) == ["c1", "pub"]
    assert names(ADMIN) == ["a1", "c1", "h", "pub"]
    assert [n["name"] for n in net_svc.list_networks(services, ADMIN, {"project": "p2"})] == ["c1"]
    _raises(NotFound, net_svc.show_network, services, carol, "a1")
    _raises(NotFound, net_svc.delete_network, services, carol, a1["uuid"])
    assert "cloud admin" in _raises(
        Forbidden, net_svc.update_network, services, carol, "pub", {"name": "mine"}
    )
    _raises(Forbidden, net_svc.delete_network, services, alice, "pub")
    # a project's user may not choose what is the cloud admin's
    for extra in (
        {"segmentation_id": 7},
        {"shared": True},
        {"external": True},
        {"network_type": "flat"},
        {"role": "external"},
    ):
        _raises(Forbidden, net_svc.create_network, services, alice, {"name": "x", **extra})
    _raises(Forbidden, net_svc.update_network, services, alice, "a1", {"shared": True})
    _raises(NotFound, net_svc.create_network, services, alice, {"name": "x", "project": "p2"})
    assert net_svc.update_network(services, alice, "a1", {"name": "a1b"})["name"] == "a1b"
    _raises(InvalidInput, net_svc.update_network, services, alice, "a1b", {"segmentation_id": 9})
    # deleting frees the VLAN id for the next network
    net_svc.delete_network(services, alice, "a1b")
    assert net_svc.create_network(services, carol, {"name": "c2"})["segmentation_id"] == 100


def test_the_clouds_own_networks(services: Services) -> None:
    net_svc.create_physical_network(
        services, ADMIN, {"name": "fab", "segmentation_ranges": "10-20"}
    )
    prov = net_svc.create_network(
        services, ADMIN, {"name": "prov", "network_type": "flat", "role": "provisioning"}
    )
    assert (prov["segmentation_id"], prov["role"]) == (None, "provisioning")
    assert "flat network prov" in _raises(
        Conflict, net_svc.create_network, services, ADMIN, {"name": "f2", "network_type": "flat"}
    )
    assert "already the cloud's provisioning" in _raises(
        Conflict, net_svc.create_network, services, ADMIN, {"name": "p2", "role": "provisioning"}
    )
    _raises(
        InvalidInput,
        net_svc.create_network,
        services,
        ADMIN,
        {"name": "f3", "network_type": "flat", "segmentation_id": 12},
    )
    ext = net_svc.create_network(services, ADMIN, {"name": "ext", "role": "external"})
    assert ext["external"] is True and ext["segmentation_id"] == 10
    clean = net_svc.create_network(services, ADMIN, {"name": "clean"})
    _raises(Conflict, net_svc.update_network, services, ADMIN, "clean", {"role": "external"})
    assert (
        net_svc.update_network(services, ADMIN, "clean", {"role": "cleaning"})["role"] == "cleaning"
    )
    assert [n["name"] for n in net_svc.list_networks(services, ADMIN, {"role": "cleaning"})] == [
        clean["name"]
    ]


def test_subnets_validate_and_do_not_overlap(services: Services) -> None:
    users = _org(services)
    alice, carol = users["alice"], users["carol"]
    net_svc.create_physical_network(
        services, ADMIN, {"name": "fab", "segmentation_ranges": "100-199"}
    )
    net = net_svc.create_network(services, alice, {"name": "a1"})
    sub = net_svc.create_subnet(
        services,
        alice,
        {
            "network": "a1",
            "name": "s4",
            "cidr": "10.1.0.0/24",
            "dns_nameservers": ["10.1.0.53"],
            "allocation_pools": [{"start": "10.1.0.100", "end": "10.1.0.199"}],
        },
    )
    assert sub["gateway_ip"] == "10.1.0.1" and sub["ip_version"] == 4
    assert sub["allocation_pools"] == [{"start": "10.1.0.100", "end": "10.1.0.199"}]
    assert net_svc.show_network(services, alice, "a1")["subnets"] == [sub["uuid"]]
    six = net_svc.create_subnet(
        services, alice, {"network": net["uuid"], "cidr": "2001:db8:1::/64", "gateway_ip": None}
    )
    assert (six["ip_version"], six["gateway_ip"]) == (6, None)
    assert "overlaps 10.1.0.0/24" in _raises(
        Conflict, net_svc.create_subnet, services, alice, {"network": "a1", "cidr": "10.1.0.128/25"}
    )
    for body, field in (
        ({"cidr": "10.2.0.1/24"}, "cidr"),
        ({"cidr": "10.3.0.0/24", "gateway_ip": "10.4.0.1"}, "gateway_ip"),
        (
            {
                "cidr": "10.3.0.0/24",
                "gateway_ip": "10.3.0.9",
                "allocation_pools": [{"start": "10.3.0.2", "end": "10.3.0.20"}],
            },
            "allocation_pools",
        ),
    ):
        with pytest.raises(InvalidInput) as bad:
            net_svc.create_subnet(services, alice, {"network": "a1", **body})
        assert bad.value.field == field
    _raises(
        NotFound, net_svc.create_subnet, services, carol, {"network": "a1", "cidr": "10.9.0.0/24"}
    )
    _raises(NotFound, net_svc.show_subnet, services, carol, sub["uuid"])
    assert [s["uuid"] for s in net_svc.list_subnets(services, carol)] == []
    assert len(net_svc.list_subnets(services, alice, "a1")) == 2
    # an address in use blocks deleting the subnet and the network, and becoming the gateway
    got = net_svc.allocate_address(services, alice, "s4")
    assert got == {"subnet": sub["uuid"], "address": "10.1.0.100"}
    fixed = net_svc.allocate_address(services, alice, "s4", address="10.1.0.50")  # off the pools
    assert "10.1.0.50 is allocated" in _raises(
        Conflict, net_svc.update_subnet, services, alice, "s4", {"gateway_ip": "10.1.0.50"}
    )
    net_svc.release_address(services, alice, "s4", fixed["address"])
    _raises(Conflict, net_svc.delete_subnet, services, alice, "s4")
    _raises(Conflict, net_svc.delete_network, services, alice, "a1")
    changed = net_svc.update_subnet(
        services, alice, "s4", {"gateway_ip": "10.1.0.254", "dns_nameservers": []}
    )
    assert (changed["gateway_ip"], changed["dns_nameservers"]) == ("10.1.0.254", [])
    _raises(InvalidInput, net_svc.update_subnet, services, alice, "s4", {"cidr": "10.7.0.0/24"})
    net_svc.release_address(services, alice, "s4", "10.1.0.100")
    _raises(NotFound, net_svc.release_address, services, alice, "s4", "10.1.0.100")
    net_svc.delete_subnet(services, alice, "s4")
    net_svc.delete_network(services, alice, "a1")  # its IPv6 subnet goes with it
    assert net_svc.list_subnets(services, ADMIN) == []


def _addresses(svc: Services) -> list[str]:
    with svc.db.read() as conn:
        return list(conn.execute(sa.select(ip_allocations.c.address)).scalars())


def _slash26(svc: Services) -> dict[str, Any]:
    net_svc.create_physical_network(svc, ADMIN, {"name": "fab", "segmentation_ranges": "100"})
    net_svc.create_network(svc, ADMIN, {"name": "n"})
    return net_svc.create_subnet(
        svc, ADMIN, {"network": "n", "name": "s26", "cidr": "10.30.0.0/26"}
    )


def _in_parallel(svc: Services, count: int) -> tuple[list[str], list[str]]:
    """`count` threads allocating at once: the addresses they got and the errors they met."""
    got: list[str] = []
    errors: list[str] = []
    start = threading.Barrier(count)

    def one() -> None:
        start.wait()
        try:
            got.append(net_svc.allocate_address(svc, ADMIN, "s26")["address"])
        except Conflict as exc:
            errors.append(exc.message)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return got, errors


def test_parallel_allocations_never_hand_out_an_address_twice(services: Services) -> None:
    _slash26(services)
    # a /26 has 62 usable addresses; the gateway (.1) takes one: 61 to hand out
    got, errors = _in_parallel(services, 50)
    assert errors == [] and len(got) == len(set(got)) == 50
    more, errors = _in_parallel(services, 20)
    assert len(more) == 11 and len(errors) == 9
    assert all("subnet s26" in e and "10.30.0.0/26" in e for e in errors)
    stored = _addresses(services)
    assert sorted(stored) == sorted(got + more) and len(set(stored)) == 61
    hosts = {str(a) for a in ipaddress.ip_network("10.30.0.0/26").hosts()} - {"10.30.0.1"}
    assert set(stored) == hosts


def test_an_allocation_rolls_back_with_its_transaction(services: Services) -> None:
    _slash26(services)
    with pytest.raises(RuntimeError), services.db.write() as conn:
        net_svc.allocate_address_in(conn, ADMIN, "s26")
        net_svc.allocate_address_in(conn, ADMIN, "s26", address="10.30.0.40")
        raise RuntimeError("the NIC could not be bound")
    assert _addresses(services) == []
    # a fixed address: checked, and once only
    assert net_svc.allocate_address(services, ADMIN, "s26", address="10.30.0.40")["address"] == (
        "10.30.0.40"
    )
    assert "already allocated" in _raises(
        Conflict, net_svc.allocate_address, services, ADMIN, "s26", address="10.30.0.40"
    )
    assert "gateway" in _raises(
        Conflict, net_svc.allocate_address, services, ADMIN, "s26", address="10.30.0.1"
    )
    _raises(InvalidInput, net_svc.allocate_address, services, ADMIN, "s26", address="10.31.0.5")
    assert _addresses(services) == ["10.30.0.40"]


def test_a_lost_race_picks_again(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The picked address was taken by a writer that did not wait for the subnet's lock: the
    insert fails, the pick is made again from a fresh used set."""
    _slash26(services)
    net_svc.allocate_address(services, ADMIN, "s26")  # 10.30.0.2
    real = ipam_db.used
    stale = iter([[]])  # the first read misses 10.30.0.2
    monkeypatch.setattr(ipam_db, "used", lambda conn, pk: next(stale, None) or real(conn, pk))
    assert net_svc.allocate_address(services, ADMIN, "s26")["address"] == "10.30.0.3"
    monkeypatch.setattr(ipam_db, "used", lambda conn, pk: [])  # always stale: bounded
    assert "after 5 attempts" in _raises(Conflict, net_svc.allocate_address, services, ADMIN, "s26")
    assert sorted(_addresses(services)) == ["10.30.0.2", "10.30.0.3"]


# --- switches ---------------------------------------------------------------------------------

PASSWORD, ENABLE = "Sw1tch-pa55", "en4ble-s3cret"


def test_switch_credentials_are_sealed_and_never_shown(services: Services) -> None:
    users = _org(services)
    net_svc.create_physical_network(services, ADMIN, {"name": "fab"})
    body = {
        "name": "tor1",
        "vendor": "cisco_ios",
        "address": "192.0.2.10",
        "username": "iw",
        "password": PASSWORD,
        "secret": ENABLE,
        "physical_network": "fab",
    }
    outputs = [switch_svc.create(services, ADMIN, body)]
    assert outputs[0]["password"] == outputs[0]["secret"] == switch_svc.MASK
    assert outputs[0]["port"] == 22 and outputs[0]["physical_network"] == "fab"
    outputs.append(switch_svc.show(services, ADMIN, "tor1"))
    outputs.append(switch_svc.list_switches(services, ADMIN))
    outputs.append(switch_svc.list_switches(services, ADMIN, physical_network="fab"))
    # the masked value sent back keeps the stored one; a new password is sealed anew
    outputs.append(
        switch_svc.update(services, ADMIN, "tor1", {"password": switch_svc.MASK, "port": 2222})
    )
    vendor, access = switch_svc.access(services, "tor1")
    assert (vendor, access.password, access.secret, access.port) == (
        "cisco_ios",
        PASSWORD,
        ENABLE,
        2222,
    )
    assert PASSWORD not in repr(access)
    with services.db.read() as conn:
        row = conn.execute(sa.select(switches)).mappings().one()
    assert row["password"].startswith("enc:v1:") and row["secret"].startswith("enc:v1:")
    assert PASSWORD not in json.dumps(dict(row), default=str)
    # ciphertext of the client's own is refused; the stored one is accepted as it is
    _raises(InvalidInput, switch_svc.update, services, ADMIN, "tor1", {"password": "enc:v1:abc"})
    switch_svc.update(services, ADMIN, "tor1", {"password": row["password"]})
    outputs.append(switch_svc.update(services, ADMIN, "tor1", {"secret": None, "password": "n3w"}))
    assert outputs[-1]["secret"] is None and outputs[-1]["password"] == switch_svc.MASK
    assert switch_svc.access(services, "tor1")[1].password == "n3w"
    text = json.dumps(outputs, default=str)
    assert (
        PASSWORD not in text and ENABLE not in text and "n3w" not in text and "enc:v1" not in text
    )
    # cloud admin only, reads included
    for fn, args in (
        (switch_svc.create, (body,)),
        (switch_svc.list_switches, ()),
        (switch_svc.show, ("tor1",)),
        (switch_svc.update, ("tor1", {"port": 1})),
        (switch_svc.delete, ("tor1",)),
    ):
        _raises(Forbidden, fn, services, users["alice"], *args)
    # validation and uniqueness
    assert "cisco_ios" in _raises(
        InvalidInput, switch_svc.create, services, ADMIN, {**body, "name": "x", "vendor": "nokia"}
    )
    _raises(InvalidInput, switch_svc.create, services, ADMIN, {**body, "name": "x", "port": 0})
    _raises(
        NotFound,
        switch_svc.create,
        services,
        ADMIN,
        {**body, "name": "x", "physical_network": "nope"},
    )
    _raises(Conflict, switch_svc.create, services, ADMIN, body)
    assert "switch(es)" in _raises(
        Conflict, net_svc.delete_physical_network, services, ADMIN, "fab"
    )
    switch_svc.delete(services, ADMIN, "tor1")
    assert switch_svc.list_switches(services, ADMIN) == []


def test_parallel_network_creates_get_distinct_vlan_ids(services: Services) -> None:
    net_svc.create_physical_network(
        services, ADMIN, {"name": "fab", "segmentation_ranges": "10-17"}
    )
    got: list[int] = []
    errors: list[str] = []
    start = threading.Barrier(12)

    def one(i: int) -> None:
        start.wait()
        try:
            got.append(
                net_svc.create_network(services, ADMIN, {"name": f"n{i}"})["segmentation_id"]
            )
        except Conflict as exc:
            errors.append(exc.message)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(got) == list(range(10, 18))
    assert len(errors) == 4 and all("'fab'" in e for e in errors)
    assert len(net_svc.list_networks(services, ADMIN)) == 8


def test_who_allocates_where(services: Services) -> None:
    users = _org(services)
    alice, carol = users["alice"], users["carol"]
    net_svc.create_physical_network(services, ADMIN, {"name": "fab", "segmentation_ranges": "1-9"})
    net_svc.create_network(services, ADMIN, {"name": "pub", "shared": True})
    net_svc.create_subnet(
        services, ADMIN, {"network": "pub", "name": "pub4", "cidr": "10.5.0.0/29"}
    )
    net_svc.create_network(services, ADMIN, {"name": "ext", "role": "external"})
    net_svc.create_subnet(
        services, ADMIN, {"network": "ext", "name": "ext4", "cidr": "10.6.0.0/29"}
    )
    net_svc.create_network(services, alice, {"name": "a1"})
    net_svc.create_subnet(
        services,
        alice,
        {"network": "a1", "name": "a6", "cidr": "2001:db8:a::/64", "gateway_ip": None},
    )
    # a shared network's addresses serve every project; releasing them is the cloud admin's
    assert net_svc.allocate_address(services, carol, "pub4")["address"] == "10.5.0.2"
    _raises(Forbidden, net_svc.release_address, services, carol, "pub4", "10.5.0.2")
    # external addresses are floating IPs: not taken by hand
    _raises(Forbidden, net_svc.allocate_address, services, alice, "ext4")
    # a project's own subnet: its users only; IPv6 from the bottom of the /64
    assert net_svc.allocate_address(services, alice, "a6")["address"] == "2001:db8:a::1"
    _raises(NotFound, net_svc.allocate_address, services, carol, "a6")
    assert [a["address"] for a in net_svc.addresses(services, alice, "a6")] == ["2001:db8:a::1"]
    net_svc.release_address(services, alice, "a6", "2001:DB8:A:0::1")  # any spelling
    assert net_svc.addresses(services, alice, "a6") == []
