"""A fleet of emulated BMCs: specs, faults, shards of processes, and the CSV to enrol them.

`make_specs` lays N BMCs on consecutive UDP ports of one loopback address and picks which ones
carry faults (`dead=1%`, `slow=5`, ...: a share or a count, chosen by a seeded random so the same
command gives the same fleet). `Fleet` starts one process per shard of at most 200 BMCs
(multiprocessing, spawn: safe from a threaded parent such as a test run or a server) and can
read or set a machine's state through each shard's control pipe. `enrol_csv` prints what an
operator would enrol: the credentials they believe in, which for a wrong-password BMC are not
the BMC's own.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import multiprocessing
import random
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ironworks.lab.errors import LabError
from ironworks.lab.spec import BmcSpec

SHARD_SIZE = 200  # docs/lab.md: pyghmi's server is stable up to about 200 BMCs per process
FAULTS = ("dead", "slow", "badpass", "flap")
# The columns of `ironworks node import` (services/imports.py), so the printed CSV enrols as is.
CSV_COLUMNS = ("name", "driver", "bmc_address", "bmc_port", "bmc_username", "bmc_password", "macs")


@dataclass(frozen=True)
class FleetOptions:
    count: int
    base_port: int = 16230
    address: str = "127.0.0.1"
    username: str = "admin"
    password: str = "password"
    power_delay: float = 0.5
    shutdown_delay: float = 1.0
    slow_delay: float = 3.0
    flap_interval: float = 5.0
    seed: int = 0
    name_prefix: str = "lab-node-"
    # One loopback address per BMC (address, address + 1, ...), all on base_port, as in a
    # datacenter where every BMC has its own IP; otherwise one address, consecutive ports.
    address_each: bool = False


def parse_fault(text: str) -> tuple[str, float, bool]:
    """'dead=1%' → ("dead", 1.0, True); 'slow=3' → ("slow", 3.0, False)."""
    m = re.fullmatch(r"\s*([a-z]+)\s*=\s*([0-9.]+)\s*(%?)\s*", text)
    if not m or m.group(1) not in FAULTS:
        raise LabError(f"fault {text!r} is not KIND=N or KIND=P%, KIND one of {', '.join(FAULTS)}")
    return m.group(1), float(m.group(2)), bool(m.group(3))


def check_address(address: str) -> None:
    """Emulators listen on loopback only: a lab must never answer on the machine's network."""
    try:
        ok = ipaddress.ip_address(address).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise LabError(
            f"--address {address} is not a loopback address; the lab binds to "
            "127.0.0.0/8 or ::1 only"
        )


def make_specs(opts: FleetOptions, faults: Sequence[str] = ()) -> list[BmcSpec]:
    check_address(opts.address)
    if opts.count < 1:
        raise LabError("--count must be at least 1")
    if opts.address_each:
        last = ipaddress.ip_address(opts.address) + (opts.count - 1)
        if not last.is_loopback:
            raise LabError(
                f"{opts.count} addresses from {opts.address} leave the loopback "
                f"range (the last would be {last})"
            )
    elif opts.base_port < 1 or opts.base_port + opts.count - 1 > 65535:
        raise LabError(
            f"ports {opts.base_port}..{opts.base_port + opts.count - 1} do not fit in 1..65535"
        )
    width = max(4, len(str(opts.count)))
    specs = [
        BmcSpec(
            name=f"{opts.name_prefix}{i:0{width}d}",
            address=str(ipaddress.ip_address(opts.address) + i)
            if opts.address_each
            else opts.address,
            port=opts.base_port if opts.address_each else opts.base_port + i,
            username=opts.username,
            password=opts.password,
            mac=f"52:54:00:{(i >> 16) & 0xFF:02x}:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}",
            power_delay=opts.power_delay,
            shutdown_delay=opts.shutdown_delay,
        )
        for i in range(opts.count)
    ]
    rng = random.Random(opts.seed)
    healthy = list(range(opts.count))  # one fault per BMC, so that each shows what it does
    for text in faults:
        kind, amount, share = parse_fault(text)
        n = round(opts.count * amount / 100) if share else int(amount)
        if share and amount > 0:
            n = max(1, n)
        if n > len(healthy):
            raise LabError(f"fault {text!r}: only {len(healthy)} BMCs are left without a fault")
        for i in rng.sample(healthy, n):
            healthy.remove(i)
            specs[i] = with_fault(specs[i], kind, opts)
    return specs


