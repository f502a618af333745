#!/usr/bin/env python3
"""Deploy time of a lab VM through Ironworks against its floor measured in the same run.

Issue #4's done-when: Ironworks' orchestration adds under 10% to the floor, the same deploy done
by hand: PXE → the same agent kernel + initramfs → image and config drive streamed onto the disk
→ power cycle → boot from disk → the test OS prints its hostname.

Setup: the ramdisk and the test OS image from ironworks.builders (cached, as tests/e2e), then
`ironworks lab up --nodes 1` in a bench-owned directory and namespace (`lab down` at the end,
also on Ctrl-C or SIGTERM). Rounds alternate, floor first:

* floor: no Ironworks server. The bench runs its own dnsmasq inside the lab namespace (the
  config `ironworks/boot/dnsmasq.py` renders: no-ping, option 175 encap, ra-only + ra-param
  for fd99::1/64) and `python3 -m http.server` bound to 10.99.0.1 inside the namespace,
  serving static files: `boot/boot.ipxe` → `boot/<mac>.ipxe`, which boots the same kernel and
  initramfs with `ironworks.floor=http://10.99.0.1:PORT/test-os.raw`. The ramdisk's /init then
  runs `wget | dd of=/dev/vda` and `poweroff -f` instead of the agent. The served image is the
  test OS image with the 16 MiB config drive Ironworks builds (label CONFIG-2, hostname
  `bench-floor`) appended as partition 2: the same bytes the agent writes. Through
  the VM's BMC (ipmitool): bootdev pxe, power on [t0], poll `power status` until off (0.2 s),
  bootdev disk persistent, power on, until `IRONWORKS-TEST-OS hostname=bench-floor` on the
  serial console [floor].
* ironworks: `ironworks serve --lab NS` (the e2e's settings: heartbeat 2 s, poll 0.2 s), the
  node enrolled once (ipmi, its port, automated_clean false: cleaning is not part of a deploy),
  the image on a loopback HTTP server (the conductor caches it: round 1 pays the first fetch
  and is shown apart). `PUT provision active` with a config drive [t0] until
  `IRONWORKS-TEST-OS hostname=bench-deploy-N` [deploy]; then undeploy (no cleaning) and stop.

Both kinds time console lines too (first SeaBIOS line, iPXE's DHCP, /init, the ramdisk's DHCP,
image written, disk boot, test OS init), so the table of phases shows where time differs.
Before measuring it waits until no other `qemu-system` process runs (other engineers' e2e tests
skew TCG figures); a round during which one ran is marked. `--no-wait` skips that (development).

    .venv/bin/python bench/deploy.py                 # 3 rounds of each
    .venv/bin/python bench/deploy.py --rounds 5
    .venv/bin/python bench/deploy.py --rounds 1 --no-wait

Results (results.json, summary.md, serial and server logs) in bench/results/<stamp>-deploy/;
the lab, its disk and the image copies live in a temporary directory removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_workload import free_port, stop_process

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ironworks.boot import ipxe  # noqa: E402
from ironworks.boot.dnsmasq import Dnsmasq  # noqa: E402
from ironworks.common.settings import BootSettings  # noqa: E402

IRONWORKS = [sys.executable, "-m", "ironworks.cmd.main"]
HEADERS = {"X-OpenStack-Ironic-API-Version": "latest"}
GOAL = 0.10  # orchestration may add under 10% to the floor
DONE = "IRONWORKS-TEST-OS hostname="
FLOOR_HOST = "bench-floor"
FLOOR_PORT = 8081  # the bench's static server; Ironworks' boot listener keeps 8080
BOOT_ADDRESS = "10.99.0.1"  # inside the lab namespace only
TIMEOUT = 240.0
OURS: list[str] = []  # strings naming this run's processes: its work directory, its namespace

# Console lines both kinds of round print, in boot order: key, pattern, label.
MARKERS: list[tuple[str, str, str]] = [
    ("vm_on", r"SeaBIOS \(version", "VM started (first SeaBIOS line)"),
    ("ipxe_dhcp", r"Filename: http", "iPXE DHCP answered"),
    ("kernel_loaded", r"Probing EDD", "kernel + initramfs downloaded"),
    ("init", r"ironworks: ramdisk for", "ramdisk /init started"),
    ("ramdisk_dhcp", r"ironworks: \S+ has 10\.99\.", "ramdisk DHCP done"),
    ("agent_up", r"INFO ironworks_agent\.agent: this is node", "agent looked up"),
    ("image_written", r"write_image-\d+ done", "image written"),
    (
        "written",
        r"IRONWORKS-FLOOR written|write_configdrive-\d+ done",
        "image + config drive on disk",
    ),
    ("disk_boot", r"Booting from Hard Disk", "firmware boots the disk"),
    ("os_init", r"IRONWORKS-TEST-OS: init", "test OS /init"),
    ("os_config", r"IRONWORKS-TEST-OS: config drive /", "test OS found its config drive"),
    ("done", DONE, "test OS printed its hostname"),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Interrupted(Exception):
    pass


def _sigterm(*_: object) -> None:
    raise Interrupted("SIGTERM")


# --- other VMs on the machine ----------------------------------------------------------------------


def other_qemus(ours: str) -> list[int]:
    """PIDs of qemu-system processes that are not this bench's lab VM."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if not Path(f"/proc/{d}/comm").read_text().startswith("qemu-system"):
                continue
            cmdline = Path(f"/proc/{d}/cmdline").read_bytes()
        except OSError:
            continue
        if ours.encode() not in cmdline:
            found.append(int(d))
    return found


