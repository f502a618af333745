"""Real provisioning on QEMU VMs: PXE → agent ramdisk → image on disk → boot from disk.

`ironworks lab up` builds the virtual datacenter in its own network namespace (a bridge, three
TCG VMs behind emulated IPMI BMCs on loopback); `ironworks serve --lab NS` serves its
provisioning network from inside that namespace (dnsmasq, the boot listener); the agent ramdisk
and the test OS image are built from Debian packages by `ironworks/builders` (cached between runs).
The test OS prints its config drive's hostname on the serial console and writes a marker file.

The tests share one lab and one server but each owns its VMs, so they run in any order: the
first walks one VM through its whole life (lab-vm-0000), the second deploys two VMs at once
(0001, 0002), the third the failures (0003 has no PXE ROM and no cable; 0004), the fourth
deploys through OpenStack's `baremetal` CLI (0005), the fifth logs in on the deployed OS's serial
console through SOL, the API's WebSocket and `ironworks node console` (0006). Each prints the
duration of every phase.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import serve_directory
from tests.e2e.labkit import SWITCH, lab_up, lldp_switch, serve_lab, x86_artefacts

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("qemu")]  # one VM user at a time

BAREMETAL = Path(sys.executable).with_name("baremetal")
HEADERS = {"X-OpenStack-Ironic-API-Version": "latest"}
WAIT_TIMEOUT = 90  # seconds a node may wait for its agent (the never-booting VM costs this)
VM_DISK_MB = 256
CONSOLE = "IRONWORKS-TEST-OS hostname="


# --- the datacenter -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return x86_artefacts(tmp_path_factory.mktemp("artefacts"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    port = 17000 + (os.getpid() % 1000) * 7
    with lab_up(
        tmp_path_factory.mktemp("lab"),
        f"iwe2e{uuidlib.uuid4().hex[:6]}",
        "--nodes",
        "7",
        "--base-port",
        str(port),
        "--memory",
        "512",
        "--disk-mb",
        str(VM_DISK_MB),
        "--no-pxe",
        "lab-vm-0003",
    ) as state:
        yield state


@pytest.fixture(scope="module")
def www(artefacts: dict[str, Path]) -> Iterator[str]:
    """The image server: plain HTTP on loopback (the conductor fetches; nodes never see it)."""
    with serve_directory(artefacts["www"]) as url:
        yield url


@pytest.fixture(scope="module")
def cloud(
    lab: dict[str, Any], artefacts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    waits = ("deploy_callback", "clean_callback", "inspect_wait")
    # inspection listens 3 s for the lab switch's LLDP (it sends every second)
    with (
        lldp_switch(lab),
        serve_lab(
            tmp_path_factory.mktemp("server"),
            lab,
            artefacts["ramdisk"],
            dict.fromkeys(waits, WAIT_TIMEOUT),
            BOOT__LLDP_WAIT="3",
        ) as url,
    ):
        yield url


# --- helpers ----------------------------------------------------------------------------------------


class Node:
    """One lab VM enrolled in the cloud, with its console."""

    def __init__(self, http: httpx.Client, vm: dict[str, Any]) -> None:
        self.http, self.vm = http, vm
        self.console = Path(vm["serial_log"])
        r = http.post(
            "/v1/nodes",
            json={
                "name": vm["name"],
                "driver": "ipmi",
                "driver_info": {
                    "ipmi_address": vm["bmc_address"],
                    "ipmi_port": vm["bmc_port"],
                    "ipmi_username": "admin",
                    "ipmi_password": "password",
                },
            },
        )
        assert r.status_code == 201, r.text
        self.uuid = r.json()["uuid"]
        r = http.post("/v1/ports", json={"node_uuid": self.uuid, "address": vm["mac"]})
        assert r.status_code == 201, r.text

    def get(self) -> dict[str, Any]:
        return self.http.get(f"/v1/nodes/{self.uuid}").json()

    def act(self, target: str, **body: Any) -> None:
        r = self.http.put(
            f"/v1/nodes/{self.uuid}/states/provision", json={"target": target, **body}
        )
        assert r.status_code == 202, r.text

    def settle(self, *states: str, timeout: float = WAIT_TIMEOUT + 60) -> dict[str, Any]:
        """Wait for a stable or failed state; returns the node and prints how long it took."""
        started = time.monotonic()
        stop = {*states, "deploy failed", "clean failed", "inspect failed", "error"}
        while True:
            node = self.get()
            if node["provision_state"] in stop and node["reservation"] is None:
                break
            assert time.monotonic() - started < timeout, (node["provision_state"], self.tail())
            time.sleep(1)
        node["_seconds"] = time.monotonic() - started
        return node

    def expect(self, state: str, what: str) -> dict[str, Any]:
        node = self.settle(state)
        assert node["provision_state"] == state, (node["last_error"], self.tail())
        print(f"{self.vm['name']}: {what}: {node['_seconds']:.1f} s")
        return node

    def make_available(self) -> None:
        """enroll -> manageable -> available, without cleaning (the test of cleaning is the
        lifecycle test's): every test but that one owns VMs that need only to be deployable."""
        r = self.http.patch(
            f"/v1/nodes/{self.uuid}",
            json=[{"op": "replace", "path": "/automated_clean", "value": False}],
        )
        assert r.status_code == 200, r.text
        self.act("manage")
        self.expect("manageable", "manage")
        self.act("provide")
        self.expect("available", "provide (no cleaning)")

    def console_text(self) -> str:
        return self.console.read_bytes().decode(errors="replace")

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.console_text().splitlines()[-lines:])

    def wait_console(self, needle: str, after: int, timeout: float = 120) -> float:
        started = time.monotonic()
        while needle not in self.console_text()[after:]:
            assert time.monotonic() - started < timeout, (needle, self.tail())
            time.sleep(0.5)
        return time.monotonic() - started

    def timeline(self) -> str:
        from datetime import datetime

        parts = []
        for p in self.get()["driver_internal_info"].get("timeline", []):
            if p.get("finished"):
                took = (
                    datetime.fromisoformat(p["finished"]) - datetime.fromisoformat(p["started"])
                ).total_seconds()
                parts.append(f"{p['phase']} {took:.1f} s")
        return ", ".join(parts)

    def set_image(self, url: str, checksum: str) -> None:
        r = self.http.patch(
            f"/v1/nodes/{self.uuid}",
            json=[
                {"op": "add", "path": "/instance_info/image_source", "value": url},
                {"op": "add", "path": "/instance_info/image_checksum", "value": checksum},
            ],
        )
        assert r.status_code == 200, r.text


