"""`ironworks lab up/status/down` with a real QEMU VM, driven by ipmitool through its BMC.

Each test runs its own lab (own directory, namespace and BMC port) and tears it down even when
it fails; at most one QEMU runs at a time. The safety check: the root namespace gains no
interface and no 10.99 address, before, during and after.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("qemu")]  # one VM user at a time


def run(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=timeout)


def root_links() -> list[str]:
    """Names of the root namespace's interfaces."""
    return sorted(link["ifname"] for link in json_of("ip", "-j", "link", "show"))


def json_of(*args: str) -> Any:
    return json.loads(run(*args).stdout or "[]")


def root_has_lab_address() -> bool:
    return "10.99." in run("ip", "-o", "addr", "show").stdout


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass
class Lab:
    directory: Path
    namespace: str
    port: int

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        opts = ["--dir", str(self.directory)]
        if args[0] in ("up", "down"):
            opts += ["--namespace", self.namespace]
        if args[0] == "up":
            opts += ["--base-port", str(self.port), "--memory", "256"]
        return run(sys.executable, "-m", "ironworks.cmd.main", "lab", *args, *opts, check=check)

    def ipmi(self, *args: str) -> str:
        return run(
            "ipmitool",
            "-I",
            "lanplus",
            "-H",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "admin",
            "-P",
            "password",
            *args,
        ).stdout.strip()

    def status(self) -> dict[str, Any]:
        return json.loads(self.cli("status", "--json").stdout)

    def vm(self) -> dict[str, Any]:
        return self.status()["vms"][0]


@pytest.fixture
def lab() -> Iterator[Lab]:
    directory = Path(tempfile.mkdtemp(prefix="iwe2e-"))
    lab = Lab(directory, f"iwe2e{os.getpid() % 100000}", free_udp_port())
    links_before = root_links()
    assert not root_has_lab_address()
    try:
        yield lab
    finally:
        lab.cli("down", check=False)
        leftovers = [p for p in run("pgrep", "-f", str(directory), check=False).stdout.split()]
        for pid in leftovers:  # never expected; a failing test must not leave QEMU running
            os.kill(int(pid), signal.SIGKILL)
        if lab.namespace in run("ip", "netns", "list").stdout:
            run("ip", "netns", "del", lab.namespace, check=False)
        shutil.rmtree(directory, ignore_errors=True)
        assert not leftovers, f"processes left behind: {leftovers}"
        assert root_links() == links_before
        assert not root_has_lab_address()


def test_one_vm_powered_by_ipmi_boots_pxe_in_its_namespace(lab: Lab) -> None:
    links_before = root_links()
    t0 = time.monotonic()
    up = lab.cli("up", "--nodes", "1")
    lines = up.stdout.strip().splitlines()
    assert lines[0] == "name,driver,bmc_address,bmc_port,bmc_username,bmc_password,macs"
    assert lines[1] == f"lab-vm-0000,ipmi,127.0.0.1,{lab.port},admin,password,52:54:00:99:00:00"
    st = lab.status()
    assert st["bmc_alive"] and st["namespace_exists"] and st["namespace"] == lab.namespace
    bmc_pid = st["bmc_pid"]

    # the provisioning network is inside the namespace, the tap on the bridge
    links = {x["ifname"]: x for x in json_of("ip", "-n", lab.namespace, "-j", "link", "show")}
    assert links["iwtap0"].get("master") == "iwbr0"
    addrs = run("ip", "-n", lab.namespace, "-o", "addr", "show", "dev", "iwbr0").stdout
    assert "10.99.0.1/16" in addrs
    assert root_links() == links_before and not root_has_lab_address()
    # the namespace is the lab switch: the bridge is its provisioning VLAN, sshd runs inside
    switch = st["switch"]
    assert switch["sshd_alive"] and switch["provisioning_vlan"] == 1
    on_vlan = json_of("ip", "-n", lab.namespace, "-j", "link", "show", "master", "br-vlan1")
    assert [x["ifname"] for x in on_vlan] == ["iwtap0"]
    sshd = switch["sshd_pid"]
    assert str(sshd) in run("ip", "netns", "pids", lab.namespace).stdout.split()

    # ipmitool drives the VM: off → bootdev pxe → on starts QEMU in the namespace
    assert lab.ipmi("chassis", "power", "status") == "Chassis Power is off"
    lab.ipmi("chassis", "bootdev", "pxe")
    lab.ipmi("chassis", "power", "on")
    assert lab.ipmi("chassis", "power", "status") == "Chassis Power is on"
    vm = lab.vm()
    assert vm["power"] == "on" and vm["last_boot"] == "pxe" and vm["boot_device"] is None
    pid = vm["pid"]
    assert str(pid) in run("ip", "netns", "pids", lab.namespace).stdout.split()
    assert any(
        a.startswith("file=" + vm["disk"])
        for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    )

    # no DHCP server: the firmware and iPXE print on the serial log, which keeps growing
    log = Path(vm["serial_log"])
    wait_for("iPXE on the serial console", lambda: b"iPXE" in log.read_bytes(), 60)
    size = log.stat().st_size
    wait_for("more serial output", lambda: log.stat().st_size > size, 30)
    assert b"SeaBIOS" in log.read_bytes()
    assert root_links() == links_before and not root_has_lab_address()

    # power off kills QEMU; the log survives and the next power-on appends to it
    lab.ipmi("chassis", "power", "off")
    assert lab.ipmi("chassis", "power", "status") == "Chassis Power is off"
    assert not alive(pid) and lab.vm()["power"] == "off"
    assert run("ip", "netns", "pids", lab.namespace).stdout.split() == [str(sshd)]  # no QEMU
    lab.ipmi("chassis", "bootdev", "disk", "options=persistent")
    lab.ipmi("chassis", "power", "on")
    wait_for("a second boot in the same log", lambda: log.read_bytes().count(b"SeaBIOS") >= 2, 30)
    assert b"iPXE" in log.read_bytes()  # the first boot's output is still there
    vm = lab.vm()
    assert vm["power"] == "on" and vm["boot_device"] == "disk" and vm["persistent"]
    qemu_pid = vm["pid"]

    # down with the VM on: no namespace, no tap, no process; twice is fine
    down = lab.cli("down")
    assert "removed namespace" in down.stdout
    assert lab.namespace not in run("ip", "netns", "list").stdout
    assert not alive(qemu_pid) and not alive(bmc_pid) and not alive(sshd)
    assert "nothing to do" in lab.cli("down").stdout
    assert lab.cli("status", check=False).returncode != 0
    assert root_links() == links_before and not root_has_lab_address()
    print(f"one-VM lab cycle took {time.monotonic() - t0:.1f} s")


