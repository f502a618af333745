#!/usr/bin/env python3
"""One full power-sync cycle over 1,000 and 10,000 emulated IPMI BMCs, 1% of them dead.

Per fleet size N:
1. starts N emulated BMCs (`ironworks.lab.fleet`: real RMCP+ over UDP, each on its own loopback
   address 127.0.0.1, .2, ... as every BMC of a datacenter has its own IP, shards of 200 per
   process, separate processes), 1% dead (never answer). Own addresses matter to Ironic: it
   spaces commands to one BMC address by 5 s (`[ipmi] min_command_interval`);
2. enrols them from the fleet's CSV through the importer into a fresh SQLite database and
   marks them manageable with power off recorded (what `manage` would leave; done in the
   database so that the figure is the sync's alone);
3. runs the conductor's power sync (`PowerSync.run`, the code the periodic thread runs) for
   `--cycles` cycles: the first logs in to every BMC (cold), the next reuse the sessions
   (warm, as every sync does when `power_sync_interval` < 50 s); before the last one,
   `--drift` % of the BMCs are powered on out of band, and the cycle must find exactly those.
   Prints each cycle's wall time, the answers, and the CPU seconds of this process and of the
   emulator processes.

Then, unless `--no-ironic`, OpenStack Ironic's own power sync over the same first 1,000 BMCs:
Ironic (`--ironic-venv`, made by the shared Ironic benchmark kit's run_ironic.sh with `INSTALL=1`,
`--ironic-installer`) with the stock `ipmi` hardware type (ipmitool power interface) and its
default sync settings (8 workers), `sync_power_state_interval` 20 s,
`force_power_state_during_sync` off; nodes created through
its API and marked manageable in its database the same way (vendor cached, as `manage` leaves
it; otherwise each node's first sync adds an `mc info` call 5 s later); its cycle time is the one its
conductor logs ("Completed power state sync operation ... in N seconds", debug logging on).

Prints figures, never asserts them; the goal (issue 3) is a cycle under 30 s for 10,000 BMCs
on this 2-core machine. Results and logs land in bench/results/<stamp>-power-sync/.

    .venv/bin/python bench/power_sync.py                       # 1,000 and 10,000; Ironic on 1,000
    .venv/bin/python bench/power_sync.py --counts 1000 --no-ironic
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_workload import SHARED_BENCH, free_port, stop_process

from ironworks.common.crypto import new_key
from ironworks.common.settings import load_settings
from ironworks.conductor.conductor import Conductor
from ironworks.db import migrate
from ironworks.db.engine import Database
from ironworks.db.schema import nodes
from ironworks.lab.fleet import Fleet, FleetOptions, enrol_csv, make_specs
from ironworks.services.context import Caller, Services
from ironworks.services.imports import import_nodes

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 30.0
PASSWORD = "password"
BASE_PORT = 20000


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --- Ironworks --------------------------------------------------------------------------------------


def enrolled(fleet: Fleet, home: Path, power_state: str, **settings: Any) -> tuple[Database, Any]:
    """A fresh SQLite database under `home` holding the fleet's nodes, enrolled through the
    importer and marked manageable with `power_state` recorded (in the database, so that the
    figures are the bench's alone), and a registered conductor over it."""
    cfg = load_settings(
        home=home,
        secret_key=new_key(),
        license={"evaluation_nodes": 10**6},  # a bench, not a deployment
        **settings,
    )
    db = Database(cfg.effective_database_url)
    migrate.upgrade(db)
    svc = Services(db, cfg)
    t0 = time.monotonic()
    report = import_nodes(svc, enrol_csv(fleet.specs, PASSWORD).encode(), Caller(), source="bench")
    log(f"enrolled {len(report['created'])} nodes in {time.monotonic() - t0:.2f} s")
    with db.write() as conn:
        conn.execute(sa.update(nodes).values(provision_state="manageable", power_state=power_state))
    conductor = Conductor(db, cfg, svc.secret_box)
    conductor.register()
    return db, conductor


def run_ironworks(fleet: Fleet, n: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"ironworks-ps-{n}-", dir=out))
    db, conductor = enrolled(
        fleet,
        home,
        "power off",
        conductor={"hostname": "bench", "power_sync_workers": args.workers},
    )
    healthy = [s for s in fleet.specs if not s.dead]
    drifted = healthy[:: max(1, round(100 / args.drift))] if args.drift > 0 else []
    cycles = []
    for i in range(args.cycles):
        if i == args.cycles - 1 and drifted:
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda s: fleet.force_power(s.name, "on"), drifted))
            log(f"powered {len(drifted)} BMCs on out of band")
        cpu0, emu0 = own_cpu(), cpu_of(fleet.pids)
        r = conductor.power_sync.run()
        row = {
            **r.as_dict(),
            "cpu_self_s": round(own_cpu() - cpu0, 2),
            "cpu_emulators_s": round(cpu_of(fleet.pids) - emu0, 2),
            "kind": "cold (log in)" if i == 0 else "warm (kept sessions)",
            "drift_expected": len(drifted) if i == args.cycles - 1 else 0,
        }
        cycles.append(row)
        log(f"N={n} cycle {i + 1}: {row}")
    db.dispose()
    return {"n": n, "dead": sum(s.dead for s in fleet.specs), "cycles": cycles}


