"""Tenant networking proven with packets between lab VMs (issue #11): the dynamic scheme on the
lab switch, driven over SSH by the conductor.

Two projects: A with hosts a1 and a2, B with b1, each host on its project's VLAN network (a
subnet of the lab's 10.99.0.0/16: 10.99.81.0/24 and 10.99.82.0/24, no gateway), created through
`POST /api/v1/hosts` and deployed at the same time on three TCG VMs. What the test checks:

- while a node waits for its agent, its switch port (its tap) is on the provisioning VLAN, read
  on the switch (`ip link show master br-vlan1` in the lab namespace);
- once active, the port is on its network's VLAN and on no other;
- the test OS configured, from the config drive's network_data.json, the address the API shows;
- on each host's serial console (SOL through the lab BMC, bridged by the API's WebSocket): a1
  pings a2 and a2 a1; a1 does not reach b1, and b1 reaches neither, not even after taking an
  address on A's subnet; no host reaches the boot listener (10.99.0.1), not even with an address
  on the provisioning subnet;
- deleting the hosts puts every port back on the provisioning VLAN (the lab has no separate
  cleaning network).

Three to five minutes on two cores, lab up and down included (each step prints its time).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import time
import uuid as uuidlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import serve_directory
from tests.e2e.labkit import lab_up, serve_lab, x86_artefacts

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("qemu")]  # one VM user at a time

HEADERS = {"X-OpenStack-Ironic-API-Version": "latest"}
WAIT = 420  # seconds for three VMs deploying at once under TCG on two cores
MARK = "IRONWORKS-TEST-OS"
BOOT_SERVER = "10.99.0.1"  # the boot listener, on the provisioning VLAN (lab/net.py)
SUBNETS = {"a": "10.99.81.0/24", "b": "10.99.82.0/24"}


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return x86_artefacts(tmp_path_factory.mktemp("artefacts"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    port = 17500 + (os.getpid() % 1000) * 7
    with lab_up(
        tmp_path_factory.mktemp("lab"),
        f"iwnet{uuidlib.uuid4().hex[:6]}",
        *("--nodes", "3", "--base-port", str(port), "--memory", "512", "--disk-mb", "256"),
    ) as state:
        assert state.get("switch"), "lab up made no switch"
        yield state


@pytest.fixture(scope="module")
def cloud(
    lab: dict[str, Any], artefacts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, str]]:
    waits = dict.fromkeys(("deploy_callback", "clean_callback", "inspect_wait"), WAIT)
    with (
        serve_directory(artefacts["www"]) as www,
        serve_lab(tmp_path_factory.mktemp("server"), lab, artefacts["ramdisk"], waits) as url,
        httpx.Client(base_url=url, headers=HEADERS, timeout=60) as http,
    ):
        yield http, f"{www}/{artefacts['image'].name}"


def ok(r: httpx.Response, status: int = 201) -> Any:
    assert r.status_code == status, (r.request.method, str(r.request.url), r.text)
    return r.json() if r.content else None


def ports_on(lab: dict[str, Any], vlan: int) -> set[str]:
    from ironworks.lab.switch import ports_of

    return set(ports_of(lab["namespace"], vlan))


class Vm:
    """A lab VM enrolled as a node whose one port is cabled to the lab switch."""

    def __init__(self, http: httpx.Client, vm: dict[str, Any]) -> None:
        self.http, self.vm, self.tap = http, vm, vm["tap"]
        self.log = Path(vm["serial_log"])
        body = {
            "name": vm["name"],
            "driver": "ipmi",
            "driver_info": {
                "ipmi_address": vm["bmc_address"],
                "ipmi_port": vm["bmc_port"],
                "ipmi_username": "admin",
                "ipmi_password": "password",
            },
            # set by hand instead of inspecting: the flavor must fit
            "properties": {"cpus": 1, "memory_mb": 512, "local_gb": 0, "cpu_arch": "x86_64"},
        }
        self.uuid = ok(http.post("/v1/nodes", json=body))["uuid"]
        port = {
            "node_uuid": self.uuid,
            "address": vm["mac"],
            "physical_network": "lab",
            "local_link_connection": {"switch_info": "lab-switch", "port_id": self.tap},
        }
        ok(http.post("/v1/ports", json=port))
        self.host: dict[str, Any] = {}

    def get(self) -> dict[str, Any]:
        return dict(ok(self.http.get(f"/v1/nodes/{self.uuid}"), 200))

    def act(self, target: str) -> None:
        path = f"/v1/nodes/{self.uuid}/states/provision"
        ok(self.http.put(path, json={"target": target}), 202)

    def wait(self, state: str, timeout: float = WAIT + 60) -> dict[str, Any]:
        started = time.monotonic()
        while True:
            node = self.get()
            if node["provision_state"] == state and node["reservation"] is None:
                return node
            assert "failed" not in node["provision_state"], (node["last_error"], self.tail())
            assert time.monotonic() - started < timeout, (
                f"{self.vm['name']} still {node['provision_state']} after {timeout} s",
                self.tail(),
            )
            time.sleep(1)

    def console(self) -> str:
        return self.log.read_bytes().decode(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.console().splitlines()[-lines:])


class Shell:
    """The deployed test OS's root shell on a VM's serial console (see `shell`)."""

    def __init__(self, ws: Any, name: str) -> None:
        self.ws, self.name, self.n = ws, name, 0

    def must(self, command: str) -> None:
        status, out = self.run(command)
        assert status == 0, f"{self.name}: {command!r} failed:\n{out}"

    def run(self, command: str, timeout: float = 60) -> tuple[int, str]:
        """Type `command; echo TAG=$?` a key every 50 ms (docs/lab.md: a burst overruns the
        UART) and read until the tag comes back with a number: (status, output)."""
        self.n += 1
        tag = f"done{self.n}x"
        for key in f"{command}; echo {tag}=$?\r".encode():
            self.ws.send(bytes([key]))
            time.sleep(0.05)
        pattern = re.compile(rf"{tag}=(\d+)")
        got, deadline = "", time.monotonic() + timeout
        while (m := pattern.search(got)) is None:
            left = deadline - time.monotonic()
            assert left > 0, f"{self.name}: no answer to {command!r} in {timeout} s:\n{got}"
            try:
                frame = self.ws.recv(timeout=left)
            except TimeoutError:
                continue
            if isinstance(frame, bytes):
                got += frame.decode(errors="replace")
        say(f"{self.name}$ {command} -> {m.group(1)}")
        return int(m.group(1)), got


@contextmanager
def shell(vm: Vm, name: str) -> Iterator[Shell]:
    """The shell on `vm`'s serial console: SOL from the lab BMC, bridged to the API's WebSocket
    (`/v1/nodes/{id}/states/console`); the console is disabled again after."""
    from websockets.sync.client import connect

    path = f"/v1/nodes/{vm.uuid}/states/console"
    ok(vm.http.put(path, json={"enabled": True}), 202)
    url = ok(vm.http.get(path), 200)["console_info"]["url"]
    try:
        with connect(url, open_timeout=60) as ws:
            hello = json.loads(ws.recv(timeout=60))
            assert hello["mode"] == "read-write", hello
            yield Shell(ws, name)
    finally:
        ok(vm.http.put(path, json={"enabled": False}), 202)


def test_two_projects_on_the_lab_switch(lab: dict[str, Any], cloud: Any) -> None:
    http, image = cloud
    started = time.monotonic()
    sw = lab["switch"]
    prov_vlan = int(sw["provisioning_vlan"])

    # --- the cloud: a dynamic physical network, the lab switch, two projects and their networks
    ok(
        http.post(
            "/api/v1/physical-networks",
            json={"name": "lab", "scheme": "dynamic", "segmentation_ranges": "810-819"},
        )
    )
    ok(
        http.post(
            "/api/v1/networks",
            json={
                "name": "provisioning",
                "role": "provisioning",
                "segmentation_id": prov_vlan,
                "physical_network": "lab",
            },
        )
    )
    ok(
        http.post(
            "/api/v1/switches",
            json={
                "name": "lab-switch",
                "vendor": "linux-bridge",
                "address": sw["relay_address"],
                "port": sw["relay_port"],
                "username": sw["username"],
                "password": sw["password"],
                "physical_network": "lab",
            },
        )
    )
    ok(
        http.post(
            "/api/v1/flavors",
            json={"name": "lab", "cpus": 1, "memory_mb": 512, "local_gb": 0, "cpu_arch": "x86_64"},
        )
    )
    vlans: dict[str, int] = {}
    for p, cidr in SUBNETS.items():
        ok(http.post("/api/v1/departments", json={"name": f"dept-{p}"}))
        ok(http.post("/api/v1/projects", json={"name": f"proj-{p}", "department": f"dept-{p}"}))
        net = ok(
            http.post(
                "/api/v1/networks",
                json={"name": f"net-{p}", "project": f"proj-{p}", "physical_network": "lab"},
            )
        )
        vlans[p] = net["segmentation_id"]
        ok(
            http.post(
                "/api/v1/subnets", json={"network": f"net-{p}", "cidr": cidr, "gateway_ip": None}
            )
        )
    assert vlans["a"] != vlans["b"] and prov_vlan not in vlans.values(), vlans

    # --- three nodes, available without cleaning: parked on the provisioning VLAN
    vms = [Vm(http, vm) for vm in lab["vms"]]
    for v in vms:
        ok(
            http.patch(
                f"/v1/nodes/{v.uuid}",
                json=[{"op": "replace", "path": "/automated_clean", "value": False}],
            ),
            200,
        )
        v.act("manage")
    for v in vms:
        v.wait("manageable")
        v.act("provide")
    for v in vms:
        v.wait("available")
    taps = {v.tap for v in vms}
    assert ports_on(lab, prov_vlan) >= taps, "available nodes are not parked on provisioning"
    say(f"three nodes available in {time.monotonic() - started:.0f} s")

    # --- three hosts at once: a1, a2 in project A, b1 in project B
    hosts: dict[str, Vm] = {}
    by_node = {v.uuid: v for v in vms}
    for name, p in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        made = ok(
            http.post(
                "/api/v1/hosts",
                json={
                    "name": name,
                    "flavor": "lab",
                    "image": image,
                    "project": f"proj-{p}",
                    "networks": [{"network": f"net-{p}"}],
                },
            ),
            202,
        )
        (row,) = made["hosts"]
        hosts[name] = by_node[row["node_uuid"]]
        hosts[name].host = {"uuid": row["uuid"], "project": p}
    deploying = time.monotonic()

    # while each waits for its agent, its port is on the provisioning VLAN (the switch says)
    seen_on_prov: set[str] = set()
    while len(seen_on_prov) < 3:
        for name, v in hosts.items():
            state = v.get()["provision_state"]
            assert "failed" not in state, (name, v.get()["last_error"], v.tail())
            if state == "wait call-back" and name not in seen_on_prov:
                assert v.tap in ports_on(lab, prov_vlan), f"{name}: deploying off provisioning"
                seen_on_prov.add(name)
                say(f"{name} ({v.tap}) waits for its agent on the provisioning VLAN")
            elif state == "active" and name not in seen_on_prov:
                raise AssertionError(f"{name} went active before the test saw it deploying")
        assert time.monotonic() - deploying < WAIT, seen_on_prov
        time.sleep(0.5)
    for name, v in hosts.items():
        v.wait("active")
        say(f"{name} active {time.monotonic() - deploying:.0f} s after the create")

    # --- active: each port on its project's VLAN only; the OS has the API's address
    assert ports_on(lab, vlans["a"]) == {hosts["a1"].tap, hosts["a2"].tap}
    assert ports_on(lab, vlans["b"]) == {hosts["b1"].tap}
    assert not ports_on(lab, prov_vlan) & taps, "an active host is still on provisioning"
    address: dict[str, str] = {}
    for name, v in hosts.items():
        detail = ok(http.get(f"/api/v1/hosts/{v.host['uuid']}"), 200)
        (ip,) = detail["ip_addresses"]
        assert ipaddress.ip_address(ip) in ipaddress.ip_network(SUBNETS[v.host["project"]])
        address[name] = ip
        deadline = time.monotonic() + 180
        while f"{MARK}: shell on the console" not in v.console():
            assert time.monotonic() < deadline, (f"{name}: the test OS gave no shell", v.tail())
            time.sleep(1)
        assert f"{MARK} hostname={name}" in v.console(), v.tail()
        found = re.search(rf"{MARK}: address {re.escape(ip)}/24 on (\S+)", v.console())
        assert found, (f"{name}: the OS did not set {ip} from network_data.json", v.tail())
        v.host["dev"] = found.group(1)
    say(f"addresses {address}")

    def isolated_from_boot_server(sh: Shell, dev: str) -> None:
        # even on the provisioning subnet, the boot listener is out of reach
        status, out = sh.run(f"ping -c 2 -W 2 {BOOT_SERVER}")
        assert status != 0, out
        sh.must(f"ip addr add 10.99.0.250/16 dev {dev}")
        status, out = sh.run(f"ping -c 2 -W 2 {BOOT_SERVER}")
        assert status != 0, f"a tenant host reached the boot listener:\n{out}"
        sh.must(f"ip addr del 10.99.0.250/16 dev {dev}")

    # --- packets, typed on the serial consoles
    with shell(hosts["a1"], "a1") as a1:
        status, out = a1.run("ip -4 -o addr show")
        assert address["a1"] + "/24" in out, out
        status, out = a1.run(f"ping -c 2 -W 2 {address['a2']}")
        assert status == 0, f"a1 cannot reach a2 on their project's network:\n{out}"
        status, out = a1.run(f"ping -c 2 -W 2 {address['b1']}")
        assert status != 0, f"a1 reached b1 of another project:\n{out}"
        isolated_from_boot_server(a1, hosts["a1"].host["dev"])
    with shell(hosts["b1"], "b1") as b1:
        status, out = b1.run("ip -4 -o addr show")
        assert address["b1"] + "/24" in out, out
        dev = hosts["b1"].host["dev"]
        for target in ("a1", "a2"):
            status, out = b1.run(f"ping -c 2 -W 2 {address[target]}")
            assert status != 0, f"b1 reached {target} of another project:\n{out}"
        # with an address on A's subnet too: the VLANs, not routing, keep them apart
        b1.must(f"ip addr add 10.99.81.250/24 dev {dev}")
        for target in ("a1", "a2"):
            status, out = b1.run(f"ping -c 2 -W 2 {address[target]}")
            assert status != 0, f"b1 reached {target} of another project (same subnet):\n{out}"
        b1.must(f"ip addr del 10.99.81.250/24 dev {dev}")
        isolated_from_boot_server(b1, dev)
    with shell(hosts["a2"], "a2") as a2:
        status, out = a2.run(f"ping -c 2 -W 2 {address['a1']}")
        assert status == 0, f"a2 cannot reach a1:\n{out}"
        isolated_from_boot_server(a2, hosts["a2"].host["dev"])

    # --- undeploy: every port back on the provisioning (cleaning) VLAN
    for v in hosts.values():
        ok(http.delete(f"/api/v1/hosts/{v.host['uuid']}"), 202)
    undeploying = time.monotonic()
    for v in hosts.values():
        v.wait("available")
    say(f"three hosts deleted, nodes available in {time.monotonic() - undeploying:.0f} s")
    assert ports_on(lab, prov_vlan) >= taps, "deleted hosts' ports are not back on provisioning"
    assert not ports_on(lab, vlans["a"]) | ports_on(lab, vlans["b"])
    say(f"whole test {time.monotonic() - started:.0f} s")