def wait_quiet(ours: str, enabled: bool) -> None:
    if not enabled:
        return
    said = 0.0
    while pids := other_qemus(ours):
        if time.monotonic() - said > 60:
            log(
                f"waiting: other qemu-system processes run ({', '.join(map(str, pids))}); "
                "figures would be skewed"
            )
            said = time.monotonic()
        time.sleep(2)


def _busy_jiffies() -> int:
    """CPU time the whole machine spent busy (all CPUs), in clock ticks."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(f) - f[3] - f[4]  # minus idle and iowait


def _ours(ours: str) -> dict[int, int]:
    """CPU ticks so far of this bench's processes: itself and every process naming its work
    directory or namespace (QEMU, the BMC process, the servers, dnsmasq)."""
    found = {}
    me = str(os.getpid())
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{d}/cmdline").read_bytes()
            if d != me and ours.encode() not in cmdline:
                continue
            fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            found[int(d)] = int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return found


class CpuMeter:
    """CPU seconds the rest of the machine (not this bench) used between start and stop,
    sampled each `sample()` so processes that exit meanwhile are counted up to their last
    sample (at most a second lost each)."""

    def __init__(self, ours: list[str]) -> None:
        self.ours = ours
        self.t0, self.busy0 = time.monotonic(), _busy_jiffies()
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.sample()

    def sample(self) -> None:
        for key in self.ours:
            for pid, ticks in _ours(key).items():
                self.first.setdefault(pid, ticks if not self.last else 0)
                self.last[pid] = ticks

    def other_cores(self) -> float:
        """Average cores busy with other work over the interval."""
        self.sample()
        tick = os.sysconf("SC_CLK_TCK")
        ours = sum(self.last[p] - self.first[p] for p in self.last)
        other = max(0, _busy_jiffies() - self.busy0 - ours) / tick
        return round(other / max(time.monotonic() - self.t0, 1e-3), 2)


def wait_idle(ours: list[str], enabled: bool, limit: float = 60.0) -> None:
    """Wait (up to `limit` s) until the rest of the machine uses under a quarter core."""
    if not enabled:
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        m = CpuMeter(ours)
        time.sleep(3)
        load = m.other_cores()
        if load < 0.25:
            return
        log(f"waiting: other processes keep {load:.2f} cores busy")
    log(f"the machine stayed busy for {limit:g} s; measuring anyway (see 'other cores')")


# --- the console ---------------------------------------------------------------------------------


class Watcher:
    """Times (s after t0) of the first appearance of each marker on the serial log after `mark`;
    also notes whether another QEMU ran meanwhile."""

    def __init__(self, path: Path, t0: float, ours: str, done: str, extra: dict[str, str]) -> None:
        self.path, self.t0, self.ours = path, t0, ours
        self.mark = path.stat().st_size
        self.patterns = {k: re.compile(p) for k, p, _ in MARKERS}
        self.patterns["done"] = re.compile(re.escape(done))
        self.patterns.update({k: re.compile(p) for k, p in extra.items()})
        self.seen: dict[str, float] = {}
        self.contended = False
        self.meter = CpuMeter(OURS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        text, pos, last_check = "", self.mark, 0.0
        while not self._stop.is_set():
            with self.path.open("rb") as f:
                f.seek(pos)
                chunk = f.read()
            now = time.monotonic() - self.t0
            if chunk:
                pos += len(chunk)
                text += chunk.decode(errors="replace")
                for key, pat in self.patterns.items():
                    if key not in self.seen and pat.search(text):
                        self.seen[key] = now
            if now - last_check > 1.0:
                last_check = now
                self.contended = self.contended or bool(other_qemus(self.ours))
                self.meter.sample()
            self._stop.wait(0.05)

    def wait(self, key: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while key not in self.seen:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"no {key!r} line on {self.path} within {timeout:g} s; "
                    f"last lines:\n{self.tail()}"
                )
            time.sleep(0.02)
        return self.seen[key]

    def tail(self, lines: int = 20) -> str:
        text = self.path.read_bytes()[self.mark :].decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join(2)
        self.other_cores = self.meter.other_cores()
        return {k: round(v, 2) for k, v in sorted(self.seen.items(), key=lambda kv: kv[1])}


# --- the lab ---------------------------------------------------------------------------------------


class Lab:
    def __init__(self, directory: Path, namespace: str, base_port: int) -> None:
        self.dir, self.ns, self.port = directory, namespace, base_port
        self.common = ["--dir", str(directory), "--namespace", namespace]
        self.state: dict[str, Any] = {}

    def up(self) -> None:
        r = subprocess.run(
            [
                *IRONWORKS,
                "lab",
                "up",
                "--nodes",
                "1",
                *self.common,
                "--base-port",
                str(self.port),
                "--memory",
                "512",
                "--disk-mb",
                "256",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        if r.returncode != 0:
            raise RuntimeError(f"lab up failed: {r.stderr.strip()}")
        self.state = json.loads((self.dir / "state.json").read_text())
        self.vm = self.state["vms"][0]

    def down(self) -> None:
        r = subprocess.run(
            [*IRONWORKS, "lab", "down", *self.common],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        log(f"lab down: {(r.stdout + r.stderr).strip().replace(chr(10), '; ')}")

    def ipmi(self, *args: str) -> str:
        cmd = [
            "ipmitool",
            "-I",
            "lanplus",
            "-H",
            self.vm["bmc_address"],
            "-p",
            str(self.vm["bmc_port"]),
            "-U",
            self.state["bmc_username"],
            "-P",
            self.state["bmc_password"],
            *args,
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"ipmitool {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def is_on(self) -> bool:
        return "is on" in self.ipmi("chassis", "power", "status")

    def power_off(self) -> None:
        if self.is_on():
            self.ipmi("chassis", "power", "off")
        while self.is_on():
            time.sleep(0.2)

    @property
    def console(self) -> Path:
        return Path(self.vm["serial_log"])


# --- the floor ---------------------------------------------------------------------------------


def prepare_floor(root: Path, ramdisk: Path, image: Path, mac: str) -> str:
    """Static files of the floor's HTTP server; the URL of the image the ramdisk writes.

    The image is the test OS image with the config drive Ironworks itself builds for a provision
    request (ironworks/boot/configdrive.py: 16 MiB VFAT, label CONFIG-2) appended as MBR
    partition 2 (type 0x0C, as the agent's write_configdrive): the floor writes the same bytes
    as the deploy, and the test OS does the same work to find it. Only where the partition sits
    differs (behind the image here, at the end of the disk in a deploy).
    """
    from ironworks.boot import configdrive
    from ironworks.builders.testimage import MIB, SECTOR, mbr_partition, set_partition

    base = f"http://{BOOT_ADDRESS}:{FLOOR_PORT}"
    url = f"{base}/test-os.raw"
    boot = root / "boot"
    (boot / "ramdisk" / "x86_64").mkdir(parents=True, exist_ok=True)
    for name in ("kernel", "initramfs"):
        shutil.copyfile(ramdisk / "x86_64" / name, boot / "ramdisk" / "x86_64" / name)
    (boot / "boot.ipxe").write_text(ipxe.entry_script(base))
    script = ipxe.ramdisk_script(
        ipxe.RamdiskBoot(
            base, None, "x86_64", "floor, bench/deploy.py", extra_params=f"ironworks.floor={url}"
        )
    )
    (boot / f"{mac.replace(':', '-')}.ipxe").write_text(script)
    served = root / "test-os.raw"
    shutil.copyfile(image, served)
    drive = configdrive.build(
        {"uuid": FLOOR_HOST, "name": FLOOR_HOST},
        {"meta_data": {"hostname": FLOOR_HOST}},
        root.parent / "floor-configdrive.img",
    ).read_bytes()
    start = -(-served.stat().st_size // MIB) * MIB
    with served.open("r+b") as f:
        f.seek(start)
        f.write(drive)
    set_partition(served, 2, mbr_partition(False, 0x0C, start // SECTOR, len(drive) // SECTOR))
    return url


@contextlib.contextmanager
def floor_servers(lab: Lab, root: Path, state: Path) -> Iterator[None]:
    """The bench's own dnsmasq and static HTTP server inside the lab namespace."""
    cfg = BootSettings(
        enabled=True,
        netns=lab.ns,
        interface=lab.state["bridge"],
        http_address=BOOT_ADDRESS,
        http_port=FLOOR_PORT,
        http_address6="fd99::1",
        discovery=True,
    )
    dnsmasq = Dnsmasq(cfg, state / "dnsmasq")
    http_log = (state / "http.log").open("ab")
    http = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            lab.ns,
            "python3",
            "-u",
            "-m",
            "http.server",
            "--bind",
            BOOT_ADDRESS,
            str(FLOOR_PORT),
            "--directory",
            str(root),
        ],
        stdin=subprocess.DEVNULL,
        stdout=http_log,
        stderr=subprocess.STDOUT,
    )
    try:
        dnsmasq.start()
        deadline = time.monotonic() + 15
        while b"Serving HTTP" not in (state / "http.log").read_bytes():
            if http.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the floor's HTTP server did not start; see {state}/http.log")
            time.sleep(0.05)
        yield
    finally:
        dnsmasq.stop()
        stop_process(http)  # type: ignore[arg-type]
        http_log.close()