# --- OpenStack Ironic ---------------------------------------------------------------------------------

IRONIC_CONF = """[DEFAULT]
host = bench-ironic
auth_strategy = noauth
rpc_transport = none
debug = True
log_file = {log}
use_stderr = False
enabled_hardware_types = ipmi
enabled_power_interfaces = ipmitool
enabled_management_interfaces = ipmitool
enabled_boot_interfaces = ipxe
enabled_deploy_interfaces = direct
enabled_inspect_interfaces = no-inspect
enabled_network_interfaces = noop
enabled_console_interfaces = no-console
enabled_raid_interfaces = no-raid
enabled_rescue_interfaces = no-rescue
enabled_bios_interfaces = no-bios
enabled_firmware_interfaces = no-firmware
enabled_vendor_interfaces = no-vendor
enabled_storage_interfaces = noop
default_network_interface = noop
minimum_required_memory = 256

[api]
host_ip = 127.0.0.1
port = {port}

[conductor]
sync_power_state_interval = 20
force_power_state_during_sync = False
automated_clean = False

[database]
connection = sqlite:///{db}

[deploy]
http_root = {work}/httpboot
http_url = http://127.0.0.1:9/

[pxe]
tftp_root = {work}/tftpboot
tftp_master_path = {work}/tftpboot/master

[dhcp]
dhcp_provider = none

[oslo_concurrency]
lock_path = {locks}

[oslo_policy]
enforce_scope = False
enforce_new_defaults = False
"""
IRONIC_DONE = re.compile(
    r"^(\S+ \S+) .*Completed power state sync operation, evaluated \d+ nodes with (\d+) "
    r"workers in ([0-9.]+) seconds"
)


IRONIC_FAILED = re.compile(r"^(\S+ \S+) .*During sync_power_state, could not get power state")
IRONIC_CALL = re.compile(r'^(\S+ \S+) .*CMD "ipmitool .* power status" returned')


def _when(stamp: str) -> float:
    whole, _, frac = stamp.partition(".")
    return time.mktime(time.strptime(whole, "%Y-%m-%d %H:%M:%S")) + float(f"0.{frac or 0}")


def ironic_cycles(text: str, after: float) -> list[dict[str, Any]]:
    """Complete sync cycles that started after `after`, with the power reads and failures
    Ironic logged while each ran."""
    done, failed, calls = [], [], []
    for line in text.splitlines():
        if m := IRONIC_DONE.match(line):
            done.append((_when(m.group(1)), float(m.group(3)), int(m.group(2))))
        elif m := IRONIC_FAILED.match(line):
            failed.append(_when(m.group(1)))
        elif m := IRONIC_CALL.match(line):
            calls.append(_when(m.group(1)))
    out = []
    for ended, seconds, workers in done:
        started = ended - seconds
        if started < after - 1:
            continue
        out.append(
            {
                "seconds": seconds,
                "workers": workers,
                "reads": sum(started <= t <= ended for t in calls),
                "failures": sum(started <= t <= ended for t in failed),
            }
        )
    return out