def test_a_vm_without_pxe_never_boots_and_down_survives_a_dead_bmc(lab: Lab) -> None:
    lab.cli("up", "--nodes", "1", "--no-pxe", "lab-vm-0000")
    links = {x["ifname"]: x for x in json_of("ip", "-n", lab.namespace, "-j", "link", "show")}
    assert links["iwtap0"].get("master") is None  # unplugged
    lab.ipmi("chassis", "bootdev", "pxe")
    lab.ipmi("chassis", "power", "on")
    vm = lab.vm()
    log = Path(vm["serial_log"])
    wait_for("'No bootable device'", lambda: b"No bootable device" in log.read_bytes(), 60)
    assert b"iPXE" not in log.read_bytes()

    # the BMC process dies; `lab down` still finds its QEMU (by PID and by disk) and kills it
    os.kill(lab.status()["bmc_pid"], signal.SIGKILL)
    wait_for("the BMC process to go", lambda: not lab.status()["bmc_alive"], 10)
    assert alive(vm["pid"])
    down = lab.cli("down").stdout
    assert f"killed QEMU {vm['pid']}" in down and "removed namespace" in down
    assert not alive(vm["pid"])
    assert lab.namespace not in run("ip", "netns", "list").stdout


def test_sol_shows_the_vm_boot_and_types_into_its_firmware(lab: Lab) -> None:
    """`ipmitool sol activate` against the lab BMC shows the VM's serial console: activated
    while the VM is off, it shows SeaBIOS and iPXE from power-on; Ctrl-B typed through SOL
    opens iPXE's shell, which echoes what is typed and answers."""
    import pty

    from tests.integration.test_sol import read_pty

    lab.cli("up", "--nodes", "1")
    lab.ipmi("chassis", "bootdev", "pxe")
    argv = ["ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", str(lab.port)]
    argv += ["-U", "admin", "-P", "password", "sol", "activate"]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("ipmitool", argv)
    try:
        assert b"SOL Session operational" in read_pty(fd, b"operational", timeout=30)
        lab.ipmi("chassis", "power", "on")
        seen = read_pty(fd, b"iPXE", timeout=120)
        assert b"SeaBIOS" in seen and b"iPXE" in seen, seen[-2000:]
        shell = b""
        deadline = time.monotonic() + 120
        while b"iPXE>" not in shell and time.monotonic() < deadline:
            os.write(fd, b"\x02")  # Ctrl-B, until iPXE offers its command line
            shell += read_pty(fd, b"iPXE>", timeout=0.5)
        assert b"iPXE>" in shell, shell[-2000:]
        # typed as a person types: firmware polls its UART, and a burst faster than it polls
        # overruns the 16-byte FIFO (on hardware as in QEMU: pasting into firmware loses bytes)
        for key in b"echo hello-from-sol\r":
            os.write(fd, bytes([key]))
            time.sleep(0.05)
        # the typed line comes back first ("echo hello-from-sol"), then the command's output:
        # read until both lines are there, not only the first
        echoed = b""
        deadline = time.monotonic() + 30
        while echoed.count(b"hello-from-sol\r\n") < 2 and time.monotonic() < deadline:
            echoed += read_pty(fd, b"\n", timeout=1)
        assert b"echo hello-from-sol" in echoed  # iPXE echoed the typing ...
        assert echoed.count(b"hello-from-sol") >= 2, echoed  # ... and ran the command
        os.write(fd, b"\r~.")
        read_pty(fd, b"terminated", timeout=30)
    finally:
        os.kill(pid, signal.SIGTERM) if alive(pid) else None
        os.waitpid(pid, 0)
        os.close(fd)
    assert b"SeaBIOS" in Path(lab.vm()["serial_log"]).read_bytes()  # the log is kept as well
