"""The switch step of the provision state machine, per network scheme (conductor/switching.py).

A real conductor runs nodes (fake-hardware) through inspect, provide, deploy and undeploy on
SQLite and PostgreSQL. Switches are reached through the real drivers (`drivers/switches`) over
a fake netmiko connection that answers like a switch (tests/unit/test_switches.FakeSwitch): what
the test checks is what the switch saw, session by session. One test uses no fake at all: a
switch at a closed port of 127.0.0.1 that netmiko really fails to reach.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from netmiko.exceptions import NetmikoAuthenticationException

from ironworks.common.ids import new_uuid
from ironworks.common.settings import Settings
from ironworks.conductor import periodic
from ironworks.conductor.conductor import Conductor
from ironworks.conductor.switching import host_network_data
from ironworks.db import schema
from ironworks.db.engine import Database, utcnow
from ironworks.drivers.switches import DRIVERS, SwitchAccess, SwitchDriver
from tests.conftest import free_port, make_settings, wait_for
from tests.unit.test_switches import FakeSwitch


class Fabric:
    """The switches' side: one FakeSwitch per switch name, and every session opened on it."""

    def __init__(self) -> None:
        self.switches: dict[str, FakeSwitch] = defaultdict(FakeSwitch)
        self.sessions: dict[str, list[list[str]]] = defaultdict(list)
        self.passwords: dict[str, str] = {}  # a switch that checks its login's password

    def driver(self, vendor: str, access: SwitchAccess) -> SwitchDriver:
        def connect(**params: Any) -> FakeSwitch:
            wanted = self.passwords.get(access.name)
            if wanted is not None and params["password"] != wanted:
                raise NetmikoAuthenticationException("Authentication to device failed.")
            fake = self.switches[access.name]
            fake.running = []  # what this session sent
            fake.events = []
            self.sessions[access.name].append(fake.running)
            return fake

        return DRIVERS[vendor](access, connect=connect)

    def commands(self, switch: str) -> list[str]:
        return [c for session in self.sessions[switch] for c in session]


@pytest.fixture
def fabric() -> Fabric:
    return Fabric()


@pytest.fixture
def run(db: Database, settings: Settings, fabric: Fabric) -> Iterator[Conductor]:
    c = Conductor(db, settings, switch_driver=fabric.driver)
    c.start()
    yield c
    c.stop(wait=True)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def provision(client: httpx.Client, u: str, verb: str, want: str, **body: Any) -> dict[str, Any]:
    r = client.put(f"/v1/nodes/{u}/states/provision", json={"target": verb, **body})
    assert r.status_code == 202, r.text
    return wait_for(
        lambda: (n := client.get(f"/v1/nodes/{u}").json())["provision_state"] == want and n
    )


def settle(client: httpx.Client, u: str, state: str) -> dict[str, Any]:
    return wait_for(
        lambda: (
            (n := client.get(f"/v1/nodes/{u}").json())["provision_state"] == state
            and n["reservation"] is None
            and n
        )
    )


def network_lines(client: httpx.Client, u: str) -> list[str]:
    hist = client.get(f"/v1/nodes/{u}/history?detail=True").json()["history"]
    return [h["event"] for h in hist if h["event_type"] == "network"]


def setup_fabric(
    client: httpx.Client,
    scheme: str,
    *,
    vendor: str = "cisco_ios",
    address: str = "10.99.74.2",
    port: int = 22,
) -> None:
    body = {"name": "fabric-a", "scheme": scheme, "segmentation_ranges": "100-199"}
    ok(client.post("/api/v1/physical-networks", json=body), 201)
    for name, role, vlan in (("prov", "provisioning", 10), ("clean", "cleaning", 20)):
        net = {"name": name, "role": role, "segmentation_id": vlan, "physical_network": "fabric-a"}
        ok(client.post("/api/v1/networks", json=net), 201)
    switch = {
        "name": "tor-1",
        "vendor": vendor,
        "address": address,
        "port": port,
        "username": "ironworks",
        "password": "s3cret",
        "physical_network": "fabric-a",
    }
    ok(client.post("/api/v1/switches", json=switch), 201)


