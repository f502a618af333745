"""The dynamic scheme for real: a conductor moves a node's ports on the lab switch over SSH.

The lab switch (ironworks/lab/switch.py: a namespace with one bridge per VLAN, sshd inside, a
relay on 127.0.0.1) is driven by the real `linux-bridge` driver through the conductor's switch
step, nothing faked between the conductor and the switch's kernel. The node is fake-hardware;
its two ports are `swp1` (a veth whose other end is a "host" namespace on 10.99.74.0/24) and
`swp2` (a veth whose peer stays in the switch, unbridged). What the test reads is the switch's side (`ip link show master br-vlan<N>`),
the logins sshd accepted, and whether the host reaches the boot server's address on the
provisioning VLAN: yes while the node is provisioned, no once it is active on its tenant VLAN.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ironworks.conductor.conductor import Conductor
from tests.api.test_switching import add_host, make_node, ok, provision, settle

labswitch: Any = pytest.importorskip(
    "ironworks.lab.switch", reason="the lab switch (issue 11) is not in this tree"
)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
    pytest.mark.skipif(not Path(labswitch.SSHD).is_file(), reason="apt-get install openssh-server"),
    pytest.mark.skipif(shutil.which("busybox") is None, reason="apt-get install busybox-static"),
]

SUFFIX = str(os.getpid() % 100000)
SWITCH_NS = f"iwsch74s{SUFFIX}"
HOST_NS = f"iwsch74h{SUFFIX}"
PROVISIONING, TENANT = 741, 742
SERVER = "10.99.74.254"  # the boot server's address, on the provisioning VLAN's bridge
MGMT = "10.99.74.1"  # the switch's management address (its loopback)
HOST = "10.99.74.10"


def ip(ns: str, *args: str) -> str:
    return subprocess.run(
        ["ip", "-n", ns, *args], check=True, capture_output=True, text=True, timeout=30
    ).stdout


@dataclass
class Lab:
    spec: Any
    relay_port: int

    def logins(self) -> int:
        return self.spec.log.read_text().count(f"Accepted password for {self.spec.username}")

    def reaches_server(self) -> bool:
        ping = ["ip", "netns", "exec", HOST_NS, "busybox", "ping", "-c", "2", "-W", "1", SERVER]
        return subprocess.run(ping, capture_output=True, timeout=30).returncode == 0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    spec = labswitch.SwitchSpec(
        namespace=SWITCH_NS, directory=tmp_path_factory.mktemp("switch"), address=MGMT
    )
    labswitch.ensure_account(spec.username, spec.password)
    made = [SWITCH_NS]
    pid = None
    try:
        labswitch.ensure_switch(spec)
        prov = labswitch.ensure_vlan(SWITCH_NS, PROVISIONING)
        ip(SWITCH_NS, "addr", "add", f"{SERVER}/24", "dev", prov)
        subprocess.run(["ip", "netns", "add", HOST_NS], check=True)
        made.append(HOST_NS)
        # the veth is made inside the switch namespace, its peer sent to the host's: never root's
        ip(
            SWITCH_NS,
            "link",
            "add",
            "swp1",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            HOST_NS,
        )
        ip(SWITCH_NS, "link", "add", "swp2", "type", "veth", "peer", "name", "swp2-peer")
        for port in ("swp1", "swp2"):
            ip(SWITCH_NS, "link", "set", port, "up")
        ip(HOST_NS, "link", "set", "lo", "up")
        ip(HOST_NS, "addr", "add", f"{HOST}/24", "dev", "eth0")
        ip(HOST_NS, "link", "set", "eth0", "up")
        pid = labswitch.start_sshd(spec)
        with labswitch.Relay(spec) as relay:
            yield Lab(spec, relay.port)
    finally:
        labswitch.stop_sshd(pid, spec)
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_conductor_moves_ports_on_the_lab_switch(lab, client, db, settings):
    body = {"name": "fabric-a", "scheme": "dynamic", "segmentation_ranges": f"{TENANT}-749"}
    ok(client.post("/api/v1/physical-networks", json=body), 201)
    prov = {"name": "prov", "role": "provisioning", "segmentation_id": PROVISIONING}
    ok(client.post("/api/v1/networks", json={**prov, "physical_network": "fabric-a"}), 201)
    blue = {"name": "blue", "segmentation_id": TENANT, "physical_network": "fabric-a"}
    ok(client.post("/api/v1/networks", json=blue), 201)
    switch = {
        "name": "tor-1",
        "vendor": "linux-bridge",
        "address": "127.0.0.1",
        "port": lab.relay_port,
        "username": lab.spec.username,
        "password": lab.spec.password,
        "physical_network": "fabric-a",
    }
    ok(client.post("/api/v1/switches", json=switch), 201)
    u = make_node(client, {"52:54:00:74:20:01": "swp1", "52:54:00:74:20:02": "swp2"})
    assert not lab.reaches_server()  # the ports start on no VLAN

    conductor = Conductor(db, settings)  # the real drivers: netmiko over SSH
    conductor.start()
    try:
        logins = lab.logins()
        provision(client, u, "manage", "manageable")
        provision(client, u, "inspect", "manageable")
        assert labswitch.ports_of(SWITCH_NS, PROVISIONING) == ["swp1", "swp2"]
        assert lab.reaches_server()
        provision(client, u, "provide", "available")
        settle(client, u, "available")
        assert lab.logins() == logins + 1  # cleaning and parking: already in place, no login

        add_host(db, u, [{"network": "blue", "port": "52:54:00:74:20:01"}])
        provision(client, u, "active", "active")
        settle(client, u, "active")
        # the tenant VLAN was made on the switch; the port without a NIC is on no VLAN at all
        assert labswitch.ports_of(SWITCH_NS, TENANT) == ["swp1"]
        assert labswitch.ports_of(SWITCH_NS, PROVISIONING) == []
        assert not lab.reaches_server()  # the host cannot reach the provisioning network
        assert lab.logins() == logins + 2

        provision(client, u, "undeploy", "available")
        settle(client, u, "available")
        assert labswitch.ports_of(SWITCH_NS, PROVISIONING) == ["swp1", "swp2"]
        assert labswitch.ports_of(SWITCH_NS, TENANT) == []
        assert lab.reaches_server()
        assert lab.logins() == logins + 3  # one session per step that moved ports
    finally:
        conductor.stop(wait=True)
