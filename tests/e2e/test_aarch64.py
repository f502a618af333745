"""An aarch64 lab VM PXE-boots the aarch64 agent ramdisk, is inspected, cleaned and deployed
(issue #4), beside an x86_64 VM of the same lab and AZ.

`ironworks lab up --nodes 1 --aarch64-nodes 1` gives an x86_64 VM and a QEMU `virt` VM
(cortex-a57, AAVMF UEFI), each behind an emulated IPMI BMC, on one provisioning network;
`ironworks serve --lab NS` serves it with both architectures' ramdisks. Debian ships no arm64 iPXE, so the firmware's PXE gets a GRUB netboot
image (ironworks/builders/grub.py) that loads the node's GRUB configuration from the boot listener
(`/boot/grub/MAC.cfg`) and the aarch64 ramdisk over HTTP. The first test inspects both nodes at
once (cpu_arch aarch64 and x86_64, their memory and CPUs, one AZ); the second cleans the aarch64
one, deploys the aarch64
test OS (an ESP with GRUB and an ext4 root) with a config drive, and waits for the test OS to
print its hostname after booting from the disk.

Under TCG an aarch64 guest is several times slower than an x86_64 one, so these tests run only
when IRONWORKS_E2E_SLOW=1 is set (marked `slow` as well): about three minutes in all. They print
the time of each phase. They use their own lab directory, namespace and BMC ports, two VMs of
1 GiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import serve_directory
from tests.e2e.labkit import lab_up, serve_lab

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.xdist_group("qemu"),  # one VM user at a time
    pytest.mark.skipif(
        os.environ.get("IRONWORKS_E2E_SLOW") != "1",
        reason="aarch64 under TCG takes minutes: set IRONWORKS_E2E_SLOW=1 to run it",
    ),
]

HEADERS = {"X-OpenStack-Ironic-API-Version": "latest"}
QEMU = "qemu-system-aarch64"
MEMORY_MB = 1024
CPUS = 1
DISK_MB = 256
INSPECT_TIMEOUT = 900  # seconds; a TCG aarch64 boot of a 33 MB kernel is slow
WAIT_TIMEOUT = 600  # seconds any agent phase may take
CONSOLE = "IRONWORKS-TEST-OS hostname="
# What the console shows, in order, from power-on to the agent.
MILESTONES = [
    ("GRUB", "Ironworks: GRUB network boot"),
    ("node config", "booting the agent ramdisk"),  # the console wraps at 80 columns
    ("kernel", "Booting Linux on physical CPU"),
    ("/init", "ironworks: ramdisk for aarch64"),
    ("DHCP in the ramdisk", " has 10.99."),
    ("agent", "starting the agent"),
]


@pytest.fixture(scope="module")
def ramdisks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both architectures' ramdisks in one directory, and the arm64 GRUB image beside aarch64's."""
    from ironworks.builders.grub import build_grub
    from ironworks.builders.ramdisk import build_ramdisk
    from ironworks.cmd.ramdisk import _agent_source, cache_dir

    out = tmp_path_factory.mktemp("artefacts") / "ramdisk"
    for arch in ("x86_64", "aarch64"):
        started = time.monotonic()
        r = build_ramdisk(arch, out, _agent_source(), cache_dir=cache_dir())
        print(
            f"\n{arch} ramdisk: kernel {r.kernel_size / 2**20:.1f} MiB, initramfs "
            f"{r.initramfs_size / 2**20:.1f} MiB, {'cached' if r.cached else 'built'} in "
            f"{time.monotonic() - started:.1f} s (the build took {r.build_seconds:.1f} s)"
        )
    g = build_grub("aarch64", out, cache_dir=cache_dir())
    print(
        f"arm64 GRUB netboot image: {g.size / 2**10:.0f} KiB, "
        f"{'cached' if g.cached else 'built'} in {g.seconds:.1f} s"
    )
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if subprocess.run(["which", QEMU], capture_output=True).returncode != 0:
        pytest.skip(f"{QEMU} is not installed (apt-get install qemu-system-arm qemu-efi-aarch64)")
    port = 19000 + (os.getpid() % 1000) * 3
    with lab_up(
        tmp_path_factory.mktemp("lab-a64"),
        f"iwa64{uuidlib.uuid4().hex[:6]}",
        "--nodes",
        "1",
        "--aarch64-nodes",
        "1",
        "--base-port",
        str(port),
        "--memory",
        str(MEMORY_MB),
        "--cpus",
        str(CPUS),
        "--disk-mb",
        str(DISK_MB),
        "--name-prefix",
        "mix-vm-",
    ) as state:
        yield state