def ext4_and_mbr(disk: Path) -> tuple[bool, bool]:
    """(an MBR signature, an ext4 superblock at 1 MiB) on a VM's disk file."""
    with disk.open("rb") as f:
        mbr = f.read(512)
        f.seek(1024 * 1024 + 1024 + 56)
        magic = f.read(2)
    return mbr[510:512] == b"\x55\xaa", magic == b"\x53\xef"


@pytest.fixture(scope="module")
def http(cloud: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud, headers=HEADERS, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def nodes(http: httpx.Client, lab: dict[str, Any]) -> dict[str, Node]:
    return {vm["name"]: Node(http, vm) for vm in lab["vms"]}


@pytest.fixture(scope="module")
def image(www: str, artefacts: dict[str, Path]) -> tuple[str, str]:
    data = artefacts["image"].read_bytes()
    return f"{www}/{artefacts['image'].name}", hashlib.sha256(data).hexdigest()


# --- the tests ----------------------------------------------------------------------------------------


def test_one_vm_inspect_clean_deploy_undeploy_redeploy(
    nodes: dict[str, Node], image: tuple[str, str]
) -> None:
    n = nodes["lab-vm-0000"]
    n.act("manage")
    n.expect("manageable", "manage (BMC verified)")

    n.act("inspect")
    node = n.expect("manageable", "inspect (PXE, ramdisk, inventory)")
    props = node["properties"]
    assert props["cpu_arch"] == "x86_64" and props["cpus"] == 1 and props["memory_mb"] == 512
    assert props["disks"][0]["size"] == VM_DISK_MB * 2**20
    assert "Ironworks: node " + n.uuid in n.console_text()  # our iPXE script ran
    # the switch port it is cabled to, from the lab switch's LLDP
    (port,) = n.http.get("/v1/ports/detail", params={"node_uuid": n.uuid}).json()["ports"]
    llc = port["local_link_connection"]
    assert llc["port_id"] == "iwtap0" and llc.get("switch_info") == SWITCH, llc
    assert llc["switch_id"], llc  # the switch's chassis MAC

    n.act("provide")
    n.expect("available", "clean (metadata erase)")

    n.set_image(*image)
    mark = len(n.console_text())
    n.act("active", configdrive={"meta_data": {"hostname": "e2e-one"}})
    n.expect("active", "deploy")
    first_boot = n.wait_console(CONSOLE + "e2e-one", mark)
    # the test OS reports its first boot to the config drive's URL: the timeline's last phase
    n.wait_console("IRONWORKS-TEST-OS: first boot reported", mark, timeout=60)
    last = n.get()["driver_internal_info"]["timeline"][-1]
    assert last["phase"] == "first boot" and last["finished"], last
    print(
        f"lab-vm-0000: deploy phases: {n.timeline()}; first boot to the hostname line "
        f"{first_boot:.1f} s"
    )
    booted = n.console_text()[mark:]
    after_deploy = booted[booted.index("booting the agent ramdisk") :]
    assert "booting the agent ramdisk" not in after_deploy[30:], "it PXE-booted the ramdisk again"
    assert "marker written on /dev/vda1" in after_deploy
    status = json.loads(Path(n.vm["status_file"]).read_text())
    assert status["boot_device"] == "disk" and status.get("persistent", True)

    n.act("deleted")
    n.expect("available", "undeploy and clean")
    has_mbr, has_ext4 = ext4_and_mbr(Path(n.vm["disk"]))
    assert not has_mbr and not has_ext4, "cleaning left the partition table or the filesystem"

    assert "image_source" not in n.get()["instance_info"]  # undeploy forgets the instance
    n.set_image(*image)
    mark = len(n.console_text())
    n.act("active", configdrive={"meta_data": {"hostname": "e2e-again"}})
    n.expect("active", "deploy again")
    n.wait_console(CONSOLE + "e2e-again", mark)
    print(f"lab-vm-0000: second deploy phases: {n.timeline()}")


def test_two_vms_deploy_at_the_same_time(nodes: dict[str, Node], image: tuple[str, str]) -> None:
    a, b = nodes["lab-vm-0001"], nodes["lab-vm-0002"]
    for n in (a, b):
        n.make_available()
        n.set_image(*image)
    marks = {a: len(a.console_text()), b: len(b.console_text())}
    started = time.monotonic()
    a.act("active", configdrive={"meta_data": {"hostname": "pair-a"}})
    b.act("active", configdrive={"meta_data": {"hostname": "pair-b"}})
    for n in (a, b):
        n.expect("active", "deploy (two at once)")
    for n, name in ((a, "pair-a"), (b, "pair-b")):
        n.wait_console(CONSOLE + name, marks[n])
        print(f"{n.vm['name']}: phases: {n.timeline()}")
    print(f"two VMs deployed and booted in {time.monotonic() - started:.1f} s")


def test_failures_end_in_deploy_failed_naming_the_cause(
    nodes: dict[str, Node], image: tuple[str, str], artefacts: dict[str, Path], www: str
) -> None:
    dead, small = nodes["lab-vm-0003"], nodes["lab-vm-0004"]
    # A broken checksum: refused before the node is even booted.
    dead.make_available()
    dead.set_image(image[0], "0" * 64)
    dead.act("active")
    node = dead.settle("active")
    assert node["provision_state"] == "deploy failed"
    assert "checksum mismatch" in node["last_error"], node["last_error"]
    print(f"broken checksum: deploy failed in {node['_seconds']:.1f} s: {node['last_error']}")

    # A VM that never boots (no PXE ROM, no cable): the wait for its agent times out.
    dead.set_image(*image)
    dead.act("active")

    # A disk too small for the image: the agent refuses before writing.
    big = artefacts["www"] / "too-big.raw"
    with big.open("wb") as f:
        f.truncate((VM_DISK_MB + 64) * 2**20)
    small.make_available()
    small.set_image(f"{www}/too-big.raw", hashlib.sha256(big.read_bytes()).hexdigest())
    small.act("active")
    node = small.settle("active")
    assert node["provision_state"] == "deploy failed"
    assert "write_image failed" in node["last_error"] and "bytes" in node["last_error"]
    print(f"disk too small: deploy failed in {node['_seconds']:.1f} s: {node['last_error'][:160]}")

    node = dead.settle("active")
    assert node["provision_state"] == "deploy failed"
    assert f"timed out after {WAIT_TIMEOUT} s in 'wait call-back'" in node["last_error"]
    assert "boot ramdisk" in node["last_error"] and "never called back" in node["last_error"]
    print(f"never boots: deploy failed after {node['_seconds']:.1f} s: {node['last_error']}")


def test_deploy_driven_by_the_baremetal_cli(
    nodes: dict[str, Node], image: tuple[str, str], cloud: str
) -> None:
    if not BAREMETAL.exists():
        pytest.skip(f"{BAREMETAL} is not installed")
    n = nodes["lab-vm-0005"]
    n.make_available()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}

    def baremetal(*args: str, timeout: float = 400) -> str:
        cmd = [str(BAREMETAL), "--os-endpoint", cloud, "--os-auth-type", "none", *args]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        assert done.returncode == 0, (cmd, done.stdout, done.stderr)
        return done.stdout

    url, checksum = image
    baremetal(
        "node",
        "set",
        n.uuid,
        "--instance-info",
        f"image_source={url}",
        "--instance-info",
        f"image_checksum={checksum}",
    )
    drive = json.dumps({"meta_data": {"hostname": "via-baremetal"}})
    mark = len(n.console_text())
    started = time.monotonic()
    baremetal("node", "deploy", n.uuid, "--config-drive", drive, "--wait", "300")
    assert n.get()["provision_state"] == "active"
    n.wait_console(CONSOLE + "via-baremetal", mark)
    print(f"baremetal node deploy --wait: {time.monotonic() - started:.1f} s; {n.timeline()}")