def make_node(client: httpx.Client, ports: dict[str, str], **kw: Any) -> str:
    """A fake-hardware node whose ports (MAC -> switch port) are cabled to fabric-a."""
    node = ok(client.post("/v1/nodes", json={"driver": "fake-hardware", **kw}), 201)
    for mac, switch_port in ports.items():
        body = {
            "node_uuid": node["uuid"],
            "address": mac,
            "physical_network": "fabric-a",
            "local_link_connection": {"switch_info": "tor-1", "port_id": switch_port},
        }
        ok(client.post("/v1/ports", json=body), 201)
    return str(node["uuid"])


def add_host(db: Database, node_uuid: str, nics: list[dict[str, Any]]) -> None:
    """The host on the node and its NICs (the rows the `nics` work writes), straight in the
    tables: each NIC {"network": name, "port": MAC | "portgroup": name, "ips": [(subnet, ip)]}."""
    t = schema
    now = utcnow()
    with db.write() as conn:
        node_id = conn.execute(sa.select(t.nodes.c.id).where(t.nodes.c.uuid == node_uuid)).scalar()
        dept = conn.execute(
            sa.insert(t.departments).values(
                uuid=new_uuid(), name=f"d-{node_uuid[:8]}", created_at=now
            )
        ).inserted_primary_key[0]
        project = conn.execute(
            sa.insert(t.projects).values(
                uuid=new_uuid(), name=f"p-{node_uuid[:8]}", department_id=dept, created_at=now
            )
        ).inserted_primary_key[0]
        flavor = conn.execute(
            sa.insert(t.flavors).values(
                uuid=new_uuid(),
                name=f"f-{node_uuid[:8]}",
                cpus=1,
                memory_mb=1,
                local_gb=1,
                capabilities={},
                is_public=True,
                created_at=now,
            )
        ).inserted_primary_key[0]
        host = conn.execute(
            sa.insert(t.hosts).values(
                uuid=new_uuid(),
                name="h1",
                project_id=project,
                flavor_id=flavor,
                node_id=node_id,
                image="img",
                availability_zone="nova",
                created_at=now,
            )
        ).inserted_primary_key[0]
        for nic in nics:
            network = conn.execute(
                sa.select(t.networks.c.id).where(t.networks.c.name == nic["network"])
            ).scalar()
            values: dict[str, Any] = {}
            if "port" in nic:
                values["port_id"] = conn.execute(
                    sa.select(t.ports.c.id).where(t.ports.c.address == nic["port"])
                ).scalar()
                values["mac"] = nic["port"]
            else:
                row = conn.execute(
                    sa.select(t.portgroups.c.id, t.portgroups.c.address).where(
                        t.portgroups.c.name == nic["portgroup"]
                    )
                ).first()
                values.update(portgroup_id=row[0], mac=row[1])
            nic_id = conn.execute(
                sa.insert(t.host_nics).values(
                    uuid=new_uuid(),
                    host_id=host,
                    node_id=node_id,
                    network_id=network,
                    created_at=now,
                    **values,
                )
            ).inserted_primary_key[0]
            for subnet, ip in nic.get("ips", []):
                subnet_id = conn.execute(
                    sa.select(t.subnets.c.id).where(t.subnets.c.name == subnet)
                ).scalar()
                conn.execute(
                    sa.insert(t.ip_allocations).values(
                        subnet_id=subnet_id, address=ip, host_nic_id=nic_id, created_at=now
                    )
                )


def tenant_network(client: httpx.Client, name: str = "blue", vlan: int = 150) -> None:
    body = {"name": name, "segmentation_id": vlan, "physical_network": "fabric-a"}
    ok(client.post("/api/v1/networks", json=body), 201)


# --- dynamic ---------------------------------------------------------------------------------