def with_fault(spec: BmcSpec, kind: str, opts: FleetOptions) -> BmcSpec:
    if kind == "dead":
        return replace(spec, dead=True)
    if kind == "slow":
        return replace(spec, slow=opts.slow_delay)
    if kind == "badpass":
        return replace(spec, password=spec.password + "-changed")
    return replace(spec, flap_interval=opts.flap_interval)


def faults_of(spec: BmcSpec, enrolled_password: str) -> list[str]:
    out = []
    if spec.dead:
        out.append("dead")
    if spec.slow:
        out.append(f"slow {spec.slow:g}s")
    if spec.password != enrolled_password:
        out.append("badpass")
    if spec.flap_interval:
        out.append(f"flap {spec.flap_interval:g}s")
    return out


def enrol_csv(specs: list[BmcSpec], password: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for s in specs:
        w.writerow([s.name, "ipmi", s.address, s.port, s.username, password, s.mac])
    return buf.getvalue()


class Fleet:
    """Emulated BMCs served by shard processes; a context manager that stops them by PID."""

    def __init__(self, specs: list[BmcSpec], shard_size: int = SHARD_SIZE) -> None:
        if not 1 <= shard_size <= SHARD_SIZE:
            raise LabError(f"shard size must be 1..{SHARD_SIZE}")
        self.specs = specs
        self.shard_size = shard_size
        self._procs: list[Any] = []
        self._conns: list[Any] = []
        self._shard_of: dict[str, int] = {}
        self._locks: list[threading.Lock] = []

    def start(self, timeout: float = 60.0) -> Fleet:
        # pyghmi only where BMCs are served; bmc.py imports nothing of the fleet (one way)
        from ironworks.lab.bmc import serve_shard

        ctx = multiprocessing.get_context("spawn")
        chunks = [
            self.specs[i : i + self.shard_size] for i in range(0, len(self.specs), self.shard_size)
        ]
        try:
            for n, chunk in enumerate(chunks):
                parent, child = ctx.Pipe()
                proc = ctx.Process(
                    target=serve_shard, args=(chunk, child), daemon=True, name=f"lab-bmc-shard-{n}"
                )
                proc.start()
                child.close()
                self._procs.append(proc)
                self._conns.append(parent)
                self._locks.append(threading.Lock())
                for spec in chunk:
                    self._shard_of[spec.name] = n
            for n, conn in enumerate(self._conns):
                if not conn.poll(timeout):
                    raise LabError(f"BMC shard {n} did not start within {timeout:g} s")
                status, detail = conn.recv()
                if status != "ready":
                    raise LabError(str(detail))
        except BaseException:
            self.stop()
            raise
        return self

    def _ask(self, name: str, *msg: Any) -> dict[str, Any]:
        n = self._shard_of[name]
        with self._locks[n]:
            self._conns[n].send(msg)
            out = self._conns[n].recv()
        if "error" in out:
            raise LabError(out["error"])
        return out

    def snapshot(self, name: str) -> dict[str, Any]:
        """The machine behind BMC `name`: power, boot device, persistence, boots, NMIs."""
        return self._ask(name, "snapshot", name)

    def force_power(self, name: str, state: str) -> dict[str, Any]:
        return self._ask(name, "power", name, state)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p.pid is not None]

    def alive(self) -> bool:
        return bool(self._procs) and all(p.is_alive() for p in self._procs)

    def stop(self) -> None:
        for conn in self._conns:
            conn.close()
        for p in self._procs:
            if p.is_alive():
                p.terminate()
        for p in self._procs:
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join(5)
        self._procs.clear()
        self._conns.clear()

    def __enter__(self) -> Fleet:
        return self.start() if not self._procs else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
