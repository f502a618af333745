"""Serial over LAN on an emulated BMC, against a Unix socket standing for the VM's serial port.

The BMC runs in a shard process (`ironworks.lab.fleet.Fleet`) exactly as `ironworks lab bmc`
serves it; ipmitool runs in a pseudo-terminal, as an operator would run it. The test's socket
plays the machine: what it writes must reach ipmitool's terminal, what is typed into ipmitool
must reach it.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.test_ipmi import free_udp_ports

pytest.importorskip("pyghmi", reason="the lab BMCs need pyghmi")
IPMITOOL = shutil.which("ipmitool")
USER, PASSWORD = "admin", "s3cret"


class Serial:
    """The machine's end of its serial port: it connects to the UART socket the BMC listens on
    when it "powers on" (`connect`), and goes away at "power off" (`disconnect`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn: socket.socket | None = None

    def connect(self, timeout: float = 20.0) -> socket.socket:
        self.disconnect()
        self.conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.conn.settimeout(timeout)
        self.conn.connect(str(self.path))
        return self.conn

    def read_until(self, needle: bytes, timeout: float = 20.0) -> bytes:
        assert self.conn is not None
        got = b""
        deadline = time.monotonic() + timeout
        while needle not in got and time.monotonic() < deadline:
            chunk = self.conn.recv(4096)
            if not chunk:
                break
            got += chunk
        return got

    def disconnect(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@pytest.fixture(scope="module")
def bmc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Serial]]:
    from ironworks.lab.fleet import Fleet
    from ironworks.lab.spec import BmcSpec

    serial = Serial(tmp_path_factory.mktemp("sol") / "serial.sock")
    (port,) = free_udp_ports(1)
    spec = BmcSpec(
        name="sol",
        address="127.0.0.1",
        port=port,
        username=USER,
        password=PASSWORD,
        serial=str(serial.path),
    )
    with Fleet([spec], shard_size=1):
        yield port, serial
    serial.disconnect()


def read_pty(fd: int, needle: bytes, timeout: float = 20.0) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while needle not in got and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child's end closed
                break
            if not chunk:
                break
            got += chunk
    return got


def ipmitool(port: int, *args: str) -> list[str]:
    assert IPMITOOL is not None
    return [
        IPMITOOL,
        "-I",
        "lanplus",
        "-H",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        USER,
        "-P",
        PASSWORD,
        *args,
    ]


@dataclass
class Sol:
    """`ipmitool sol activate` on a pseudo-terminal: `fd` is the terminal, `status` its exit."""

    fd: int
    status: int | None = None


@contextlib.contextmanager
def sol_activate(port: int, serial: Serial) -> Iterator[tuple[Sol, socket.socket]]:
    """ipmitool's SOL session with the machine on (connected to its UART), up; at the end
    `~.` leaves it and the machine goes off."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: ipmitool on the pseudo-terminal
        os.execv(IPMITOOL, ipmitool(port, "sol", "activate"))  # type: ignore[arg-type]
    sol = Sol(fd)
    try:
        conn = serial.connect()
        assert b"SOL Session operational" in read_pty(fd, b"operational")
        yield sol, conn
        os.write(fd, b"\r~.")  # ipmitool's escape: leave and deactivate
        read_pty(fd, b"terminated")
    finally:
        _, status = os.waitpid(pid, 0)
        sol.status = os.waitstatus_to_exitcode(status)
        os.close(fd)
        serial.disconnect()


@pytest.mark.skipif(IPMITOOL is None, reason="ipmitool is not installed")
def test_ipmitool_sol_activate_carries_bytes_both_ways(bmc: tuple[int, Serial]) -> None:
    port, serial = bmc
    with sol_activate(port, serial) as (sol, machine):
        machine.sendall(b"lab-vm login: ")
        assert b"lab-vm login: " in read_pty(sol.fd, b"login: ")
        os.write(sol.fd, b"root\r")
        assert b"root\r" in serial.read_until(b"\r")
        machine.sendall(b"\r\nroot@lab-vm:~# ")
        assert b"root@lab-vm:~# " in read_pty(sol.fd, b"# ")
    assert sol.status == 0
    # deactivated: a new session can activate; SOL is still on
    out = subprocess.run(
        ipmitool(port, "sol", "info"), capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "Enabled" in out and "true" in out


@pytest.mark.skipif(IPMITOOL is None, reason="ipmitool is not installed")
def test_second_activation_is_refused_while_one_is_active(bmc: tuple[int, Serial]) -> None:
    port, serial = bmc
    with sol_activate(port, serial) as (sol, machine):
        machine.sendall(b"first viewer")
        assert b"first viewer" in read_pty(sol.fd, b"viewer")
        second = subprocess.run(
            ipmitool(port, "sol", "activate"),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert second.returncode != 0
        assert "already active" in (second.stdout + second.stderr).lower()
        # the first session is untouched by the refusal
        machine.sendall(b"still here")
        assert b"still here" in read_pty(sol.fd, b"here")


@pytest.mark.skipif(IPMITOOL is None, reason="ipmitool is not installed")
def test_the_session_outlives_a_power_cycle_of_the_machine(bmc: tuple[int, Serial]) -> None:
    """Like a real BMC's: the machine's serial end goes away (QEMU stops at power-off) and
    comes back (power-on); the SOL session stays and shows the new boot."""
    port, serial = bmc
    with sol_activate(port, serial) as (sol, machine):
        machine.sendall(b"first boot")
        assert b"first boot" in read_pty(sol.fd, b"boot")
        serial.disconnect()  # power off
        machine = serial.connect()  # power on: the machine connects to its UART again
        machine.sendall(b"second boot")
        assert b"second boot" in read_pty(sol.fd, b"second boot")
        os.write(sol.fd, b"x")
        assert serial.read_until(b"x") == b"x"
