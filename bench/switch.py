"""Switch port moves over SSH: one session per move against one session per batch (root).

Builds a lab switch of its own (ironworks/lab/switch.py: a namespace, sshd inside it on
10.99.75.1, the loopback relay) with N ports (taps), then moves every port to a VLAN with the
real `linux-bridge` driver twice: one `apply` per port (a login per move, as a conductor
without batching would) and one `apply` for all of them (one login, one save). Checks on the
switch side that every port landed, and prints both times, in total and per port.

    .venv/bin/python bench/switch.py               # 50 ports
    .venv/bin/python bench/switch.py --ports 200

A real switch's login costs more than this one's (seconds, not tenths): the gap only grows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ironworks.drivers.switches import (
    CreateVlan,
    SetAccessVlan,
    SwitchAccess,
    driver_for,
)
from ironworks.lab import net
from ironworks.lab import switch as labswitch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ports", type=int, default=50, help="ports to move (default 50)")
    ap.add_argument("--namespace", default=f"iwls75b{os.getpid() % 10000}")
    ap.add_argument("--address", default="10.99.75.1", help="the switch's management address")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/switch.py needs root (network namespaces)", file=sys.stderr)
        return 2
    ports = [f"swp{i}" for i in range(args.ports)]
    with tempfile.TemporaryDirectory(prefix="iwls-bench-") as tmp:
        spec = labswitch.SwitchSpec(args.namespace, Path(tmp), address=args.address)
        labswitch.ensure_account(spec.username, spec.password)
        pid = None
        try:
            labswitch.ensure_switch(spec)
            for port in ports:
                net.ensure_tap(args.namespace, port, bridge=None)
            pid = labswitch.start_sshd(spec)
            with labswitch.Relay(spec) as relay:
                access = SwitchAccess(
                    name="bench-switch",
                    host="127.0.0.1",
                    port=relay.port,
                    username=spec.username,
                    password=spec.password,
                )
                driver = driver_for("linux-bridge", access)
                driver.apply([CreateVlan(201), CreateVlan(202)])

                start = time.perf_counter()
                for port in ports:
                    driver.apply([SetAccessVlan(port, 201)])
                one_by_one = time.perf_counter() - start
                assert labswitch.ports_of(args.namespace, 201) == sorted(ports)

                start = time.perf_counter()
                driver.apply([SetAccessVlan(port, 202) for port in ports])
                batched = time.perf_counter() - start
                assert labswitch.ports_of(args.namespace, 202) == sorted(ports)
                assert labswitch.ports_of(args.namespace, 201) == []
            logins = spec.log.read_text().count("Accepted password")
        finally:
            labswitch.stop_sshd(pid, spec)
            subprocess.run(["ip", "netns", "del", args.namespace], capture_output=True)
    n = len(ports)
    print(f"{n} port moves on the lab switch (linux-bridge over SSH, {logins} logins in all)")
    print(f"  one session per move: {one_by_one:7.2f} s  ({one_by_one / n * 1000:7.1f} ms/port)")
    print(f"  one batched session:  {batched:7.2f} s  ({batched / n * 1000:7.1f} ms/port)")
    print(f"  batching is {one_by_one / batched:.1f}x faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