def test_dynamic_ports_follow_the_node_through_its_life(client, db, run, fabric):
    setup_fabric(client, "dynamic")
    tenant_network(client)
    u = make_node(client, {"52:54:00:74:00:01": "Gi1/0/1", "52:54:00:74:00:02": "Gi1/0/2"})
    provision(client, u, "manage", "manageable")
    settle(client, u, "manageable")
    provision(client, u, "inspect", "manageable")
    settle(client, u, "manageable")
    # inspection: both ports on the provisioning VLAN, in one session with one save
    assert fabric.sessions["tor-1"] == [
        [
            "interface Gi1/0/1",
            "switchport mode access",
            "switchport access vlan 10",
            "exit",
            "interface Gi1/0/2",
            "switchport mode access",
            "switchport access vlan 10",
            "exit",
        ]
    ]
    assert fabric.switches["tor-1"].events.count("save:write memory") == 1
    provision(client, u, "provide", "available")
    settle(client, u, "available")
    after_clean = [s for s in fabric.sessions["tor-1"][1:]]
    assert len(after_clean) == 2  # to the cleaning VLAN, then parked on provisioning
    assert "switchport access vlan 20" in after_clean[0]
    assert "switchport access vlan 10" in after_clean[1]

    add_host(db, u, [{"network": "blue", "port": "52:54:00:74:00:01"}])
    provision(client, u, "active", "active")
    n = settle(client, u, "active")
    deployed = fabric.sessions["tor-1"][3:]
    # deploy: already on provisioning, nothing sent; active: the tenant VLAN (created first)
    # for the NIC's port, the unused port isolated on the switch's default VLAN
    assert len(deployed) == 1, deployed
    active = deployed[0]
    assert active[:3] == ["vlan 150", "name ironworks-150", "exit"]
    assert "switchport access vlan 150" in active
    assert "no switchport access vlan" in active  # Gi1/0/2: no NIC on it
    shown = ok(client.get(f"/api/v1/nodes/{u}/network"))
    where = {p["address"]: (p["switch"], p["switch_port"], p["vlan"]) for p in shown["ports"]}
    assert where == {
        "52:54:00:74:00:01": ("tor-1", "Gi1/0/1", 150),
        "52:54:00:74:00:02": ("tor-1", "Gi1/0/2", None),
    }
    assert shown["pending"] is None and not shown["waiting"]
    assert n["last_error"] is None

    provision(client, u, "undeploy", "available")
    settle(client, u, "available")
    undeployed = fabric.sessions["tor-1"][4:]
    assert "switchport access vlan 20" in undeployed[0]  # off the tenant VLAN after power-off
    assert "switchport access vlan 10" in undeployed[-1]  # parked
    assert not any("150" in c for s in undeployed for c in s)
    lines = network_lines(client, u)
    assert any(
        "switch tor-1 (cisco_ios) moved port 52:54:00:74:00:01 (Gi1/0/1) to VLAN 150 (blue)" in line
        for line in lines
    ), lines