def test_the_serial_console_of_a_deployed_vm(
    nodes: dict[str, Node], image: tuple[str, str], cloud: str
) -> None:
    """The deployed test OS's shell on its serial console: SOL from the lab BMC, bridged to the
    API's WebSocket (Ironic's states/console), then `ironworks node console` in a terminal."""
    import pty

    from websockets.sync.client import connect

    from tests.integration.test_sol import read_pty

    n = nodes["lab-vm-0006"]
    n.make_available()
    n.set_image(*image)
    mark = len(n.console_text())
    n.act("active", configdrive={"meta_data": {"hostname": "e2e-console"}})
    n.expect("active", "deploy")
    n.wait_console(CONSOLE + "e2e-console", mark)
    n.wait_console("IRONWORKS-TEST-OS: shell on the console", mark, timeout=120)

    path = f"/v1/nodes/{n.uuid}/states/console"
    assert n.http.put(path, json={"enabled": True}).status_code == 202
    url = n.http.get(path).json()["console_info"]["url"]

    def typed(ws: Any, keys: bytes) -> None:
        for key in keys:  # as a person types (docs/lab.md: a burst overruns the UART)
            ws.send(bytes([key]))
            time.sleep(0.05)

    def until(ws: Any, needle: bytes) -> bytes:
        got = b""
        deadline = time.monotonic() + 60
        while needle not in got and time.monotonic() < deadline:
            frame = ws.recv(timeout=60)
            if isinstance(frame, bytes):
                got += frame
        return got

    with connect(url, open_timeout=60) as ws:
        hello = json.loads(ws.recv(timeout=60))
        assert hello["mode"] == "read-write", hello
        typed(ws, b"\r")
        assert b"e2e-console:/# " in until(ws, b"e2e-console:/# ")  # the hostname and prompt
        typed(ws, b"cat /proc/sys/kernel/hostname; echo done-$((6*7))\r")
        out = until(ws, b"done-42")
        assert b"e2e-console\r\n" in out and b"done-42" in out, out

    # the CLI through a pseudo-terminal, as an operator runs it
    argv = [sys.executable, "-m", "ironworks.cmd.main", "node", "console", n.uuid]
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [*argv, "--url", cloud], {**os.environ, "IRONWORKS_LANG": "en"})
    try:
        assert b"you can type" in read_pty(fd, b"you can type", timeout=60)
        for key in b"\recho cli-$((6*7))\r":
            os.write(fd, bytes([key]))
            time.sleep(0.05)
        assert b"cli-42" in read_pty(fd, b"cli-42\r\n", timeout=60)
        os.write(fd, b"\r~.")
        assert b"leaving the console" in read_pty(fd, b"leaving", timeout=30)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