@pytest.fixture(scope="module")
def cloud(
    lab: dict[str, Any], ramdisks: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("server-a64")
    waits = {
        "inspect_wait": INSPECT_TIMEOUT,
        "deploy_callback": WAIT_TIMEOUT,
        "clean_callback": WAIT_TIMEOUT,
    }
    with serve_lab(home, lab, ramdisks, waits) as url:
        yield url, home


class LabNode:
    """One of the lab's VMs enrolled in the cloud, with its console."""

    def __init__(self, http: httpx.Client, vm: dict[str, Any]) -> None:
        self.http, self.vm, self.console = http, vm, Path(vm["serial_log"])
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

    def text(self) -> str:
        return self.console.read_bytes().decode(errors="replace") if self.console.exists() else ""

    def tail(self) -> str:
        return "\n".join(self.text().splitlines()[-30:])

    def act(self, target: str, **body: Any) -> None:
        r = self.http.put(
            f"/v1/nodes/{self.uuid}/states/provision", json={"target": target, **body}
        )
        assert r.status_code == 202, r.text

    def expect(
        self, state: str, timeout: float = WAIT_TIMEOUT + 60, seen: dict[str, float] | None = None
    ) -> dict[str, Any]:
        """Wait for `state` (or a failure); `seen` gets the seconds to each console milestone."""
        started, mark = time.monotonic(), len(self.text())
        stop = {state, "deploy failed", "clean failed", "inspect failed", "error"}
        while True:
            node = self.http.get(f"/v1/nodes/{self.uuid}").json()
            if seen is not None:
                text = self.text()[mark:]
                for name, needle in MILESTONES:
                    if name not in seen and needle in text:
                        seen[name] = time.monotonic() - started
            if node["provision_state"] in stop and node["reservation"] is None:
                break
            assert time.monotonic() - started < timeout, (node["provision_state"], self.tail())
            time.sleep(1)
        assert node["provision_state"] == state, (node["last_error"], self.tail())
        node["_seconds"] = time.monotonic() - started
        return node


@pytest.fixture(scope="module")
def http(cloud: tuple[str, Path]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud[0], headers=HEADERS, timeout=30) as client:
        yield client


def _vm(lab: dict[str, Any], arch: str) -> dict[str, Any]:
    return next(vm for vm in lab["vms"] if vm["arch"] == arch)


@pytest.fixture(scope="module")
def node(lab: dict[str, Any], http: httpx.Client) -> LabNode:
    return LabNode(http, _vm(lab, "aarch64"))


@pytest.fixture(scope="module")
def x86(lab: dict[str, Any], http: httpx.Client) -> LabNode:
    return LabNode(http, _vm(lab, "x86_64"))


def test_aarch64_vm_pxe_boots_the_ramdisk_and_is_inspected(
    node: LabNode, x86: LabNode, cloud: tuple[str, Path]
) -> None:
    # the TFTP root has the arm64 boot program and GRUB's configuration naming our listener
    tftp = cloud[1] / "boot" / "tftp"
    assert (tftp / "grubnetaa64.efi").is_file()
    assert "(http,10.99.0.1:8080)/boot/grub/" in (tftp / "grub/grub.cfg").read_text()

    for n in (node, x86):
        n.act("manage")
        n.expect("manageable", 60)
    node.act("inspect")
    x86.act("inspect")  # at the same time, on the same provisioning network
    seen: dict[str, float] = {}
    got = node.expect("manageable", INSPECT_TIMEOUT + 60, seen)
    other = x86.expect("manageable", INSPECT_TIMEOUT)
    print(
        f"\n{x86.vm['name']} (x86_64, TCG): inspected at the same time (done "
        f"{other['_seconds']:.1f} s after the aarch64 VM)"
    )
    assert other["properties"]["cpu_arch"] == "x86_64", other["properties"]
    assert other["properties"]["memory_mb"] == MEMORY_MB
    assert not other["properties"].get("availability_zone")  # one AZ for both
    print(
        f"\n{node.vm['name']} (aarch64, TCG): inspection {got['_seconds']:.1f} s; console, s "
        "after the inspect request: " + ", ".join(f"{k} {v:.1f}" for k, v in seen.items())
    )
    props = got["properties"]
    assert props["cpu_arch"] == "aarch64", props
    assert props["cpus"] == CPUS and props["memory_mb"] == MEMORY_MB, props
    assert props["disks"][0]["size"] == DISK_MB * 2**20, props
    assert not props.get("availability_zone"), props  # the default AZ, as x86_64 nodes get
    text = node.text()
    assert "Ironworks: GRUB network boot" in text and f"Ironworks: node {node.uuid}" in text
    ports = node.http.get("/v1/ports", params={"node_uuid": node.uuid}).json()["ports"]
    assert [p["address"] for p in ports] == [node.vm["mac"]]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The aarch64 test OS (UEFI: ESP with GRUB, ext4 root) on an HTTP server on loopback
    (the conductor fetches it; the node gets it from the boot listener)."""
    from ironworks.builders.testimage import build_test_image
    from ironworks.cmd.ramdisk import cache_dir

    root = tmp_path_factory.mktemp("www-a64")
    started = time.monotonic()
    built = build_test_image(root / "test-os-a64.raw", "aarch64", cache_dir=cache_dir())
    print(
        f"\naarch64 test OS image: {built.size / 2**20:.0f} MiB, "
        f"{'cached' if built.cached else 'built'} in {time.monotonic() - started:.1f} s"
    )

    with serve_directory(root) as url:
        yield f"{url}/{built.path.name}", built.sha256


def test_aarch64_vm_cleans_deploys_and_boots_the_test_os_from_disk(
    node: LabNode, image: tuple[str, str]
) -> None:
    started = time.monotonic()
    # xdist may run another module's QEMU tests between this module's two, which tears the
    # module's lab down and builds a fresh one: this test must not need the inspection's state.
    if node.http.get(f"/v1/nodes/{node.uuid}").json()["provision_state"] == "enroll":
        node.act("manage")
        node.expect("manageable", 60)
    node.act("provide")
    cleaned = node.expect("available")
    r = node.http.patch(
        f"/v1/nodes/{node.uuid}",
        json=[
            {"op": "add", "path": "/instance_info/image_source", "value": image[0]},
            {"op": "add", "path": "/instance_info/image_checksum", "value": image[1]},
        ],
    )
    assert r.status_code == 200, r.text
    mark = len(node.text())
    node.act("active", configdrive={"meta_data": {"hostname": "e2e-arm64"}})
    deployed = node.expect("active")
    first = time.monotonic()
    while CONSOLE + "e2e-arm64" not in node.text()[mark:]:
        assert time.monotonic() - first < 300, node.tail()
        time.sleep(1)
    to_hostname = time.monotonic() - first
    while "IRONWORKS-TEST-OS: first boot reported" not in node.text()[mark:]:
        assert time.monotonic() - first < 300, node.tail()
        time.sleep(1)
    last = node.http.get(f"/v1/nodes/{node.uuid}").json()["driver_internal_info"]["timeline"][-1]
    assert last["phase"] == "first boot" and last["finished"], last
    booted = node.text()[mark:]
    print(
        f"\n{node.vm['name']} (aarch64, TCG): clean {cleaned['_seconds']:.1f} s, deploy "
        f"{deployed['_seconds']:.1f} s, first boot to the hostname line {to_hostname:.1f} s, "
        f"reported {time.monotonic() - first:.1f} s; total {time.monotonic() - started:.1f} s"
    )
    after = booted[booted.rindex(f"Ironworks: node {node.uuid}: booting the agent ramdisk") :]
    assert "marker written on /dev/vda2" in after, node.tail()
    status = json.loads(Path(node.vm["status_file"]).read_text())
    assert status["boot_device"] == "disk"