def test_the_switch_follows_nics_attached_to_and_detached_from_a_running_host(
    client, db, run, fabric
):
    setup_fabric(client, "dynamic")
    tenant_network(client)
    body = {"name": "green", "segmentation_id": 160, "physical_network": "fabric-a"}
    ok(client.post("/api/v1/networks", json={**body, "shared": True}), 201)
    u = make_node(client, {"52:54:00:74:0c:01": "Gi1/0/21", "52:54:00:74:0c:02": "Gi1/0/22"})
    provision(client, u, "manage", "manageable")
    provision(client, u, "provide", "available")
    settle(client, u, "available")
    add_host(db, u, [{"network": "blue", "port": "52:54:00:74:0c:01"}])
    provision(client, u, "active", "active")
    settle(client, u, "active")
    before = len(fabric.sessions["tor-1"])

    nic = ok(client.post("/api/v1/hosts/h1/nics", json={"network": "green"}), 201)
    assert nic["port_uuid"] is not None
    wait_for(lambda: len(fabric.sessions["tor-1"]) > before)  # the conductor's network job
    n = settle(client, u, "active")
    moved = fabric.sessions["tor-1"][before:]
    assert len(moved) == 1, moved  # one session: the new NIC's port joins VLAN 160
    assert moved[0][:3] == ["vlan 160", "name ironworks-160", "exit"]
    assert "interface Gi1/0/22" in moved[0] and "switchport access vlan 160" in moved[0]
    assert not any("Gi1/0/21" in c for c in moved[0])  # the other port stays where it is
    shown = ok(client.get(f"/api/v1/nodes/{u}/network"))
    vlans = {p["switch_port"]: p["vlan"] for p in shown["ports"]}
    assert vlans == {"Gi1/0/21": 150, "Gi1/0/22": 160}
    assert n["last_error"] is None
    assert any("NIC " + nic["uuid"] + " attached" in line for line in network_lines(client, u))

    # detached: its port leaves the tenant VLAN, isolated on the switch's default one
    before = len(fabric.sessions["tor-1"])
    assert client.delete(f"/api/v1/hosts/h1/nics/{nic['uuid']}").status_code == 204
    wait_for(lambda: len(fabric.sessions["tor-1"]) > before)
    settle(client, u, "active")
    (back,) = fabric.sessions["tor-1"][before:]
    assert "interface Gi1/0/22" in back and "no switchport access vlan" in back
    shown = ok(client.get(f"/api/v1/nodes/{u}/network"))
    assert {p["switch_port"]: p["vlan"] for p in shown["ports"]} == {
        "Gi1/0/21": 150,
        "Gi1/0/22": None,
    }

    # a switch that rejects the command: the host stays active, the node says what failed
    fabric.switches["tor-1"].reject = {"switchport access vlan 160": "% Invalid input"}
    ok(client.post("/api/v1/hosts/h1/nics", json={"network": "green"}), 201)
    n = wait_for(lambda: (m := client.get(f"/v1/nodes/{u}").json())["last_error"] and m)
    assert n["provision_state"] == "active"
    assert "tor-1" in n["last_error"] and "Gi1/0/22" in n["last_error"], n["last_error"]


def test_nodes_without_switches_are_left_alone(client, run, fabric):
    # a physical network without a switch, and a port with no physical network: no-ops
    ok(
        client.post("/api/v1/physical-networks", json={"name": "fabric-a", "scheme": "dynamic"}),
        201,
    )
    u = make_node(client, {"52:54:00:74:01:01": "Gi1/0/1"})
    plain = ok(client.post("/v1/nodes", json={"driver": "fake-hardware"}), 201)["uuid"]
    ok(client.post("/v1/ports", json={"node_uuid": plain, "address": "52:54:00:74:01:02"}), 201)
    for node in (u, plain):
        provision(client, node, "manage", "manageable")
        provision(client, node, "provide", "available")
        provision(client, node, "active", "active")
        provision(client, node, "undeploy", "available")
        assert network_lines(client, node) == []
    assert fabric.sessions == {}


