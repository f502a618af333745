#!/usr/bin/env python3
"""One conductor's sensor + event-log cycle over 1,000 emulated IPMI BMCs, 1% of them dead.

1. starts N emulated BMCs (`ironworks.lab.fleet`: real RMCP+ over UDP, one loopback address
   each, shards of 200 per process), `--dead` % of them never answer; powers the others on (so
   their sensors read running values and their event logs hold an entry) and injects a PSU
   failure into `--psu` of them (`ironworks lab sel inject`: an IPMI platform event message);
2. enrols them from the fleet's CSV through the importer into a fresh SQLite database, marks
   them manageable (in the database, so that the figure is the cycle's alone);
3. runs the conductor's sensor cycle (`SensorCycle.run`, the code the periodic thread runs)
   `--cycles` times: the first logs in to every BMC and reads its SDR and whole event log
   (cold), the next reuse the sessions and the SDR and read only what is new (warm). Prints each
   cycle's wall time (of which reading the BMCs), the BMCs read and failed, readings and new
   entries stored, alarms fired (expected: one per injected PSU failure, plus the dead BMCs'
   "unreachable" from the `unreachable_after`-th cycle), and the CPU seconds of this process
   and of the emulators.

Prints figures, never asserts them; the goal (issue 13) is a cycle under 30 s for 1,000 BMCs on
this 2-core machine, dead ones included. Results land in bench/results/<stamp>-sensors/.

    .venv/bin/python bench/sensors.py                    # 1,000 BMCs, 1% dead, 2 cycles
    .venv/bin/python bench/sensors.py --count 200 --dead 5 --cycles 3
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from power_sync import PASSWORD, cpu_of, enrolled, log, own_cpu

from ironworks.lab.fleet import Fleet, FleetOptions, make_specs
from ironworks.lab.sel import inject

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 30.0
BASE_PORT = 21000


def run(fleet: Fleet, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="ironworks-sensors-", dir=out))
    db, conductor = enrolled(
        fleet,
        home,
        "power on",
        conductor={"hostname": "bench", "power_sync_interval": 0},
        monitoring={"sensor_interval": 0, "sensor_workers": args.workers},
    )
    cycles = []
    for i in range(args.cycles):
        cpu0, emu0 = own_cpu(), cpu_of(fleet.pids)
        r = conductor.sensors.run()
        row = {
            **r.as_dict(),
            "cpu_self_s": round(own_cpu() - cpu0, 2),
            "cpu_emulators_s": round(cpu_of(fleet.pids) - emu0, 2),
            "kind": "cold (log in, SDR, whole log)" if i == 0 else "warm (kept sessions)",
        }
        cycles.append(row)
        log(f"cycle {i + 1}: {row}")
    db.dispose()
    return {"n": len(fleet.specs), "dead": sum(s.dead for s in fleet.specs), "cycles": cycles}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--count", type=int, default=1000, help="emulated BMCs")
    p.add_argument("--dead", type=float, default=1.0, help="%% of BMCs that never answer")
    p.add_argument("--psu", type=int, default=10, help="BMCs given a PSU failure event")
    p.add_argument("--cycles", type=int, default=2)
    p.add_argument("--workers", type=int, default=1024, help="monitoring.sensor_workers")
    args = p.parse_args(argv)
    out = REPO / "bench" / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}-sensors"
    out.mkdir(parents=True)
    opts = FleetOptions(count=args.count, base_port=BASE_PORT, password=PASSWORD, address_each=True)
    specs = make_specs(opts, [f"dead={args.dead}%"] if args.dead else [])
    t0 = time.monotonic()
    with Fleet(specs).start(timeout=600) as fleet:
        log(
            f"{args.count} emulated BMCs up in {len(fleet.pids)} processes in "
            f"{time.monotonic() - t0:.1f} s"
        )
        healthy = [s for s in specs if not s.dead]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda s: fleet.force_power(s.name, "on"), healthy))
        for s in healthy[: args.psu]:
            inject(s.address, s.port, s.username, s.password, "psu-failure")
        log(f"powered {len(healthy)} on, PSU failure injected into {min(args.psu, len(healthy))}")
        result = run(fleet, args, out)
    (out / "results.json").write_text(json.dumps(result, indent=2))
    print(
        "\n| cycle | seconds | reading BMCs s | read | errors | readings | new entries | "
        "alarms fired | CPU self s | CPU emulators s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in result["cycles"]:
        print(
            f"| {c['kind']} | {c['seconds']:.2f} | {c['read_seconds']:.2f} | {c['read']} | "
            f"{c['errors']} | {c['readings']} | {c['entries']} | {c['fired']} | "
            f"{c['cpu_self_s']} | {c['cpu_emulators_s']} |"
        )
    worst = max(c["seconds"] for c in result["cycles"])
    print(
        f"\n{result['n']} BMCs ({result['dead']} dead): slowest cycle {worst:.2f} s "
        f"(goal < {GOAL_S:g} s: {'PASS' if worst < GOAL_S else 'FAIL'})"
    )
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
