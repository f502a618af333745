"""The test OS image and the agent ramdisk, built from Debian packages and booted in QEMU."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ironworks.builders import testimage
from ironworks.builders.ramdisk import build_ramdisk

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("qemu")]  # one VM user at a time
AGENT_SRC = Path(__file__).resolve().parents[2] / "ironworks_agent"


def test_test_image_boots_and_reads_its_config_drive(
    tmp_path: Path, build_cache: Path, qemu: Any
) -> None:
    built = testimage.build_test_image(tmp_path / "os.raw", cache_dir=build_cache)
    assert built.size == 64 * 1024 * 1024 and len(built.sha256) == 64
    again = testimage.build_test_image(tmp_path / "again.raw", cache_dir=build_cache)
    assert again.cached and again.sha256 == built.sha256
    # as after a deploy: the image on a larger disk, the config drive behind it
    disk = tmp_path / "disk.raw"
    shutil.copyfile(built.path, disk)
    offset = testimage.attach_config_drive(disk, {"hostname": "e2e-node-1", "uuid": "x"})
    assert offset == 64 * 1024 * 1024

    console = qemu("-drive", f"file={disk},format=raw,if=virtio,cache=unsafe", "-boot", "c")
    console.wait_for("IRONWORKS-TEST-OS hostname=e2e-node-1", timeout=120)
    seconds = console.wait_for("IRONWORKS-TEST-OS booted", timeout=30)
    assert "marker written on /dev/vda1" in console.text()
    print(f"test OS: hostname line after {seconds:.1f} s")
    console.proc.kill()
    console.proc.wait(10)
    marker = subprocess.run(
        ["debugfs", "-R", "cat /ironworks-marker", f"{disk}?offset=1048576"],
        capture_output=True,
        text=True,
        check=False,
    )
    if marker.returncode == 0 and "debugfs" not in marker.stdout:
        assert "hostname=e2e-node-1" in marker.stdout


def test_ramdisk_runs_init_and_starts_the_agent(
    tmp_path: Path, build_cache: Path, qemu: Any
) -> None:
    r = build_ramdisk("x86_64", tmp_path / "ramdisk", AGENT_SRC, cache_dir=build_cache)
    assert r.initramfs == tmp_path / "ramdisk/x86_64/initramfs" and r.initramfs_size > 1_000_000
    assert "virtio_net.ko" in r.modules and "ext4.ko" in r.modules
    cmdline = (
        "console=ttyS0 ironworks.api=http://127.0.0.1:9 ironworks.node=e2e "
        "BOOTIF=01-52-54-00-12-34-56"
    )
    console = qemu("-kernel", str(r.kernel), "-initrd", str(r.initramfs), "-append", cmdline)
    console.wait_for("ironworks: ramdisk for x86_64", timeout=90)
    started = console.wait_for("starting the agent: python3 -m ironworks_agent", timeout=90)
    # Python runs the agent: its own log lines follow (connection errors: nothing listens)
    console.wait_for("INFO ironworks_agent", timeout=60)
    assert "Traceback" not in console.text()
    print(f"ramdisk: {r.initramfs_size / 1e6:.1f} MB, agent started after {started:.1f} s")