def test_lacp_bond_gets_its_link_aggregation_only_while_active(client, db, run, fabric):
    setup_fabric(client, "dynamic")
    tenant_network(client)
    u = make_node(client, {})
    group = {"node_uuid": u, "name": "bond0", "address": "52:54:00:74:02:01", "mode": "802.3ad"}
    pg = ok(client.post("/v1/portgroups", json=group), 201)
    for mac, port in (("52:54:00:74:02:01", "Gi1/0/5"), ("52:54:00:74:02:02", "Gi1/0/6")):
        body = {
            "node_uuid": u,
            "address": mac,
            "portgroup_uuid": pg["uuid"],
            "physical_network": "fabric-a",
            "local_link_connection": {"switch_info": "tor-1", "port_id": port},
        }
        ok(client.post("/v1/ports", json=body), 201)
    provision(client, u, "manage", "manageable")
    provision(client, u, "provide", "available")
    settle(client, u, "available")
    assert not any("channel-group" in c for c in fabric.commands("tor-1"))  # PXE on one link
    add_host(db, u, [{"network": "blue", "portgroup": "bond0"}])
    before = len(fabric.sessions["tor-1"])
    provision(client, u, "active", "active")
    settle(client, u, "active")
    (active,) = fabric.sessions["tor-1"][before:]
    with db.read() as conn:  # the LAG's number: the port group's own (no `lag` property set)
        lag = conn.execute(
            sa.select(schema.portgroups.c.id).where(schema.portgroups.c.uuid == pg["uuid"])
        ).scalar()
    assert active == [
        "vlan 150",
        "name ironworks-150",
        "exit",
        "interface Gi1/0/5",
        f"channel-group {lag} mode active",
        "exit",
        "interface Gi1/0/6",
        f"channel-group {lag} mode active",
        "exit",
        f"interface Port-channel{lag}",
        "switchport mode access",
        "switchport access vlan 150",
        "exit",
    ]
    before = len(fabric.sessions["tor-1"])
    provision(client, u, "undeploy", "available")
    settle(client, u, "available")
    undeployed = [c for s in fabric.sessions["tor-1"][before:] for c in s]
    assert "no channel-group" in undeployed
    assert undeployed.index("no channel-group") < undeployed.index("switchport access vlan 20")


def test_a_rejected_command_fails_the_step_and_records_what_moved(client, run, fabric):
    setup_fabric(client, "dynamic")
    fabric.switches["tor-1"] = FakeSwitch(
        reject={"interface Gi1/0/99": "% Invalid input detected at '^' marker."}
    )
    u = make_node(client, {"52:54:00:74:03:01": "Gi1/0/3", "52:54:00:74:03:02": "Gi1/0/99"})
    provision(client, u, "manage", "manageable")
    client.put(f"/v1/nodes/{u}/states/provision", json={"target": "inspect"})
    n = settle(client, u, "inspect failed")
    err = n["last_error"]
    assert err.startswith("inspection failed: Switch 'tor-1' (10.99.74.2, Cisco IOS) rejected")
    assert "'interface Gi1/0/99'" in err and "for port Gi1/0/99" in err
    lines = network_lines(client, u)
    assert any(
        "switch tor-1 failed after 1 change(s) (live, not saved): port 52:54:00:74:03:01 "
        "(Gi1/0/3) to VLAN 10 (prov)" in line
        for line in lines
    ), lines
    assert "save:write memory" not in fabric.switches["tor-1"].events
    shown = ok(client.get(f"/api/v1/nodes/{u}/network"))
    known = {p["switch_port"]: p["known"] for p in shown["ports"]}
    assert known == {"Gi1/0/3": True, "Gi1/0/99": False}
    # fixed on the switch: inspecting again moves only the port that did not move
    fabric.switches["tor-1"].reject = {}
    before = len(fabric.sessions["tor-1"])
    provision(client, u, "inspect", "manageable")
    (again,) = fabric.sessions["tor-1"][before:]
    assert again == [
        "interface Gi1/0/99",
        "switchport mode access",
        "switchport access vlan 10",
        "exit",
    ]


def test_an_unreachable_switch_fails_the_step_naming_it(client, db, settings):
    # no fake: the real netmiko connection to a closed port of 127.0.0.1
    closed = free_port()
    setup_fabric(client, "dynamic", address="127.0.0.1", port=closed)
    c = Conductor(db, settings)
    c.start()
    try:
        u = make_node(client, {"52:54:00:74:04:01": "Gi1/0/4"})
        provision(client, u, "manage", "manageable")
        client.put(f"/v1/nodes/{u}/states/provision", json={"target": "inspect"})
        n = settle(client, u, "inspect failed")
    finally:
        c.stop(wait=True)
    err = n["last_error"]
    assert f"Switch 'tor-1' (127.0.0.1, Cisco IOS) did not answer on SSH port {closed}" in err
    assert "Gi1/0/4" in err and "Nothing was changed" in err
    assert n["power_state"] != "power on"  # the node was not booted onto an unknown VLAN


