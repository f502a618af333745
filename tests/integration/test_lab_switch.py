"""The `linux-bridge` driver for real, over SSH, against the lab switch (ironworks/lab/switch.py).

A switch namespace of its own (one bridge per VLAN, sshd inside it, the relay on loopback) and
two "hosts": namespaces joined to switch ports by veths, on 10.99.71.0/24. The driver moves the
ports; the switch side is read back with `ip link show master br-vlan<N>` in the namespace, and
packets say whether two hosts share a VLAN. Needs root (namespaces) and openssh-server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ironworks.drivers.switches import (
    CreateVlan,
    DeleteVlan,
    RestoreDefaultVlan,
    SetAccessVlan,
    SwitchAccess,
    driver_for,
)
from ironworks.drivers.switches.base import netmiko_connect
from ironworks.drivers.switches.errors import (
    SwitchAuthFailed,
    SwitchCommandRejected,
    SwitchUnreachable,
)
from ironworks.lab import net
from ironworks.lab import switch as labswitch
from ironworks.lab.errors import LabError
from tests.conftest import free_port

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
    pytest.mark.skipif(not Path(labswitch.SSHD).is_file(), reason="apt-get install openssh-server"),
    pytest.mark.skipif(shutil.which("busybox") is None, reason="apt-get install busybox-static"),
]

SUFFIX = str(os.getpid() % 100000)
SWITCH_NS = f"iwls71s{SUFFIX}"
PROVISIONING = 1  # the VLAN whose bridge carries the switch namespace's own address (boot server)
SERVER = "10.99.71.254"  # on the provisioning bridge, as the lab's boot server is on iwbr0
MGMT = "10.99.71.1"  # the switch's management address (its loopback)


@dataclass
class Host:
    """A namespace with one NIC, cabled to switch port `port`."""

    ns: str
    port: str
    address: str

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.ns, *args], capture_output=True, text=True, timeout=30
        )

    def pings(self, address: str) -> bool:
        return self.run("busybox", "ping", "-c", "2", "-W", "1", address).returncode == 0


@dataclass
class Lab:
    spec: labswitch.SwitchSpec
    relay_port: int
    a: Host
    b: Host

    def access(self, **kw: Any) -> SwitchAccess:
        base: dict[str, Any] = {
            "name": "lab-switch-71",
            "host": "127.0.0.1",
            "port": self.relay_port,
            "username": self.spec.username,
            "password": self.spec.password,
            "timeout": 10.0,
        }
        return SwitchAccess(**{**base, **kw})

    def driver(self, connect: Callable[..., Any] | None = None, **kw: Any):
        return driver_for("linux-bridge", self.access(**kw), connect=connect)

    def master(self, port: str) -> str | None:
        out = net.ip(self.spec.namespace, "-j", "link", "show", "dev", port).stdout
        return json.loads(out)[0].get("master")

    def logins(self) -> int:
        return self.spec.log.read_text().count(f"Accepted password for {self.spec.username}")


def _root_state() -> tuple[set[str], bool]:
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True).stdout)
    addrs = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    return {link["ifname"] for link in links}, "10.99." in addrs


def _host(name: str, port: str, address: str) -> Host:
    host = Host(f"iwls71{name}{SUFFIX}", port, address)
    subprocess.run(["ip", "netns", "add", host.ns], check=True)
    # the veth is made inside the switch namespace, its peer sent to the host's: never in root
    net.ip(SWITCH_NS, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", host.ns)
    net.ip(SWITCH_NS, "link", "set", port, "up")
    net.ip(host.ns, "link", "set", "lo", "up")
    net.ip(host.ns, "addr", "add", f"{address}/24", "dev", "eth0")
    net.ip(host.ns, "link", "set", "eth0", "up")
    return host


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    before = _root_state()
    spec = labswitch.SwitchSpec(
        namespace=SWITCH_NS, directory=tmp_path_factory.mktemp("switch"), address=MGMT
    )
    labswitch.ensure_account(spec.username, spec.password)
    namespaces = [SWITCH_NS]
    pid = None
    try:
        labswitch.ensure_switch(spec)
        prov = labswitch.ensure_vlan(SWITCH_NS, PROVISIONING)
        net.ip(SWITCH_NS, "addr", "add", f"{SERVER}/24", "dev", prov)
        a = _host("a", "swp1", "10.99.71.10")
        namespaces.append(a.ns)
        b = _host("b", "swp2", "10.99.71.11")
        namespaces.append(b.ns)
        pid = labswitch.start_sshd(spec)
        with labswitch.Relay(spec) as relay:
            yield Lab(spec, relay.port, a, b)
    finally:
        labswitch.stop_sshd(pid, spec)
        for ns in namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    assert _root_state() == before, "the root namespace gained an interface or a lab address"


def test_driver_creates_vlans_and_moves_ports(lab: Lab) -> None:
    d = lab.driver()
    done = d.apply([CreateVlan(171), SetAccessVlan("swp1", 171)])
    assert done == [CreateVlan(171), SetAccessVlan("swp1", 171)]
    assert labswitch.ports_of(SWITCH_NS, 171) == ["swp1"]
    # moving to another VLAN takes the port out of the first (one master per port)
    d.apply([CreateVlan(172), SetAccessVlan("swp1", 172)])
    assert labswitch.ports_of(SWITCH_NS, 172) == ["swp1"]
    assert labswitch.ports_of(SWITCH_NS, 171) == []
    d.apply([RestoreDefaultVlan("swp1"), DeleteVlan(171), DeleteVlan(172)])
    assert lab.master("swp1") is None
    assert "br-vlan171" not in net.links(SWITCH_NS)


def test_a_batch_is_one_session(lab: Lab) -> None:
    connects = []

    def counting(**params: Any):
        connects.append(params["host"])
        return netmiko_connect(**params)

    d = lab.driver(connect=counting)
    logins = lab.logins()
    batch = [CreateVlan(173), SetAccessVlan("swp1", 173), SetAccessVlan("swp2", 173)]
    assert d.apply(batch) == batch
    assert lab.master("swp1") == lab.master("swp2") == "br-vlan173"
    assert len(connects) == 1
    assert lab.logins() == logins + 1  # the switch's side: sshd accepted one login
    d.apply([RestoreDefaultVlan("swp1"), RestoreDefaultVlan("swp2"), DeleteVlan(173)])
    assert lab.logins() == logins + 2


def test_wrong_password_names_switch_and_ports(lab: Lab) -> None:
    with pytest.raises(SwitchAuthFailed) as err:
        lab.driver(password="not-the-password").apply([SetAccessVlan("swp1", PROVISIONING)])
    assert "lab-switch-71" in err.value.message and "swp1" in err.value.message
    assert err.value.switch == "lab-switch-71" and err.value.port == "swp1"
    assert lab.master("swp1") is None  # nothing moved


def test_unreachable_switch(lab: Lab) -> None:
    with pytest.raises(SwitchUnreachable) as err:  # nothing listens on the management port
        lab.driver(port=free_port(), timeout=5.0).apply([SetAccessVlan("swp2", PROVISIONING)])
    assert "lab-switch-71" in err.value.message and "swp2" in err.value.message
    assert err.value.retryable and err.value.port == "swp2"
    # the relay answers but the switch behind it does not (sshd down on that address)
    dead = labswitch.SwitchSpec(namespace=SWITCH_NS, directory=lab.spec.directory, ssh_port=2)
    with labswitch.Relay(dead) as relay, pytest.raises(SwitchUnreachable) as err:
        lab.driver(port=relay.port, timeout=5.0).apply([SetAccessVlan("swp2", PROVISIONING)])
    assert err.value.switch == "lab-switch-71" and err.value.port == "swp2"
    assert lab.master("swp2") is None


def test_rejected_command_names_port_and_command(lab: Lab) -> None:
    d = lab.driver()
    batch = [SetAccessVlan("swp1", PROVISIONING), SetAccessVlan("swp2", 179)]  # no br-vlan179
    with pytest.raises(SwitchCommandRejected) as err:
        d.apply(batch)
    assert err.value.port == "swp2"
    assert err.value.command == "ip link set swp2 master br-vlan179 up"
    assert "swp2" in err.value.message and "br-vlan179" in err.value.message
    assert err.value.applied == (SetAccessVlan("swp1", PROVISIONING),)  # live, reported
    assert lab.master("swp1") == "br-vlan1" and lab.master("swp2") is None
    d.apply([RestoreDefaultVlan("swp1")])


def test_packets_cross_a_vlan_and_not_between_vlans(lab: Lab) -> None:
    d = lab.driver()
    a, b = lab.a, lab.b
    d.apply([CreateVlan(174), CreateVlan(175), SetAccessVlan("swp1", 174)])
    d.apply([SetAccessVlan("swp2", 174)])
    assert a.pings(b.address) and b.pings(a.address)
    d.apply([SetAccessVlan("swp2", 175)])
    assert not a.pings(b.address) and not b.pings(a.address)
    d.apply([SetAccessVlan("swp2", 174)])
    assert a.pings(b.address)
    d.apply([RestoreDefaultVlan("swp1"), RestoreDefaultVlan("swp2")])
    d.apply([DeleteVlan(174), DeleteVlan(175)])


_RECEIVE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(5)
print(s.getsockname()[1], flush=True)
try:
    print(s.recvfrom(100)[0].decode(), flush=True)
except socket.timeout:
    print("nothing", flush=True)
"""
_SEND = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    s.sendto(b"hello", (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.2)
"""


def _datagram_arrives(host: Host, via_bridge: str) -> bool:
    """A UDP datagram from `host` to the switch namespace's own address, sent straight to the
    MAC of `via_bridge` (a static neighbour entry): does it reach a socket there? Delivery one
    way is enough for a DHCP or TFTP request; a ping could not show it (the reply is routed
    out of the provisioning bridge)."""
    shown = net.ip(SWITCH_NS, "-j", "link", "show", "dev", via_bridge).stdout
    mac = json.loads(shown)[0]["address"]
    receiver = subprocess.Popen(
        ["ip", "netns", "exec", SWITCH_NS, sys.executable, "-c", _RECEIVE, SERVER],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.stdout is not None
        port = receiver.stdout.readline().strip()
        host.run("ip", "neigh", "replace", SERVER, "lladdr", mac, "dev", "eth0")
        host.run(sys.executable, "-c", _SEND, SERVER, port)
        return receiver.stdout.readline().strip() == "hello"
    finally:
        host.run("ip", "neigh", "del", SERVER, "dev", "eth0")
        receiver.kill()
        receiver.wait()


def test_the_switch_answers_on_its_own_vlan_only(lab: Lab) -> None:
    """The switch namespace's own address (the boot server's, on the provisioning bridge) answers
    a host on the provisioning VLAN, not one on another VLAN: not by ARP, and not to a frame
    sent straight to the switch's MAC on that VLAN's bridge. The management address answers no
    port at all."""
    d = lab.driver()
    a, b = lab.a, lab.b
    d.apply([CreateVlan(176), SetAccessVlan("swp1", PROVISIONING), SetAccessVlan("swp2", 176)])
    try:
        assert a.pings(SERVER)
        assert not b.pings(SERVER)
        assert not a.pings(MGMT) and not b.pings(MGMT)
        assert _datagram_arrives(a, "br-vlan1")  # the method works where the address lives...
        assert not _datagram_arrives(b, "br-vlan176")  # ...and is dropped on another VLAN
    finally:
        d.apply([RestoreDefaultVlan("swp1"), RestoreDefaultVlan("swp2"), DeleteVlan(176)])


def test_the_account_refuses_the_root_namespace(lab: Lab) -> None:
    """The switch account's shell runs inside a lab switch only, with CAP_NET_ADMIN only."""
    user = ["setpriv", "--reuid", lab.spec.username, "--regid", lab.spec.username]
    shell = str(labswitch.ACCOUNT_HOME / "shell")
    outside = subprocess.run(
        [*user, "--clear-groups", shell, "-c", "ip link show"], capture_output=True, text=True
    )
    assert outside.returncode != 0 and "inside an Ironworks lab switch" in outside.stderr
    inside = subprocess.run(
        ["ip", "netns", "exec", SWITCH_NS, *user, "--init-groups", shell, "-c",
         "grep CapEff /proc/self/status"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert inside.returncode == 0, inside.stderr
    assert int(inside.stdout.split()[1], 16) == 1 << 12  # CAP_NET_ADMIN and nothing else


def test_registered_through_the_api_it_is_driven_from_the_database(
    lab: Lab, client: Any, services: Any
) -> None:
    """What `lab up` prints to register the switch works: the API stores it (password sealed),
    the service hands the conductor its decrypted access, and that access moves a port."""
    from ironworks.services import switches as switch_service

    fabric = {"name": "fabric-lab", "scheme": "dynamic", "segmentation_ranges": "170-179"}
    assert client.post("/api/v1/physical-networks", json=fabric).status_code == 201
    body = {
        "name": "lab-switch-71",
        "vendor": "linux-bridge",
        "address": "127.0.0.1",
        "port": lab.relay_port,
        "username": lab.spec.username,
        "password": lab.spec.password,
        "physical_network": "fabric-lab",
    }
    made = client.post("/api/v1/switches", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["password"] == "******"
    vendor, access = switch_service.access(services, "lab-switch-71")
    driver = driver_for(vendor, access)
    driver.apply([CreateVlan(177), SetAccessVlan("swp1", 177)])
    try:
        assert labswitch.ports_of(SWITCH_NS, 177) == ["swp1"]
    finally:
        driver.apply([RestoreDefaultVlan("swp1"), DeleteVlan(177)])


def test_another_account_is_never_taken_over() -> None:
    with pytest.raises(LabError, match="not a lab switch account"):
        labswitch.ensure_account("root", "password")
