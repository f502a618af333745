#!/usr/bin/env python3
"""Scale-out on PostgreSQL: 10,000 fake-hardware nodes, 2 API + 2 conductor processes.

1. a fresh database (`--pg-url`), `ironworks db upgrade`, then two `ironworks api` on two
   loopback ports and two `ironworks conductor` (names scale-c1, scale-c2), one shared
   IRONWORKS_HOME (the secret key; fake hardware needs no boot services);
2. enrols `--nodes` fake-hardware nodes through `POST /api/v1/nodes/import` in chunks, and makes
   `--deploy-share` of them (default 10%) available (manage, provide);
3. **steady**: for `--duration` seconds, `--concurrency` clients, each request to one of the two
   APIs in turn (a load balancer's round robin), a mix of: a page of the node list (limit 100,
   15%), a single-node GET (50%), a power on/off of a random enrolled node (20%), a deploy of an
   available node of the share or an undeploy of an active one (15%);
4. **failover**: the same mix again, while conductor scale-c1 is killed (SIGKILL) a third of the
   way in and started again two thirds in (under the same name, once its heartbeat has expired);
5. after each phase: waits until no node has work in flight, then checks from the nodes'
   history that every accepted power and provision request ran once: the number of history
   lines of each kind equals the number of requests accepted (202).

Prints per phase: requests, throughput, p50/p99 latency per kind and overall, 4xx/5xx, and the
conductors' CPU seconds and peak RSS; the goals (p99 < 100 ms, zero 5xx, nothing lost) as
PASS/FAIL. Figures, never asserts timings; exit status 1 if a check failed. Results land in
bench/results/<stamp>-scale-n<N>/ (gitignored).

    .venv/bin/python bench/scale.py                      # 10,000 nodes, 60 s per phase
    .venv/bin/python bench/scale.py --nodes 2000 --duration 30 --no-failover
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_workload import DEFAULT_PG_URL, PgTarget, free_port, stop_process, wait_ready

REPO = Path(__file__).resolve().parent.parent
HEADERS = {"X-OpenStack-Ironic-API-Version": "1.80"}
GOAL_P99_MS = 100.0
MIX = (("list", 15), ("get", 50), ("power", 20), ("provision", 15))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the processes -------------------------------------------------------------------------------


@dataclass
class Fleet:
    """The two APIs and two conductors, with their logs."""

    exe: str
    env: dict[str, str]
    out: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of processes gone

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        with (self.out / f"{name}.log").open("ab") as lf:
            self.procs[name] = subprocess.Popen(
                [self.exe, *args],
                env={**self.env, **(env or {})},
                stdout=lf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def start_api(self, name: str) -> None:
        port = free_port(set())
        self.start(name, "api", "--host", "127.0.0.1", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, self.procs[name], self.out / f"{name}.log", 120)
        self.urls.append(url)

    def start_conductor(self, name: str) -> None:
        self.start(name, "conductor", env={"IRONWORKS_CONDUCTOR__HOSTNAME": name})

    def usage(self, name: str) -> tuple[float, float]:
        """CPU seconds (this run of it and earlier ones) and peak RSS (MiB) of a process."""
        proc = self.procs[name]
        cpu, rss = self.cpu.get(name, 0.0), 0.0
        if proc.poll() is None:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1]) / 1024
        return cpu, rss

    def kill(self, name: str) -> None:
        self.cpu[name] = self.usage(name)[0]
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                stop_process(proc)


# --- the nodes -----------------------------------------------------------------------------------


def enrol(client: httpx.Client, count: int, chunk: int = 1000) -> list[str]:
    """`count` fake-hardware nodes through the CSV import, in chunks; their uuids."""
    header = "name,driver,bmc_address,cpu_arch,resource_class,cpus,memory_mb,local_gb\r\n"
    uuids: list[str] = []
    for start in range(0, count, chunk):
        rows = [
            f"scale-{i:05d},fake-hardware,10.99.{(i >> 8) & 0xFF}.{i & 0xFF},x86_64,"
            f"baremetal,32,131072,480\r\n"
            for i in range(start, min(count, start + chunk))
        ]
        r = client.post(
            "/api/v1/nodes/import",
            content=(header + "".join(rows)).encode(),
            headers={"Content-Type": "text/csv"},
            timeout=600,
        )
        if r.status_code != 200:
            raise RuntimeError(f"import failed: {r.status_code} {r.text[:500]}")
        uuids += [n["uuid"] for n in r.json()["created"]]
    return uuids


def wait_settled(client: httpx.Client, timeout: float) -> int:
    """Wait until no node has work in flight; the count of those still busy at the end."""
    deadline = time.monotonic() + timeout
    busy = -1
    while time.monotonic() < deadline:
        busy, marker = 0, None
        while True:
            params: dict[str, Any] = {
                "fields": "uuid,target_provision_state,target_power_state,reservation",
                "limit": 1000,
            }
            if marker:
                params["marker"] = marker
            page = client.get("/v1/nodes", params=params, headers=HEADERS).json()["nodes"]
            busy += sum(
                1
                for n in page
                if n["target_provision_state"] or n["target_power_state"] or n["reservation"]
            )
            if len(page) < 1000:
                break
            marker = page[-1]["uuid"]
        if busy == 0:
            return 0
        time.sleep(2)
    return busy


def provision_all(client: httpx.Client, uuids: list[str], verb: str, want: str) -> None:
    for u in uuids:
        r = client.put(f"/v1/nodes/{u}/states/provision", json={"target": verb}, headers=HEADERS)
        if r.status_code != 202:
            raise RuntimeError(f"{verb} {u}: {r.status_code} {r.text[:300]}")
    left = wait_settled(client, 1800)
    if left:
        raise RuntimeError(f"{left} nodes still busy after {verb}")


# --- the workload --------------------------------------------------------------------------------


@dataclass
class Tally:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    codes: Counter[int] = field(default_factory=Counter)
    # accepted requests (202) per node: ("power", target) / ("provision", verb)
    accepted: dict[str, Counter[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def worker(
    urls: list[str],
    nodes: list[str],
    share: list[str],
    until: float,
    seed: int,
    tally: Tally,
) -> None:
    rnd = random.Random(seed)
    clients = [httpx.Client(base_url=u, headers=HEADERS, timeout=60) for u in urls]
    kinds = [k for k, w in MIX for _ in range(w)]
    turn = seed
    try:
        while time.monotonic() < until:
            turn += 1
            client = clients[turn % len(clients)]
            kind = rnd.choice(kinds)
            started = time.perf_counter()
            accepted: tuple[str, str] | None = None
            node = ""
            try:
                if kind == "list":
                    r = client.get(
                        "/v1/nodes",
                        params={
                            "limit": 100,
                            "marker": rnd.choice(nodes),
                            "fields": "uuid,name,provision_state,power_state",
                        },
                    )
                elif kind == "get":
                    r = client.get(f"/v1/nodes/{rnd.choice(nodes)}")
                elif kind == "power":
                    node = rnd.choice(nodes)
                    target = rnd.choice(("power on", "power off"))
                    r = client.put(f"/v1/nodes/{node}/states/power", json={"target": target})
                    accepted = ("power", target)
                else:
                    node = rnd.choice(share)
                    state = client.get(f"/v1/nodes/{node}", params={"fields": "provision_state"})
                    verb = (
                        "deleted" if state.json().get("provision_state") == "active" else "active"
                    )
                    body: dict[str, Any] = {"target": verb}
                    r = client.put(f"/v1/nodes/{node}/states/provision", json=body)
                    accepted = ("provision", verb)
            except httpx.HTTPError as e:
                with tally.lock:
                    tally.errors.append(f"{kind}: {e!r}")
                continue
            took = (time.perf_counter() - started) * 1000
            with tally.lock:
                tally.latency[kind].append(took)
                tally.codes[r.status_code] += 1
                if accepted and r.status_code == 202:
                    tally.accepted[node][accepted] += 1
                if r.status_code >= 500 and len(tally.errors) < 50:
                    tally.errors.append(f"{kind} {r.status_code}: {r.text[:200]}")
    finally:
        for c in clients:
            c.close()


def history_check(client: httpx.Client, tally: Tally, since: float) -> list[str]:
    """Every accepted request ran once: per node, the history lines of this phase of each kind
    (power: '<target>: <before> -> <after>' or '<target> failed: ...'; a deploy: the step out
    of `deploying`; an undeploy: the step out of `deleting`) equal the requests accepted."""
    problems = []
    for node, wanted in tally.accepted.items():
        hist = client.get(
            f"/v1/nodes/{node}/history", params={"detail": "True", "limit": 1000}, headers=HEADERS
        )
        lines = [h for h in hist.json()["history"] if _ts(h["created_at"]) >= since]
        got: Counter[tuple[str, str]] = Counter()
        for h in lines:
            text = h["event"]
            if h["event_type"] == "power":
                for target in ("power on", "power off"):
                    if text.startswith(f"{target}:") or text.startswith(f"{target} failed"):
                        got[("power", target)] += 1
            elif h["event_type"] == "provisioning" and h.get("from_state") == "deploying":
                got[("provision", "active")] += 1
            elif h["event_type"] == "provisioning" and h.get("from_state") == "deleting":
                got[("provision", "deleted")] += 1
        for key, n in wanted.items():
            if got[key] != n:
                problems.append(f"node {node}: {n} {key} accepted, {got[key]} ran")
    return problems


def _ts(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_phase(
    name: str,
    fleet: Fleet,
    nodes: list[str],
    share: list[str],
    args: argparse.Namespace,
    during: list[tuple[float, Any]] | None = None,
) -> dict[str, Any]:
    log(f"{name}: {args.concurrency} clients for {args.duration} s")
    tally = Tally()
    since = time.time() - 1
    before = {c: fleet.usage(c)[0] for c in ("scale-c1", "scale-c2")}
    started = time.monotonic()
    until = started + args.duration
    threads = [
        threading.Thread(target=worker, args=(fleet.urls, nodes, share, until, 1000 * i + 7, tally))
        for i in range(args.concurrency)
    ]
    for t in threads:
        t.start()
    for at, action in during or ():
        time.sleep(max(0.0, started + at - time.monotonic()))
        action()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    usage = {c: fleet.usage(c) for c in ("scale-c1", "scale-c2")}
    with httpx.Client(base_url=fleet.urls[0], timeout=120) as client:
        log(f"{name}: waiting for the work in flight to finish")
        busy = wait_settled(client, args.settle_timeout)
        problems = history_check(client, tally, since)
    every = [x for v in tally.latency.values() for x in v]
    return {
        "phase": name,
        "seconds": round(elapsed, 1),
        "requests": len(every),
        "throughput": round(len(every) / elapsed, 1),
        "p50_ms": pct(every, 0.50),
        "p99_ms": pct(every, 0.99),
        "by_kind": {
            k: {"n": len(v), "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99)}
            for k, v in sorted(tally.latency.items())
        },
        "codes": dict(sorted(tally.codes.items())),
        "5xx": sum(n for c, n in tally.codes.items() if c >= 500),
        "transport_errors": len([e for e in tally.errors if "HTTP" not in e[:12]]),
        "errors": tally.errors[:20],
        "accepted": sum(sum(c.values()) for c in tally.accepted.values()),
        "still_busy": busy,
        "lost_or_twice": problems[:20],
        "lost_or_twice_count": len(problems),
        "conductors": {
            c: {"cpu_s": round(usage[c][0] - before[c], 1), "rss_peak_mib": round(usage[c][1], 1)}
            for c in usage
        },
    }


def table(res: dict[str, Any]) -> str:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    ok_p99 = res["p99_ms"] is not None and res["p99_ms"] < GOAL_P99_MS
    lines = [
        f"### {res['phase']}: {res['requests']} requests in {res['seconds']} s "
        f"({res['throughput']}/s)",
        "",
        "| kind | requests | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
    ]
    for kind, k in res["by_kind"].items():
        lines.append(f"| {kind} | {k['n']} | {ms(k['p50_ms'])} | {ms(k['p99_ms'])} |")
    lines.append(f"| **all** | {res['requests']} | {ms(res['p50_ms'])} | {ms(res['p99_ms'])} |")
    lines += [
        "",
        f"- p99 < {GOAL_P99_MS:.0f} ms: {'PASS' if ok_p99 else 'FAIL'} ({ms(res['p99_ms'])} ms)",
        f"- zero 5xx: {'PASS' if res['5xx'] == 0 else 'FAIL'} ({res['5xx']}; codes {res['codes']})",
        f"- every accepted request ran once ({res['accepted']} accepted): "
        f"{'PASS' if not res['lost_or_twice_count'] and not res['still_busy'] else 'FAIL'}"
        f" ({res['lost_or_twice_count']} mismatches, {res['still_busy']} nodes still busy)",
    ]
    for c, u in res["conductors"].items():
        lines.append(f"- conductor {c}: {u['cpu_s']} CPU s, peak RSS {u['rss_peak_mib']} MiB")
    for p in res["lost_or_twice"][:5]:
        lines.append(f"  - {p}")
    for e in res["errors"][:5]:
        lines.append(f"  - error: {e}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--nodes", type=int, default=10000)
    ap.add_argument("--deploy-share", type=float, default=0.10)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--settle-timeout", type=float, default=600.0)
    ap.add_argument("--no-failover", action="store_true", help="only the steady phase")
    ap.add_argument(
        "--pg-url", default=DEFAULT_PG_URL.replace("ironworks_bench", "ironworks_scale")
    )
    ap.add_argument("--ironworks", default=str(REPO / ".venv" / "bin" / "ironworks"))
    ap.add_argument("--keep", action="store_true", help="keep the home and database")
    args = ap.parse_args(argv)

    out = REPO / "bench" / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}-scale-n{args.nodes}"
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="ironworks-bench-scale-"))
    pg = PgTarget(args.pg_url)
    pg.recreate()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWORKS_")}
    env.update(
        IRONWORKS_HOME=str(home),
        IRONWORKS_DATABASE_URL=pg.url,
        IRONWORKS_AUTH__NOAUTH="true",
        IRONWORKS_LICENSE__EVALUATION_NODES="1000000",
        # a killed conductor is declared dead (and its nodes taken over) after 15 s
        IRONWORKS_CONDUCTOR__HEARTBEAT_INTERVAL="3",
        IRONWORKS_CONDUCTOR__HEARTBEAT_TIMEOUT="15",
        IRONWORKS_CONDUCTOR__PERIODIC_INTERVAL="3",
        IRONWORKS_CONDUCTOR__POWER_SYNC_INTERVAL="0",
    )
    fleet = Fleet(args.ironworks, env, out)
    results: list[dict[str, Any]] = []
    failed = False
    try:
        subprocess.run([args.ironworks, "db", "upgrade"], env=env, check=True, capture_output=True)
        for name in ("api-1", "api-2"):
            fleet.start_api(name)
        for name in ("scale-c1", "scale-c2"):
            fleet.start_conductor(name)
        log(f"2 APIs ({', '.join(fleet.urls)}) and 2 conductors on {pg.dbname}")
        with httpx.Client(base_url=fleet.urls[0], timeout=120) as client:
            t0 = time.perf_counter()
            nodes = enrol(client, args.nodes)
            log(f"enrolled {len(nodes)} nodes in {time.perf_counter() - t0:.1f} s")
            share = nodes[: max(1, int(len(nodes) * args.deploy_share))]
            t0 = time.perf_counter()
            provision_all(client, share, "manage", "manageable")
            provision_all(client, share, "provide", "available")
            log(f"{len(share)} nodes available in {time.perf_counter() - t0:.1f} s")
        results.append(run_phase("steady", fleet, nodes, share, args))
        print(table(results[-1]), flush=True)
        if not args.no_failover:
            third = args.duration / 3

            def kill() -> None:
                log("failover: SIGKILL conductor scale-c1")
                fleet.kill("scale-c1")

            def restart() -> None:
                log("failover: conductor scale-c1 starts again")
                fleet.start_conductor("scale-c1")

            during = [(third, kill), (max(2 * third, third + 16), restart)]
            results.append(run_phase("failover", fleet, nodes, share, args, during))
            print(table(results[-1]), flush=True)
    except Exception as e:
        log(f"failed: {e!r}")
        failed = True
    finally:
        fleet.stop()
        (out / "results.json").write_text(json.dumps(results, indent=2))
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
            pg.drop()
    for res in results:
        failed |= bool(res["5xx"] or res["lost_or_twice_count"] or res["still_busy"])
    summary = io.StringIO()
    for res in results:
        summary.write(table(res) + "\n\n")
    (out / "summary.md").write_text(summary.getvalue())
    log(f"results in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