def test_wrong_switch_credentials_fail_the_step(client, run, fabric):
    setup_fabric(client, "dynamic")  # the stored password is "s3cret"
    fabric.passwords["tor-1"] = "other"
    u = make_node(client, {"52:54:00:74:0c:01": "Gi1/0/12"})
    provision(client, u, "manage", "manageable")
    client.put(f"/v1/nodes/{u}/states/provision", json={"target": "inspect"})
    n = settle(client, u, "inspect failed")
    assert (
        "Switch 'tor-1' (10.99.74.2, Cisco IOS) refused the login of user 'ironworks'"
        in (n["last_error"])
    )
    assert "Gi1/0/12" in n["last_error"] and "s3cret" not in n["last_error"]
    fabric.passwords["tor-1"] = "s3cret"  # the decrypted stored password is what logs in
    provision(client, u, "inspect", "manageable")
    assert fabric.sessions["tor-1"][-1][:3] == [
        "interface Gi1/0/12",
        "switchport mode access",
        "switchport access vlan 10",
    ]


def test_a_port_without_its_switch_port_name_fails_clearly(client, run, fabric):
    setup_fabric(client, "dynamic")
    u = ok(client.post("/v1/nodes", json={"driver": "fake-hardware"}), 201)["uuid"]
    body = {"node_uuid": u, "address": "52:54:00:74:05:01", "physical_network": "fabric-a"}
    ok(client.post("/v1/ports", json=body), 201)
    provision(client, u, "manage", "manageable")
    client.put(f"/v1/nodes/{u}/states/provision", json={"target": "inspect"})
    n = settle(client, u, "inspect failed")
    assert "has no local_link_connection.port_id" in n["last_error"]
    assert fabric.sessions == {}


# --- post-configured -------------------------------------------------------------------------


def test_postconfigured_waits_for_the_operator(client, run, fabric):
    setup_fabric(client, "postconfigured", vendor="linux-bridge")
    u = make_node(client, {"52:54:00:74:06:01": "tap-n1"})
    provision(client, u, "manage", "manageable")
    client.put(f"/v1/nodes/{u}/states/provision", json={"target": "inspect"})
    n = settle(client, u, "inspect confirm")
    assert n["target_provision_state"] == "manageable"
    shown = ok(client.get(f"/api/v1/nodes/{u}/network"))
    assert shown["waiting"] and shown["pending"]["step"] == "inspect"
    (entry,) = shown["pending"]["switches"]
    assert entry["switch"] == "tor-1" and entry["address"] == "10.99.74.2"
    assert entry["commands"] == [
        "set -e",
        "ip link set tap-n1 master br-vlan10 up",
        "set +e",
    ]
    assert any(
        "waiting for the operator" in line and "br-vlan10" in line
        for line in network_lines(client, u)
    )
    assert fabric.sessions == {}  # never touched
    # confirming another step, or a node that waits for nothing, is refused
    r = client.post(f"/api/v1/nodes/{u}/network/confirm", json={"step": "deploy"})
    assert r.status_code == 409 and "'inspect'" in r.text
    r = client.post(f"/api/v1/nodes/{u}/network/confirm", json={"stage": "inspect"})
    assert r.status_code == 400 and "stage" in r.text
    done = ok(client.post(f"/api/v1/nodes/{u}/network/confirm", json={"step": "inspect"}), 202)
    assert done["pending"]["confirmed"] is not None
    n = settle(client, u, "manageable")
    assert n["properties"].get("cpu_arch")  # inspection ran after the confirmation
    shown = ok(client.get(f"/api/v1/nodes/{u}/network"))
    assert shown["pending"] is None and shown["ports"][0]["vlan"] == 10
    r = client.post(f"/api/v1/nodes/{u}/network/confirm", json={})
    assert r.status_code == 409 and "waits for no switch configuration" in r.text
    # the next cleaning waits twice (cleaning VLAN, then parked on provisioning)
    client.put(f"/v1/nodes/{u}/states/provision", json={"target": "provide"})
    settle(client, u, "clean confirm")
    ok(client.post(f"/api/v1/nodes/{u}/network/confirm"), 202)
    settle(client, u, "clean confirm")
    parked = ok(client.get(f"/api/v1/nodes/{u}/network"))["pending"]
    assert parked["step"] == "available" and "br-vlan10" in " ".join(
        parked["switches"][0]["commands"]
    )
    ok(client.post(f"/api/v1/nodes/{u}/network/confirm", json={"step": "available"}), 202)
    settle(client, u, "available")
    assert fabric.sessions == {}


