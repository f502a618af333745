"""What the QEMU lab tests share: a lab brought up and down around them, a server serving its
provisioning network, and the check that the root namespace kept every interface it had."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    up = subprocess.run([*IRONWORKS, "lab", "up", *common, *args], capture_output=True,
                        text=True, timeout=120)  # fmt: skip
    assert up.returncode == 0, up.stderr
    state = json.loads((directory / "state.json").read_text())
    state["dir"], state["csv"] = directory, up.stdout
    try:
        yield state
    finally:
        down = subprocess.run([*IRONWORKS, "lab", "down", *common], capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert down.returncode == 0, down.stderr
        assert _links() == before, "the lab left an interface in the root namespace"


@contextmanager
def serve_lab(home: Path, lab: dict[str, Any], ramdisk_dir: Path,
              timeouts: dict[str, float]) -> Iterator[str]:  # fmt: skip
    """`ironworks serve --lab NS` (identity off) with its state under `home`; its API URL."""
    port = free_port()
    env = {**os.environ, "IRONWORKS_HOME": str(home), "IRONWORKS_AUTH__NOAUTH": "true",
           "IRONWORKS_LICENSE__EVALUATION_NODES": "1000",
           "IRONWORKS_CONDUCTOR__POLL_INTERVAL": "0.2",
           "IRONWORKS_CONDUCTOR__PERIODIC_INTERVAL": "2",
           "IRONWORKS_BOOT__RAMDISK_DIR": str(ramdisk_dir),
           "IRONWORKS_BOOT__AGENT_HEARTBEAT": "2",
           "IRONWORKS_BOOT__INTERFACE": lab["bridge"],
           **{f"IRONWORKS_TIMEOUTS__{k.upper()}": str(v) for k, v in timeouts.items()}}  # fmt: skip
    log = home / "server.log"
    proc = subprocess.Popen([*IRONWORKS, "serve", "--port", str(port), "--lab", lab["namespace"]],
                            env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)  # fmt: skip
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
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        print("\n--- server log (tail) ---\n" + "\n".join(log.read_text().splitlines()[-30:]))
