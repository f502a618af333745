"""End-to-end tests: real images booted in QEMU (TCG). They run only as root with
qemu-system-x86_64 installed; every VM has `-nic none` (no network reaches the machine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

QEMU = "qemu-system-x86_64"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    why = None
    if os.geteuid() != 0:
        why = "e2e tests need root (loop devices, mount)"
    elif shutil.which(QEMU) is None:
        why = f"e2e tests need {QEMU}"
    if why is None:
        return
    skip = pytest.mark.skip(reason=why)
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def build_cache() -> Path:
    """The builders' cache, shared with `ironworks ramdisk build`: CI pays for a build once."""
    from ironworks.cmd.ramdisk import cache_dir

    return cache_dir()


class Console:
    """A QEMU serial log that a test waits on."""

    def __init__(self, path: Path, proc: subprocess.Popen[bytes]) -> None:
        self.path, self.proc, self.started = path, proc, time.monotonic()

    def text(self) -> str:
        return self.path.read_bytes().decode(errors="replace") if self.path.exists() else ""

    def wait_for(self, needle: str, timeout: float = 120) -> float:
        """Seconds since QEMU started until `needle` appeared on the console."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return time.monotonic() - self.started
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        tail = "\n".join(self.text().splitlines()[-30:])
        raise AssertionError(f"{needle!r} not on the console within {timeout} s:\n{tail}")


@pytest.fixture
def qemu(tmp_path: Path) -> Iterator[object]:
    """qemu(*args) starts one TCG VM (256 MiB, no NIC, serial to a file); stopped at teardown."""
    procs: list[subprocess.Popen[bytes]] = []
    sercon = tmp_path / "sercon-port"
    sercon.write_bytes(b"\xf8\x03")  # SeaBIOS and SYSLINUX print on COM1 with -vga none

    def start(*args: str) -> Console:
        log = tmp_path / f"serial-{len(procs)}.log"
        cmd = [
            QEMU,
            "-accel",
            "tcg",
            "-m",
            "256",
            "-display",
            "none",
            "-vga",
            "none",
            "-monitor",
            "none",
            "-nic",
            "none",
            "-serial",
            f"file:{log}",
            "-fw_cfg",
            f"name=etc/sercon-port,file={sercon}",
            *args,
        ]
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        procs.append(proc)
        return Console(log, proc)

    yield start
    for p in procs:
        p.kill()
        p.wait(10)