def test_postconfigured_wait_times_out(client, db, tmp_path, database_url, fabric):
    settings = make_settings(
        database_url,
        tmp_path,
        conductor={"hostname": "test-conductor", "poll_interval": 0.05, "periodic_interval": 3600},
        timeouts={"network_confirm": 1},
    )
    c = Conductor(db, settings, switch_driver=fabric.driver)
    c.start()
    try:
        setup_fabric(client, "postconfigured")
        u = make_node(client, {"52:54:00:74:07:01": "Gi1/0/7"})
        provision(client, u, "manage", "manageable")
        client.put(f"/v1/nodes/{u}/states/provision", json={"target": "inspect"})
        settle(client, u, "inspect confirm")
        with db.write() as conn:  # as if it had waited an hour
            conn.execute(
                sa.update(schema.nodes)
                .where(schema.nodes.c.uuid == u)
                .values(provision_updated_at=utcnow() - timedelta(hours=1))
            )
        periodic.fail_expired_waits(c)
        n = settle(client, u, "inspect failed")
    finally:
        c.stop(wait=True)
    assert n["last_error"].startswith("timed out after 1 s in 'inspect confirm'")
    assert (
        "nobody confirmed the switch configuration of step 'inspect' (switch tor-1)"
        in (n["last_error"])
    )


def test_postconfigured_abort(client, run, fabric):
    setup_fabric(client, "postconfigured")
    u = make_node(client, {"52:54:00:74:08:01": "Gi1/0/8"})
    provision(client, u, "manage", "manageable")
    client.put(f"/v1/nodes/{u}/states/provision", json={"target": "inspect"})
    settle(client, u, "inspect confirm")
    provision(client, u, "abort", "inspect failed")
    r = client.post(f"/api/v1/nodes/{u}/network/confirm")
    assert r.status_code == 409


# --- pre-configured --------------------------------------------------------------------------


def test_preconfigured_records_and_never_touches_the_switch(client, db, run, fabric):
    setup_fabric(client, "preconfigured")
    tenant_network(client)
    u = make_node(client, {"52:54:00:74:09:01": "Gi1/0/9"})
    provision(client, u, "manage", "manageable")
    provision(client, u, "provide", "available")
    add_host(db, u, [{"network": "blue", "port": "52:54:00:74:09:01"}])
    provision(client, u, "active", "active")
    settle(client, u, "active")
    assert fabric.sessions == {}
    lines = network_lines(client, u)
    assert any(
        "physical network fabric-a is pre-configured, switch tor-1 not touched; the step "
        "expects port 52:54:00:74:09:01 (Gi1/0/9) to VLAN 150 (blue)" in line
        for line in lines
    ), lines


# --- network_data.json from the host's NICs --------------------------------------------------