def wait_for_ipmi_driver(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                r = client.get(f"{url}/v1/drivers")
                if r.status_code == 200 and '"ipmi"' in r.text:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"Ironic did not come up with the ipmi driver within {timeout:g} s")


def run_ironic(fleet: Fleet, n: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    venv = Path(args.ironic_venv)
    if not (venv / "bin" / "ironic").exists():
        return {"error": f"no {venv}/bin/ironic; run INSTALL=1 {args.ironic_installer}"}
    work = out / "ironic"
    for sub in ("locks", "httpboot", "tftpboot"):  # the ipxe boot interface wants its folders
        (work / sub).mkdir(parents=True, exist_ok=True)
    port = free_port(set())
    conf = work / "ironic.conf"
    db_path, log_path = work / "ironic.db", work / "ironic.log"
    conf.write_text(
        IRONIC_CONF.format(log=log_path, port=port, db=db_path, locks=work / "locks", work=work)
    )
    subprocess.run(
        [str(venv / "bin" / "ironic-dbsync"), "--config-file", str(conf), "create_schema"],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    proc = subprocess.Popen(
        [str(venv / "bin" / "ironic"), "--config-file", str(conf)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ipmi_driver(url, proc, 120)
        specs = fleet.specs[:n]
        headers = {"X-OpenStack-Ironic-API-Version": "1.80"}
        t0 = time.monotonic()

        def create(spec: Any) -> int:
            body = {
                "name": spec.name,
                "driver": "ipmi",
                "driver_info": {
                    "ipmi_address": spec.address,
                    "ipmi_port": spec.port,
                    "ipmi_username": spec.username,
                    "ipmi_password": PASSWORD,
                },
            }
            with httpx.Client(timeout=60) as c:
                return c.post(f"{url}/v1/nodes", json=body, headers=headers).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(create, specs))
        log(f"Ironic: created {codes.count(201)}/{n} nodes in {time.monotonic() - t0:.1f} s")
        with sqlite3.connect(db_path) as conn:
            # what `manage` leaves: verified, power read, vendor cached (otherwise Ironic's first
            # sync of each node adds an `ipmitool mc info` after a 5 s min_command_interval)
            conn.execute(
                "UPDATE nodes SET provision_state='manageable', power_state='power off', "
                'properties=\'{"vendor": "emulated"}\''
            )
        marked = time.time()
        log("Ironic: nodes marked manageable; waiting for two complete sync cycles")
        cycles: list[dict[str, Any]] = []
        deadline = time.monotonic() + args.ironic_timeout
        while len(cycles) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(2)
            cycles = ironic_cycles(log_path.read_text(errors="replace"), marked)
        with sqlite3.connect(db_path) as conn:
            states = dict(
                conn.execute(
                    "SELECT coalesce(power_state, 'None'), count(*) FROM nodes GROUP BY 1"
                ).fetchall()
            )
            maint = conn.execute("SELECT count(*) FROM nodes WHERE maintenance").fetchone()[0]
        return {
            "n": n,
            "cycles": cycles,
            "power_states": states,
            "maintenance": maint,
            "cpu_s": round(cpu_of([proc.pid]), 1),
        }
    finally:
        stop_process(proc)


# --- the run ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--counts", default="1000,10000", help="fleet sizes, comma-separated")
    p.add_argument("--dead", type=float, default=1.0, help="%% of BMCs that never answer")
    p.add_argument(
        "--drift",
        type=float,
        default=1.0,
        help="%% of BMCs powered on out of band before the last cycle",
    )
    p.add_argument("--cycles", type=int, default=3)
    p.add_argument("--workers", type=int, default=256, help="conductor.power_sync_workers")
    p.add_argument("--no-ironic", action="store_true")
    p.add_argument("--ironic-nodes", type=int, default=1000)
    p.add_argument(
        "--ironic-venv", default=os.environ.get("BENCH_DIR", "/tmp/ironic-bench") + "/venv"
    )
    p.add_argument(
        "--ironic-installer",
        type=Path,
        default=SHARED_BENCH / "run_ironic.sh",
        help="run_ironic.sh of the shared Ironic benchmark kit (installs --ironic-venv)",
    )
    p.add_argument(
        "--ironic-timeout", type=float, default=1200, help="seconds to wait for 2 cycles"
    )
    args = p.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")]
    out = REPO / "bench" / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}-power-sync"
    out.mkdir(parents=True)
    results: dict[str, Any] = {"ironworks": [], "ironic": None}
    for n in counts:
        opts = FleetOptions(count=n, base_port=BASE_PORT, password=PASSWORD, address_each=True)
        specs = make_specs(opts, [f"dead={args.dead}%"] if args.dead else [])
        t0 = time.monotonic()
        with Fleet(specs).start(timeout=600) as fleet:
            log(
                f"{n} emulated BMCs up in {len(fleet.pids)} processes in "
                f"{time.monotonic() - t0:.1f} s"
            )
            results["ironworks"].append(run_ironworks(fleet, n, args, out))
            if not args.no_ironic and results["ironic"] is None and n >= args.ironic_nodes:
                results["ironic"] = run_ironic(fleet, args.ironic_nodes, args, out)
                log(f"Ironic: {results['ironic']}")
    (out / "results.json").write_text(json.dumps(results, indent=2))
    summary = render(results)
    (out / "summary.md").write_text(summary)
    print(summary)
    print(f"\nresults: {out}")
    return 0


def render(results: dict[str, Any]) -> str:
    lines = [
        "| BMCs | dead | cycle | wall s | answered | errors | drift found/made | "
        "CPU s (sync) | CPU s (emulators) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["ironworks"]:
        for i, c in enumerate(r["cycles"], 1):
            lines.append(
                f"| {r['n']:,} | {r['dead']} | {i}: {c['kind']} | {c['seconds']:.2f} | "
                f"{c['checked']} | {c['errors']} | {c['drift']}/{c['drift_expected']} | "
                f"{c['cpu_self_s']} | {c['cpu_emulators_s']} |"
            )
    big = [c["seconds"] for r in results["ironworks"] if r["n"] >= 10000 for c in r["cycles"]]
    if big:
        lines.append(
            f"\nGoal: a cycle over 10,000 BMCs under {GOAL_S:g} s: slowest cycle "
            f"{max(big):.2f} s: {'PASS' if max(big) < GOAL_S else 'FAIL'}"
        )
    ironic = results.get("ironic")
    if ironic:
        lines.append("")
        if "error" in ironic or not ironic.get("cycles"):
            lines.append(f"Ironic: no figure ({ironic.get('error') or 'no complete cycle logged'})")
        else:
            ours = next((r for r in results["ironworks"] if r["n"] == ironic["n"]), None)
            cold = ours["cycles"][0]["seconds"] if ours else None
            warm = (
                min(c["seconds"] for c in ours["cycles"][1:])
                if ours and len(ours["cycles"]) > 1
                else None
            )
            for i, c in enumerate(ironic["cycles"], 1):
                vs = [
                    f"{c['seconds'] / x:.1f}× Ironworks' {k} cycle ({x:.2f} s)"
                    for k, x in (("cold", cold), ("warm", warm))
                    if x
                ]
                lines.append(
                    f"Ironic power sync over the same {ironic['n']:,} BMCs, cycle {i}: "
                    f"{c['seconds']:.2f} s with {c['workers']} workers, "
                    f"{c['reads']} power reads, {c['failures']} failures; " + "; ".join(vs)
                )
            lines.append(
                f"Ironic afterwards: power states {ironic['power_states']}, "
                f"{ironic['maintenance']} in maintenance, {ironic['cpu_s']} CPU s"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