def floor_round(lab: Lab, args: argparse.Namespace, root: Path, state: Path) -> dict[str, Any]:
    lab.power_off()
    with floor_servers(lab, root, state):
        wait_quiet(str(lab.dir), args.wait)
        wait_idle(OURS, args.wait)
        lab.ipmi("chassis", "bootdev", "pxe")
        t0 = time.monotonic()
        w = Watcher(
            lab.console,
            t0,
            str(lab.dir),
            DONE + FLOOR_HOST,
            {"floor_failed": r"IRONWORKS-FLOOR failed"},
        )
        try:
            lab.ipmi("chassis", "power", "on")
            while lab.is_on():
                if "floor_failed" in w.seen:
                    raise RuntimeError(f"the floor's write failed:\n{w.tail()}")
                if time.monotonic() - t0 > TIMEOUT:
                    raise RuntimeError(f"the floor VM did not power off:\n{w.tail()}")
                time.sleep(0.2)
            off = time.monotonic() - t0
            lab.ipmi("chassis", "bootdev", "disk", "options=persistent")
            lab.ipmi("chassis", "power", "on")
            on_disk = time.monotonic() - t0
            total = w.wait("done", TIMEOUT)
        finally:
            marks = w.stop()
    return {
        "kind": "floor",
        "seconds": round(total, 2),
        "marks": marks,
        "powered_off": round(off, 2),
        "disk_power_on": round(on_disk, 2),
        "contended": w.contended,
        "other_cores": w.other_cores,
    }