def test_network_data_of_a_host_with_a_bond_and_static_addresses(client, db):
    setup_fabric(client, "dynamic")
    tenant_network(client)
    body = {
        "network": "blue",
        "name": "blue-v4",
        "cidr": "10.99.74.0/24",
        "gateway_ip": "10.99.74.1",
        "dns_nameservers": ["10.99.74.53"],
    }
    ok(client.post("/api/v1/subnets", json=body), 201)
    ok(
        client.post(
            "/api/v1/subnets", json={"network": "blue", "name": "blue-v6", "cidr": "fd00:74::/64"}
        ),
        201,
    )
    u = make_node(client, {"52:54:00:74:0a:09": "Gi1/0/9"})
    group = {
        "node_uuid": u,
        "name": "bond1",
        "address": "52:54:00:74:0a:01",
        "mode": "active-backup",
    }
    pg = ok(client.post("/v1/portgroups", json=group), 201)
    for mac in ("52:54:00:74:0a:01", "52:54:00:74:0a:02"):
        ok(
            client.post(
                "/v1/ports", json={"node_uuid": u, "address": mac, "portgroup_uuid": pg["uuid"]}
            ),
            201,
        )
    add_host(
        db,
        u,
        [
            {
                "network": "blue",
                "portgroup": "bond1",
                "ips": [("blue-v4", "10.99.74.10"), ("blue-v6", "fd00:74::10")],
            },
            {"network": "prov", "port": "52:54:00:74:0a:09"},
        ],
    )
    with db.read() as conn:
        node_id = conn.execute(
            sa.select(schema.nodes.c.id).where(schema.nodes.c.uuid == u)
        ).scalar()
    data = host_network_data(db, node_id)
    from tests.unit.test_network_data import check_format

    check_format(data)
    bond = next(link for link in data["links"] if link["type"] == "bond")
    members = [link for link in data["links"] if link["id"] in bond["bond_links"]]
    assert (
        bond["bond_mode"] == "active-backup" and bond["ethernet_mac_address"] == "52:54:00:74:0a:01"
    )
    assert sorted(m["ethernet_mac_address"] for m in members) == [
        "52:54:00:74:0a:01",
        "52:54:00:74:0a:02",
    ]
    v4, v6 = [n for n in data["networks"] if n["link"] == bond["id"]]
    assert (v4["type"], v4["ip_address"], v4["netmask"]) == ("ipv4", "10.99.74.10", "255.255.255.0")
    assert v4["routes"] == [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.99.74.1"}]
    assert (v6["type"], v6["ip_address"]) == ("ipv6", "fd00:74::10")
    assert data["services"] == [{"type": "dns", "address": "10.99.74.53"}]
    plain = next(
        link for link in data["links"] if link["ethernet_mac_address"] == "52:54:00:74:0a:09"
    )
    assert plain["type"] == "phy" and json.dumps(data)


def test_the_config_drive_carries_the_hosts_network_data(client, db, settings):
    setup_fabric(client, "dynamic")
    tenant_network(client)
    u = make_node(client, {"52:54:00:74:0b:01": "Gi1/0/11"})
    add_host(db, u, [{"network": "blue", "port": "52:54:00:74:0b:01"}])
    with db.read() as conn:
        node = dict(
            conn.execute(sa.select(schema.nodes).where(schema.nodes.c.uuid == u)).mappings().one()
        )
    c = Conductor(db, settings)  # not started: only its config drive builder is used
    given = {
        "meta_data": {"hostname": "h1"},
        "network_data": {"links": [], "networks": [], "services": []},
    }
    for drive, want_links in (({"meta_data": {"hostname": "h1"}}, 1), (given, 0)):
        spec = c._configdrive(node, drive)
        image = c.artifacts.cache.store.cache_file(spec["key"])
        out = subprocess.run(
            ["mcopy", "-n", "-i", str(image), "::openstack/latest/network_data.json", "-"],
            check=True,
            capture_output=True,
            env={**os.environ, "MTOOLS_SKIP_CHECK": "1"},
        ).stdout
        data = json.loads(out)
        assert len(data["links"]) == want_links  # what the request brought wins
        if want_links:
            assert data["links"][0]["ethernet_mac_address"] == "52:54:00:74:0b:01"
        c.artifacts.drop_configdrive(spec["key"])
