"""What the QEMU lab tests share: a lab brought up and down around them, a server serving its
provisioning network, and the check that the root namespace kept every interface it had."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

IRONWORKS = [sys.executable, "-m", "ironworks.cmd.main"]


def _links() -> set[str]:
    text = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip() for line in text.splitlines()}


@contextmanager
def lab_up(directory: Path, namespace: str, *args: str) -> Iterator[dict[str, Any]]:
    """`ironworks lab up ARGS` in its own directory and namespace; its state; `lab down` after,
    which must leave the root namespace with exactly the interfaces it had."""
    common = ["--dir", str(directory), "--namespace", namespace]
    before = _links()
    up = subprocess.run(
        [*IRONWORKS, "lab", "up", *common, *args], capture_output=True, text=True, timeout=120
    )
    assert up.returncode == 0, up.stderr
    state = json.loads((directory / "state.json").read_text())
    state["dir"], state["csv"] = directory, up.stdout
    try:
        yield state
    finally:
        down = subprocess.run(
            [*IRONWORKS, "lab", "down", *common], capture_output=True, text=True, timeout=120
        )
        assert down.returncode == 0, down.stderr
        assert _links() == before, "the lab left an interface in the root namespace"


def stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()


def x86_artefacts(out: Path) -> dict[str, Path]:
    """The agent ramdisk (`out/ramdisk`) and the test OS image (`out/www/test-os.raw`) for x86_64
    VMs, from the builders' cache when they are there; prints their sizes."""
    from ironworks.builders.ramdisk import build_ramdisk
    from ironworks.builders.testimage import build_test_image
    from ironworks.cmd.ramdisk import _agent_source, cache_dir

    started = time.monotonic()
    rd = build_ramdisk("x86_64", out / "ramdisk", _agent_source(), cache_dir=cache_dir())
    image = build_test_image(out / "www" / "test-os.raw", cache_dir=cache_dir())
    print(
        f"\nramdisk: initramfs {rd.initramfs_size / 2**20:.1f} MiB, kernel "
        f"{rd.kernel_size / 2**20:.1f} MiB ({'cached' if rd.cached else 'built'}); test OS "
        f"image {image.size / 2**20:.0f} MiB; {time.monotonic() - started:.1f} s"
    )
    return {"ramdisk": out / "ramdisk", "www": out / "www", "image": image.path}


SWITCH = "lab-switch"  # the LLDP system name of the lab's "switch"


@contextmanager
def lldp_switch(lab: dict[str, Any]) -> Iterator[None]:
    """Debian's lldpd inside the lab's namespace, on every VM's tap: each tap acts as a switch
    port that announces itself (system name `lab-switch`, port id = the tap's name, every
    second), as a top-of-rack switch does. Nothing of it leaves the namespace."""
    if shutil.which("lldpd") is None:
        raise RuntimeError("lldpd is not installed (apt-get install lldpd; .ci/run does)")
    # lldpd drops to its own user, which must reach the control socket: not under pytest's
    # private (0700) temporary directory
    sockets = Path(tempfile.mkdtemp(prefix="iwlldp-"))
    sockets.chmod(0o755)
    ctl, log = sockets / "lldpd.ctl", Path(lab["dir"]) / "lldpd.log"
    ns = ["ip", "netns", "exec", lab["namespace"]]
    taps = ",".join(vm["tap"] for vm in lab["vms"])  # exact names: lldpd skips taps otherwise
    # the settings go in at start (-O): set later, the first frames would carry the host's name
    conf = sockets / "lldpd.conf"
    conf.write_text(
        f"configure system hostname {SWITCH}\n"
        "configure lldp portidsubtype ifname\nconfigure lldp tx-interval 1\n"
    )
    conf.chmod(0o644)
    proc = subprocess.Popen(
        [
            *ns,
            "lldpd",
            "-d",
            "-u",
            str(ctl),
            "-O",
            str(conf),
            "-I",
            taps,
            "-S",
            "Ironworks lab switch",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:  # until lldpd answers with its configured name
            shown = subprocess.run(
                [*ns, "lldpcli", "-u", str(ctl), "show", "chassis"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            if shown.returncode == 0 and SWITCH in shown.stdout:
                break
            assert proc.poll() is None and time.monotonic() < deadline, (shown, log.read_text())
            time.sleep(0.2)
        yield
    finally:
        stop(proc, 10)
        shutil.rmtree(sockets, ignore_errors=True)


@contextmanager
def serve_lab(
    home: Path, lab: dict[str, Any], ramdisk_dir: Path, timeouts: dict[str, float], **settings: str
) -> Iterator[str]:
    """`ironworks serve --lab NS` (identity off) with its state under `home`; its API URL.
    `settings`: more IRONWORKS_ variables (`BOOT__LLDP_WAIT="3"`)."""
    port = free_port()
    env = {
        **os.environ,
        "IRONWORKS_HOME": str(home),
        "IRONWORKS_AUTH__NOAUTH": "true",
        "IRONWORKS_LICENSE__EVALUATION_NODES": "1000",
        "IRONWORKS_CONDUCTOR__POLL_INTERVAL": "0.2",
        "IRONWORKS_CONDUCTOR__PERIODIC_INTERVAL": "2",
        "IRONWORKS_BOOT__RAMDISK_DIR": str(ramdisk_dir),
        "IRONWORKS_BOOT__AGENT_HEARTBEAT": "2",
        "IRONWORKS_BOOT__INTERFACE": lab["bridge"],
        **{f"IRONWORKS_TIMEOUTS__{k.upper()}": str(v) for k, v in timeouts.items()},
        **{f"IRONWORKS_{k}": v for k, v in settings.items()},
    }
    log = home / "server.log"
    proc = subprocess.Popen(
        [*IRONWORKS, "serve", "--port", str(port), "--lab", lab["namespace"]],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/v1", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    try:
        yield url
    finally:
        stop(proc, 15)
        print("\n--- server log (tail) ---\n" + "\n".join(log.read_text().splitlines()[-30:]))