# --- Ironworks ---------------------------------------------------------------------------------


@contextlib.contextmanager
def image_server(root: Path) -> Iterator[str]:
    """Plain HTTP on loopback in the root namespace: the conductor fetches, nodes never see it."""

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def ironworks_server(lab: Lab, home: Path, ramdisk: Path, heartbeat: float) -> Iterator[str]:
    port = free_port(set())
    env = {
        **os.environ,
        "IRONWORKS_HOME": str(home),
        "IRONWORKS_AUTH__NOAUTH": "true",
        "IRONWORKS_LICENSE__EVALUATION_NODES": "1000",
        "IRONWORKS_CONDUCTOR__POLL_INTERVAL": "0.2",
        "IRONWORKS_CONDUCTOR__PERIODIC_INTERVAL": "2",
        "IRONWORKS_BOOT__RAMDISK_DIR": str(ramdisk),
        "IRONWORKS_BOOT__AGENT_HEARTBEAT": str(heartbeat),
        "IRONWORKS_BOOT__INTERFACE": lab.state["bridge"],
    }
    home.mkdir(parents=True, exist_ok=True)
    out = (home / "server.log").open("ab")
    proc = subprocess.Popen(
        [*IRONWORKS, "serve", "--port", str(port), "--lab", lab.ns],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ironworks serve exited; see {home / 'server.log'}")
            try:
                if httpx.get(url + "/v1", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("ironworks serve did not answer within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        stop_process(proc)  # type: ignore[arg-type]
        out.close()


class Node:
    def __init__(self, http: httpx.Client, uuid: str) -> None:
        self.http, self.uuid = http, uuid

    @classmethod
    def enrol(cls, http: httpx.Client, lab: Lab) -> Node:
        vm = lab.vm
        r = http.post(
            "/v1/nodes",
            json={
                "name": vm["name"],
                "driver": "ipmi",
                "properties": {"cpu_arch": "x86_64"},
                "driver_info": {
                    "ipmi_address": vm["bmc_address"],
                    "ipmi_port": vm["bmc_port"],
                    "ipmi_username": lab.state["bmc_username"],
                    "ipmi_password": lab.state["bmc_password"],
                },
            },
        )
        r.raise_for_status()
        node = cls(http, r.json()["uuid"])
        http.post(
            "/v1/ports", json={"node_uuid": node.uuid, "address": vm["mac"]}
        ).raise_for_status()
        http.patch(
            f"/v1/nodes/{node.uuid}",
            json=[{"op": "replace", "path": "/automated_clean", "value": False}],
        ).raise_for_status()
        node.act("manage")
        node.settle("manageable")
        node.act("provide")
        node.settle("available")
        return node

    def get(self) -> dict[str, Any]:
        r = self.http.get(f"/v1/nodes/{self.uuid}")
        r.raise_for_status()
        return r.json()

    def act(self, target: str, **body: Any) -> None:
        r = self.http.put(
            f"/v1/nodes/{self.uuid}/states/provision", json={"target": target, **body}
        )
        if r.status_code != 202:
            raise RuntimeError(f"provision {target}: {r.status_code} {r.text}")

    def settle(self, state: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            node = self.get()
            if node["provision_state"] == state and node["reservation"] is None:
                return node
            if "fail" in node["provision_state"] or node["provision_state"] == "error":
                raise RuntimeError(f"node {node['provision_state']}: {node['last_error']}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"node still {node['provision_state']} after {timeout:g} s")
            time.sleep(0.2)


def timeline(node: dict[str, Any], t0_wall: datetime) -> list[dict[str, Any]]:
    """The node's phases: start (s after the PUT) and duration."""
    out = []
    for p in (node.get("driver_internal_info") or {}).get("timeline", []):
        start = datetime.fromisoformat(p["started"])
        row = {"phase": p["phase"], "start": round((start - t0_wall).total_seconds(), 2)}
        if p.get("finished"):
            row["seconds"] = round(
                (datetime.fromisoformat(p["finished"]) - start).total_seconds(), 2
            )
        out.append(row)
    return out


def ironworks_round(
    lab: Lab,
    args: argparse.Namespace,
    node_ref: dict[str, Any],
    n: int,
    work: Path,
    ramdisk: Path,
    image_url: str,
    sha256: str,
) -> dict[str, Any]:
    lab.power_off()
    with (
        ironworks_server(lab, work / "server", ramdisk, args.heartbeat) as url,
        httpx.Client(base_url=url, headers=HEADERS, timeout=30) as http,
    ):
        if "uuid" not in node_ref:
            node_ref["uuid"] = Node.enrol(http, lab).uuid
        node = Node(http, node_ref["uuid"])
        node.settle("available")
        http.patch(
            f"/v1/nodes/{node.uuid}",
            json=[
                {"op": "add", "path": "/instance_info/image_source", "value": image_url},
                {"op": "add", "path": "/instance_info/image_checksum", "value": sha256},
            ],
        ).raise_for_status()
        time.sleep(1.0)  # let the fresh server's first periodic tasks pass
        wait_quiet(str(lab.dir), args.wait)
        wait_idle(OURS, args.wait)
        host = f"bench-deploy-{n}"
        t0 = time.monotonic()
        t0_wall = datetime.now(UTC)
        w = Watcher(lab.console, t0, str(lab.dir), DONE + host, {})
        try:
            node.act("active", configdrive={"meta_data": {"hostname": host}})
            total = w.wait("done", TIMEOUT)
        finally:
            marks = w.stop()
        info = node.settle("active")
        phases = timeline(info, t0_wall)
        node.act("deleted")
        node.settle("available")
    return {
        "kind": "ironworks",
        "seconds": round(total, 2),
        "marks": marks,
        "timeline": phases,
        "contended": w.contended,
        "other_cores": w.other_cores,
    }


# --- the run -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="rounds of each kind (alternating)")
    p.add_argument("--heartbeat", type=float, default=2.0, help="boot.agent_heartbeat (s)")
    p.add_argument(
        "--base-port", type=int, default=15000 + os.getpid() % 1000, help="the lab BMC's UDP port"
    )
    p.add_argument(
        "--no-wait",
        dest="wait",
        action="store_false",
        help="measure even while other qemu-system processes run (development)",
    )
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/deploy.py needs root (the lab's network namespace)", file=sys.stderr)
        return 2
    out = REPO / "bench" / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}-deploy"
    out.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="iwbench-deploy-"))
    ns = f"iwbench{os.getpid()}"
    lab = Lab(work / "lab", ns, args.base_port)
    OURS[:] = [str(work), ns]
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    results: dict[str, Any] = {"rounds": [], "args": vars(args), "namespace": ns}
    try:
        from ironworks.builders.ramdisk import build_ramdisk
        from ironworks.builders.testimage import build_test_image
        from ironworks.cmd.ramdisk import _agent_source, cache_dir

        t = time.monotonic()
        rd = build_ramdisk("x86_64", work / "ramdisk", _agent_source(), cache_dir=cache_dir())
        img = build_test_image(work / "www" / "test-os.raw", cache_dir=cache_dir())
        log(
            f"ramdisk {rd.initramfs_size / 2**20:.1f} MiB + kernel {rd.kernel_size / 2**20:.1f} "
            f"MiB ({'cached' if rd.cached else 'built'}), test OS {img.size / 2**20:.0f} MiB "
            f"({'cached' if img.cached else 'built'}) in {time.monotonic() - t:.1f} s"
        )
        sha256 = hashlib.sha256(img.path.read_bytes()).hexdigest()
        results["ramdisk"] = {
            "key": rd.key,
            "initramfs_bytes": rd.initramfs_size,
            "kernel_bytes": rd.kernel_size,
            "image_bytes": img.size,
        }
        lab.up()
        log(f"lab up: {lab.vm['name']} in namespace {ns}, BMC 127.0.0.1:{lab.vm['bmc_port']}")
        floor_root = work / "floor"
        prepare_floor(floor_root, work / "ramdisk", img.path, lab.vm["mac"])
        (work / "floor-state").mkdir()
        node_ref: dict[str, Any] = {}
        if args.wait and other_qemus(str(lab.dir)):
            log("waiting until no other qemu-system process runs before measuring")
        with image_server(work / "www") as www:
            for i in range(1, args.rounds + 1):
                r = floor_round(lab, args, floor_root, work / "floor-state")
                r["round"] = i
                results["rounds"].append(r)
                log(f"floor {i}: {r['seconds']:.2f} s {r['marks']}")
                r = ironworks_round(
                    lab, args, node_ref, i, work, work / "ramdisk", f"{www}/test-os.raw", sha256
                )
                r["round"] = i
                results["rounds"].append(r)
                log(f"ironworks {i}: {r['seconds']:.2f} s; timeline {r['timeline']}")
    except (KeyboardInterrupt, Interrupted) as e:
        log(f"interrupted ({type(e).__name__}); cleaning up")
        results["interrupted"] = True
    except Exception as e:  # report what was measured, then the failure
        log(f"failed: {e}")
        results["error"] = str(e)
    finally:
        lab.down()
        for src, name in (
            (lab.dir / "vms" / "lab-vm-0000" / "serial.log", "serial.log"),
            (lab.dir / "bmc.log", "bmc.log"),
            (work / "server" / "server.log", "server.log"),
            (work / "floor-state" / "http.log", "floor-http.log"),
            (work / "floor-state" / "dnsmasq" / "dnsmasq.log", "floor-dnsmasq.log"),
            (work / "floor-state" / "dnsmasq" / "dnsmasq.conf", "floor-dnsmasq.conf"),
        ):
            if src.exists():
                shutil.copyfile(src, out / name)
        shutil.rmtree(work, ignore_errors=True)
    summary = render(results)
    results["summary"] = summary
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "summary.md").write_text(summary + "\n")
    print(summary)
    print(f"\nresults: {out}")
    return 1 if results.get("interrupted") or results.get("error") else 0


def _median(xs: list[float]) -> float | None:
    return round(statistics.median(xs), 2) if xs else None


def render(results: dict[str, Any]) -> str:
    rounds = results["rounds"]
    floors = [r for r in rounds if r["kind"] == "floor"]
    deploys = [r for r in rounds if r["kind"] == "ironworks"]
    lines = [
        "| round | floor s | Ironworks deploy s | deploy − floor s | other load (cores) "
        "floor / deploy | note |",
        "|---:|---:|---:|---:|---|---|",
    ]
    for i in range(1, max(len(floors), len(deploys)) + 1):
        f = next((r for r in floors if r["round"] == i), None)
        d = next((r for r in deploys if r["round"] == i), None)
        note = []
        if d and i == 1:
            fetch = next(
                (p.get("seconds") for p in d["timeline"] if p["phase"] == "fetch image"), None
            )
            note.append(f"deploy with a cold image cache (fetch image {fetch} s)")
        if any(r and r["contended"] for r in (f, d)):
            note.append("another QEMU ran during this round")
        fs, ds = (f["seconds"] if f else None), (d["seconds"] if d else None)
        diff = f"{ds - fs:+.2f}" if fs is not None and ds is not None else ""
        load = " / ".join(str(r.get("other_cores", "-")) if r else "-" for r in (f, d))
        lines.append(
            f"| {i} | {fs if fs is not None else '-'} | {ds if ds is not None else '-'} "
            f"| {diff} | {load} | {'; '.join(note)} |"
        )
    mf, md = _median([r["seconds"] for r in floors]), _median([r["seconds"] for r in deploys])
    warm = _median([r["seconds"] for r in deploys if r["round"] > 1])
    lines.append(
        f"| median | {mf} | {md} | {f'{md - mf:+.2f}' if mf and md else ''} | | "
        f"warm-cache deploys (rounds 2+): {warm} |"
    )
    incomplete = results.get("interrupted") or results.get("error")
    verdict = "no verdict (incomplete run)"
    if mf and md:
        over = (md - mf) / mf
        lines.append(
            f"\nOverhead = (median deploy − median floor) / median floor = "
            f"({md} − {mf}) / {mf} = {over:+.1%}; goal under {GOAL:.0%}: "
            f"{verdict if incomplete else 'PASS' if over < GOAL else 'FAIL'}"
        )
        if warm:
            lines.append(
                f"Warm-cache deploys only: ({warm} − {mf}) / {mf} = {(warm - mf) / mf:+.1%}"
            )
    # phases: median time of each console line after t0, both kinds, and the segments between
    lines += [
        "",
        "Console lines, median seconds after t0 (floor: the power-on request; "
        "Ironworks: PUT provision active), and the segment since the previous line:",
        "",
        "| line | floor at | floor segment | Ironworks at | Ironworks segment |",
        "|---|---:|---:|---:|---:|",
    ]
    prev = {"floor": 0.0, "ironworks": 0.0}
    for key, _, label in MARKERS:
        cells = []
        for kind, group in (("floor", floors), ("ironworks", deploys)):
            at = _median([r["marks"][key] for r in group if key in r["marks"]])
            if at is None:
                cells += ["-", "-"]
                continue
            cells += [f"{at:.2f}", f"{at - prev[kind]:.2f}"]
            prev[kind] = at
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    off = _median([r["powered_off"] for r in floors])
    if off is not None:
        lines.append(
            f"\nFloor: VM seen off (ipmitool poll) at {off} s, disk power-on sent at "
            f"{_median([r['disk_power_on'] for r in floors])} s."
        )
    if deploys:
        lines += [
            "",
            "Ironworks timeline (driver_internal_info), median start after the PUT and duration:",
            "",
            "| phase | start s | seconds |",
            "|---|---:|---:|",
        ]
        names = [p["phase"] for p in deploys[-1]["timeline"]]
        for name in names:
            ps = [p for r in deploys for p in r["timeline"] if p["phase"] == name]
            took = _median([p["seconds"] for p in ps if "seconds" in p])
            shown = "open (the round ends at the hostname line)" if took is None else took
            lines.append(f"| {name} | {_median([p['start'] for p in ps])} | {shown} |")
    if results.get("interrupted"):
        lines.append("\nINTERRUPTED: the figures above are incomplete.")
    if results.get("error"):
        lines.append(f"\nFAILED: {results['error']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
