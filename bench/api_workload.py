#!/usr/bin/env python3
"""Ironworks vs OpenStack Ironic on the shared Ironic v1 API workload, side by side.

For each backend in --backends (sqlite, postgresql):
  1. start a fresh `ironworks serve` (fresh IRONWORKS_HOME; for PostgreSQL a freshly created
     database), default settings, log to a file; run the shared harness
     (ironic_api_workload.py) against it unchanged; take the server's peak RSS (VmHWM from
     /proc at the end and the harness's own samples); stop the server;
  2. unless --no-ironic, run OpenStack Ironic on the same backend with the shared
     bench_ironic.sh and read its result JSON from $BENCH_DIR/results;
then print one markdown table per backend with the targets marked PASS/FAIL.

Raw JSON, server and harness logs and the tables go to bench/results/<stamp>-n<N>-c<C>/.
Arguments after `--` are passed to both harness runs (e.g. `-- --phase-timeout 900`).

Standard library + httpx only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

REPO = Path(__file__).resolve().parent.parent
# The shared Ironic benchmark kit (the workload harness, bench_ironic.sh, run_ironic.sh): by
# default next to the repository; --harness (and power_sync.py's --ironic-installer) name another.
SHARED_BENCH = REPO.parent / "shared" / "bench"
DEFAULT_HARNESS = SHARED_BENCH / "ironic_api_workload.py"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/ironworks_bench"
BACKENDS = ("sqlite", "postgresql")

# The targets.
TARGET_RATIO = 10.0  # every phase at least this many times Ironic's throughput
TARGET_LIST_S = 0.15  # GET /v1/nodes?detail=True over 1000 nodes, all pages
TARGET_LIST_NODES = 1000
TARGET_GET_P99_MS = 5.0  # single-node GET, sequential
TARGET_RSS_MIB = 150.0  # Ironworks peak RSS


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------- processes


def free_port(avoid: set[int]) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in avoid:
            return port


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def proc_tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def vm_status_kib(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS (KiB) summed over pid and its descendants."""
    total = {"VmHWM": 0, "VmRSS": 0}
    for p in proc_tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            key, _, rest = line.partition(":")
            if key in total:
                total[key] += int(rest.split()[0])
    return total


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        log(f"pid {proc.pid} ignored SIGTERM for {timeout:.0f} s; killing it")
        proc.kill()
        proc.wait()


def run_tee(
    cmd: Sequence[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    stdout_path: Path | None = None,
) -> int:
    """Run cmd, copying its stderr to log_path and to ours; stdout to stdout_path if given,
    else along with stderr."""
    with contextlib.ExitStack() as stack:
        log_file = stack.enter_context(log_path.open("wb"))
        if stdout_path is None:  # both streams through one pipe
            out: IO[bytes] | int = subprocess.PIPE
            err: int = subprocess.STDOUT
        else:
            out, err = stack.enter_context(stdout_path.open("wb")), subprocess.PIPE
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        pipe = proc.stdout if stdout_path is None else proc.stderr
        assert pipe is not None
        for line in pipe:
            log_file.write(line)
            log_file.flush()
            sys.stderr.buffer.write(line)
            sys.stderr.flush()
        return proc.wait()


# ----------------------------------------------------------------------------------- postgres


@dataclass
class PgTarget:
    url: str  # postgresql+psycopg://user@host:port/db

    @property
    def parts(self) -> urllib.parse.SplitResult:
        return urllib.parse.urlsplit(self.url)

    @property
    def dbname(self) -> str:
        return self.parts.path.lstrip("/")

    def psql(self, sql: str) -> None:
        p = self.parts
        env = dict(os.environ)
        if p.password:
            env["PGPASSWORD"] = urllib.parse.unquote(p.password)
        cmd = [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            p.hostname or "127.0.0.1",
            "-p",
            str(p.port or 5432),
            "-U",
            urllib.parse.unquote(p.username or "postgres"),
            "-d",
            "postgres",
            "-c",
            sql,
        ]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {r.stderr.strip()}")

    def recreate(self) -> None:
        ident = '"' + self.dbname.replace('"', '""') + '"'
        self.psql(f"DROP DATABASE IF EXISTS {ident} WITH (FORCE)")
        self.psql(f"CREATE DATABASE {ident}")

    def drop(self) -> None:
        ident = '"' + self.dbname.replace('"', '""') + '"'
        self.psql(f"DROP DATABASE IF EXISTS {ident} WITH (FORCE)")


# ---------------------------------------------------------------------------------- ironworks


@dataclass
class RunResult:
    """One server's run on one backend: the harness JSON plus what we measured around it."""

    data: dict[str, Any] | None = None
    error: str | None = None
    rss_peak_mib: float | None = None  # Ironworks: max(VmHWM at end, harness samples)
    rss_end_mib: float | None = None
    startup_s: float | None = None
    log_errors: int | None = None  # ERROR lines in the server log
    problems: list[str] = field(default_factory=list)  # for the notes under the table
    extra: dict[str, Any] = field(default_factory=dict)


def harness_problems(log_text: str, failed: bool) -> list[str]:
    """Phases the harness reported TIMED OUT and, if it failed, its last line (the exception)."""
    out = [f"harness: {x.strip()}" for x in log_text.splitlines() if "TIMED OUT" in x]
    tail = [x for x in log_text.splitlines() if x.strip()]
    if failed and tail:
        out.append(f"harness ended with: {tail[-1].strip()[:300]}")
    return out


def server_log_errors(text: str) -> tuple[int, list[str]]:
    """(ERROR lines, distinct 'message -> exception' with counts) of an Ironworks log."""
    lines = text.splitlines()
    count = 0
    seen: dict[str, int] = {}
    for i, line in enumerate(lines):
        if " ERROR " not in line:
            continue
        count += 1
        msg = line.split("] ", 1)[-1].strip()
        exc = ""
        if i + 1 < len(lines) and lines[i + 1].startswith("Traceback"):
            for nxt in lines[i + 2 :]:
                if nxt and not nxt[0].isspace():
                    exc = nxt.strip()
                    break
        key = f"{msg} -> {exc}" if exc else msg
        seen[key] = seen.get(key, 0) + 1
    top = sorted(seen.items(), key=lambda kv: -kv[1])[:3]
    return count, [f"server log {n}× ERROR: {k[:300]}" for k, n in top]


def wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    """Until the API answers and lists the fake-hardware driver (as run_ironic.sh waits)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"ironworks exited with {proc.returncode}:\n{tail}")
            try:
                r = client.get(f"{url}/v1/drivers")
                if r.status_code == 200 and "fake-hardware" in r.text:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"ironworks did not come up within {timeout:.0f} s; see {log_path}")


def run_ironworks(
    args: argparse.Namespace, backend: str, port: int, out: Path, extra: list[str]
) -> RunResult:
    res = RunResult()
    tag = f"ironworks-{backend}-n{args.nodes}-c{args.concurrency}"
    server_log = out / f"ironworks-{backend}.server.log"
    json_out = out / f"ironworks-{backend}.json"
    home = Path(tempfile.mkdtemp(prefix=f"ironworks-bench-{backend}-"))
    pg = PgTarget(args.pg_url) if backend == "postgresql" else None

    # Default settings: nothing from our own environment may leak into the server's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWORKS_")}
    env["IRONWORKS_HOME"] = str(home)
    # the shared harness, like Ironic's noauth, sends no token; thousands of nodes, no license
    env["IRONWORKS_AUTH__NOAUTH"] = "true"
    env["IRONWORKS_LICENSE__EVALUATION_NODES"] = "1000000"
    if pg is not None:
        pg.recreate()
        env["IRONWORKS_DATABASE_URL"] = pg.url
    cmd = [str(args.ironworks), "serve", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    log(f"{tag}: starting {' '.join(cmd)} (home {home}, log {server_log})")
    proc: subprocess.Popen[bytes] | None = None
    try:
        with server_log.open("wb") as lf:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                cmd, env=env, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        wait_ready(url, proc, server_log, args.startup_timeout)
        res.startup_s = round(time.perf_counter() - t0, 2)
        log(f"{tag}: pid {proc.pid} up on {url} in {res.startup_s} s; running the harness")
        harness_cmd = [
            sys.executable,
            str(args.harness),
            "--endpoint",
            url,
            "--nodes",
            str(args.nodes),
            "--concurrency",
            str(args.concurrency),
            "--server-pid",
            str(proc.pid),
            "--label",
            tag,
            "--json-out",
            str(json_out),
            *extra,
        ]
        rc = run_tee(
            harness_cmd,
            out / f"ironworks-{backend}.harness.log",
            stdout_path=out / f"ironworks-{backend}.harness.stdout",
        )
        status = vm_status_kib(proc.pid) if proc.poll() is None else None
        if proc.poll() is not None:
            res.error = f"the server died during the run (exit {proc.returncode})"
        if rc != 0:
            res.error = (res.error + "; " if res.error else "") + f"the harness exited {rc}"
        if json_out.is_file():
            res.data = json.loads(json_out.read_text())
        samples = [
            s.get("total_kib", 0) for s in ((res.data or {}).get("server_rss") or {}).values()
        ]
        if status is not None:
            res.rss_end_mib = round(status["VmRSS"] / 1024, 1)
            samples.append(status["VmHWM"])
            res.extra["vm_status_end_kib"] = status
        if samples:
            res.rss_peak_mib = round(max(samples) / 1024, 1)
    except Exception as e:
        res.error = str(e)
    finally:
        if proc is not None:
            stop_process(proc)
        if pg is not None and not args.keep:
            try:
                pg.drop()
            except RuntimeError as e:
                log(f"{tag}: {e}")
        if args.keep:
            log(f"{tag}: kept home {home}" + (f" and database {pg.dbname}" if pg else ""))
        else:
            shutil.rmtree(home, ignore_errors=True)
    harness_log = out / f"ironworks-{backend}.harness.log"
    if harness_log.is_file():
        failed = res.data is None or bool(res.error)
        res.problems += harness_problems(harness_log.read_text(errors="replace"), failed)
    if server_log.is_file():
        res.log_errors, found = server_log_errors(server_log.read_text(errors="replace"))
        res.problems += found
    if res.data is not None:
        res.data["ironworks_bench"] = {
            "backend": backend,
            "startup_seconds": res.startup_s,
            "rss_peak_mib": res.rss_peak_mib,
            "rss_end_mib": res.rss_end_mib,
            "server_log_error_lines": res.log_errors,
            **res.extra,
        }
        json_out.write_text(json.dumps(res.data, indent=2))
    return res


# ------------------------------------------------------------------------------------- ironic


def run_ironic(
    args: argparse.Namespace, backend: str, port: int, out: Path, stamp: str, extra: list[str]
) -> RunResult:
    res = RunResult()
    suffix = f"-iw{stamp}"
    bench_dir = Path(os.environ.get("BENCH_DIR", "/tmp/ironic-bench"))
    src = bench_dir / "results" / f"ironic-{backend}-n{args.nodes}-c{args.concurrency}{suffix}.json"
    env = dict(os.environ, BENCH_DIR=str(bench_dir), IRONIC_PORT=str(port), TAG_SUFFIX=suffix)
    cmd = ["bash", str(args.ironic_script), backend, str(args.nodes), str(args.concurrency), *extra]
    log(f"ironic-{backend}: {' '.join(cmd)} (IRONIC_PORT={port}, BENCH_DIR={bench_dir})")
    try:
        rc = run_tee(cmd, out / f"ironic-{backend}.log", env=env)
        if src.is_file():
            res.data = json.loads(src.read_text())
            (out / f"ironic-{backend}.json").write_text(json.dumps(res.data, indent=2))
        ironic_log = (out / f"ironic-{backend}.log").read_text(errors="replace")
        res.problems += harness_problems(ironic_log, rc != 0)
        if rc != 0:
            res.error = f"bench_ironic.sh exited {rc}"
        elif res.data is None:
            res.error = f"no result file {src}"
    except Exception as e:
        res.error = str(e)
    if res.data is not None:
        res.rss_end_mib = res.data.get("rss_end_total_mib")
        res.startup_s = res.data.get("startup_seconds")
        samples = [s.get("total_kib", 0) for s in (res.data.get("server_rss") or {}).values()]
        if samples:
            res.rss_peak_mib = round(max(samples) / 1024, 1)
    return res


# ---------------------------------------------------------------------------------- reporting


@dataclass
class Metric:
    value: float | None  # wall seconds or milliseconds
    done: int | None = None  # items the phase completed
    total: int | None = None  # items it should have completed
    note: str = ""

    @property
    def rate(self) -> float | None:
        if self.value is None or self.value <= 0:
            return None
        return (self.done if self.done is not None else 1) / self.value


def _phase(d: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    return ((d or {}).get("phases") or {}).get(name)


def provision_metric(d: dict[str, Any] | None, name: str) -> Metric:
    ph = _phase(d, name)
    if not ph:
        return Metric(None)
    note = " TIMEOUT" if ph.get("timed_out") else ""
    return Metric(ph.get("wall_s"), ph.get("reached"), ph.get("nodes"), note)


def create_metric(d: dict[str, Any] | None) -> Metric:
    ph = _phase(d, "create")
    if not ph:
        return Metric(None)
    n = (d or {}).get("nodes")
    note = ""
    if ph.get("ports_created") != ph.get("nodes_created"):
        note = f" ports {ph.get('ports_created')}"
    return Metric(ph.get("wall_s"), ph.get("nodes_created"), n, note)


def list_metric(d: dict[str, Any] | None) -> Metric:
    ph = _phase(d, "list")
    if not ph:
        return Metric(None)
    return Metric(ph.get("list_detail_wall_s"), ph.get("items_listed"), (d or {}).get("nodes"))


def get_metric(d: dict[str, Any] | None, key: str) -> Metric:
    seq = (_phase(d, "list") or {}).get("get_one_sequential") or {}
    return Metric(seq.get(key), None, None, "")


def power_metric(d: dict[str, Any] | None) -> Metric:
    ph = _phase(d, "power")
    if not ph:
        return Metric(None)
    on, off = ph.get("power_on") or {}, ph.get("power_off") or {}
    done = (on.get("reached") or 0) + (off.get("reached") or 0)
    note = " TIMEOUT" if on.get("timed_out") or off.get("timed_out") else ""
    return Metric(ph.get("wall_s"), done, 2 * (on.get("nodes") or 0), note)


def delete_metric(d: dict[str, Any] | None) -> Metric:
    ph = _phase(d, "delete")
    if not ph:
        return Metric(None)
    nodes = (d or {}).get("nodes")
    failed = sum(1 for e in (d or {}).get("http_error_examples") or [] if e.startswith("DELETE"))
    return Metric(ph.get("wall_s"), (nodes or 0) - failed if nodes else None, nodes)


PHASE_ROWS: list[tuple[str, Callable[[dict[str, Any] | None], Metric]]] = [
    ("create, node + port", create_metric),
    ("list detail, all pages", list_metric),
    ("manage", lambda d: provision_metric(d, "manage")),
    ("provide", lambda d: provision_metric(d, "provide")),
    ("deploy: PATCH + active", lambda d: provision_metric(d, "deploy")),
    ("undeploy", lambda d: provision_metric(d, "undeploy")),
    ("power on+off", power_metric),
    ("delete", delete_metric),
]


def count_5xx(d: dict[str, Any] | None) -> tuple[int, int, int, int]:
    """(5xx seen, of which retried, http errors, errors beyond the 5 examples: unclassified)."""
    if not d:
        return 0, 0, 0, 0
    retried = sum(v for k, v in (d.get("http_retries_by_status") or {}).items() if k[:1] == "5")
    examples = d.get("http_error_examples") or []
    in_examples = sum(1 for e in examples if re.search(r" -> 5\d\d:", e))
    errors = int(d.get("http_errors") or 0)
    return retried + in_examples, retried, errors, max(0, errors - len(examples))


def fmt(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def fmt_done(m: Metric) -> str:
    if m.done is None or m.total is None:
        return ""
    return "" if m.done == m.total and not m.note else f" ({m.done}/{m.total}{m.note})"


def backend_table(
    backend: str, n: int, c: int, iw: RunResult, ir: RunResult | None
) -> tuple[str, list[tuple[str, str]]]:
    """The markdown table for one backend and the (check, PASS/FAIL/n/a) list."""
    d_iw, d_ir = iw.data, ir.data if ir else None
    have_ironic = d_ir is not None
    checks: list[tuple[str, str]] = []
    lines = [
        f"### {backend}: N={n} nodes, concurrency {c}",
        "",
        "| phase | Ironworks | Ironic | Ironic/Ironworks | target | status |",
        "|---|---:|---:|---:|---|---|",
    ]

    def verdict(name: str, fails: list[str], missing: str = "") -> str:
        """FAIL with the reasons, else n/a when a figure to judge by is missing, else PASS."""
        if fails:
            rec, status = "FAIL", "FAIL: " + "; ".join(fails)
        elif missing:
            rec, status = "n/a", f"n/a ({missing})"
        else:
            rec, status = "PASS", "PASS"
        checks.append((f"{backend} {name}", rec))
        return status

    for label, get in PHASE_ROWS:
        a, b = get(d_iw), get(d_ir)
        ratio = a.rate / b.rate if a.rate and b.rate else None
        fails: list[str] = []
        if a.value is None:
            fails.append("no figure")
        elif a.done is not None and a.total is not None and (a.done < a.total or a.note):
            fails.append(f"{a.done}/{a.total} done{a.note}")
        if ratio is not None and ratio < TARGET_RATIO:
            fails.append(f"{ratio:.1f}× < {TARGET_RATIO:g}×")
        target = f"≥{TARGET_RATIO:g}× Ironic"
        if label.startswith("list"):
            target += f"; < {TARGET_LIST_S} s @{TARGET_LIST_NODES}"
            if a.value is not None and a.value >= TARGET_LIST_S:
                fails.append(f"{a.value:.3f} s ≥ {TARGET_LIST_S} s")
        status = verdict(label, fails, "" if ratio is not None else "no Ironic figure")
        digits = 3 if label.startswith("list") else 2
        lines.append(
            f"| {label} (s) | {fmt(a.value, digits)}{fmt_done(a)} | "
            f"{fmt(b.value, digits)}{fmt_done(b)} | "
            f"{'–' if ratio is None else f'{ratio:.1f}×'} | {target} | {status} |"
        )

    for key, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
        a, b = get_metric(d_iw, key), get_metric(d_ir, key)
        ratio = b.value / a.value if a.value and b.value else None
        if key == "p99_ms":
            fails = []
            if a.value is None:
                fails.append("no figure")
            elif a.value >= TARGET_GET_P99_MS:
                fails.append(f"{a.value:.2f} ms ≥ {TARGET_GET_P99_MS:g} ms")
            target, status = f"< {TARGET_GET_P99_MS:g} ms", verdict("GET p99", fails)
        else:
            target, status = "", ""
        lines.append(
            f"| single GET {label}, sequential (ms) | {fmt(a.value)} | {fmt(b.value)} | "
            f"{'–' if ratio is None else f'{ratio:.1f}×'} | {target} | {status} |"
        )

    fails = []
    if iw.rss_peak_mib is None:
        fails.append("no figure")
    elif iw.rss_peak_mib >= TARGET_RSS_MIB:
        fails.append(f"{iw.rss_peak_mib:.0f} MiB ≥ {TARGET_RSS_MIB:g} MiB")
    ir_rss = "–"
    if ir is not None and ir.rss_end_mib is not None:
        ir_rss = f"{ir.rss_end_mib:.0f} end" + (
            f" ({ir.rss_peak_mib:.0f} max sample)" if ir.rss_peak_mib else ""
        )
    rss_ratio = (
        f"{ir.rss_end_mib / iw.rss_peak_mib:.1f}×"
        if ir is not None and ir.rss_end_mib and iw.rss_peak_mib
        else "–"
    )
    lines.append(
        f"| server RSS (MiB) | {fmt(iw.rss_peak_mib, 0)} peak | {ir_rss} | {rss_ratio} | "
        f"< {TARGET_RSS_MIB:g} MiB | {verdict('RSS', fails)} |"
    )

    s5, _, _, unclassified = count_5xx(d_iw)
    fails = []
    if d_iw is None:
        fails.append("no figure")
    if s5:
        fails.append(f"{s5} × 5xx")
    unsure = f"{unclassified} errors past the 5 examples unclassified" if unclassified else ""
    status = verdict("5xx", fails, unsure)

    def err_cell(d: dict[str, Any] | None) -> str:
        if d is None:
            return "–"
        x5, xr, xe, _ = count_5xx(d)
        return f"{x5} / {xe}" + (f" ({xr} retried 503)" if xr else "")

    lines.append(
        f"| 5xx / http errors | {err_cell(d_iw)} | {err_cell(d_ir)} | | 0 × 5xx | {status} |"
    )

    def retries(d: dict[str, Any] | None) -> str:
        if d is None:
            return "–"
        by = d.get("http_retries_by_status") or {}
        return ", ".join(f"{k}×{v}" for k, v in sorted(by.items())) or "0"

    lines.append(f"| 409/503 retries | {retries(d_iw)} | {retries(d_ir)} | | | |")
    lines.append(f"| ERROR lines in the server log | {iw.log_errors} | | | | |")
    lines.append(
        f"| startup (s) | {fmt(iw.startup_s)} | {fmt(ir.startup_s if ir else None)} | | | |"
    )
    lines.append(
        f"| total harness wall (s) | {fmt((d_iw or {}).get('total_wall_s'))} | "
        f"{fmt((d_ir or {}).get('total_wall_s'))} | | | |"
    )

    notes: list[str] = []
    if n != TARGET_LIST_NODES:
        notes.append(
            f"The list target is set for {TARGET_LIST_NODES} nodes; this run has {n}: "
            "its PASS/FAIL is indicative only."
        )
    if not have_ironic:
        notes.append("No Ironic figures: the ≥10× checks are n/a.")
    for who, r in (("Ironworks", iw), ("Ironic", ir)):
        if r is None:
            continue
        if r.error:
            notes.append(f"{who}: {r.error}")
        notes.extend(f"{who} {x}" for x in r.problems)
        for e in (r.data or {}).get("http_error_examples") or []:
            notes.append(f"{who} http error: `{e[:300]}`")
        for name, ph in ((r.data or {}).get("phases") or {}).items():
            for sub in [ph, ph.get("power_on") or {}, ph.get("power_off") or {}]:
                for u, why in (sub.get("failed_examples") or {}).items():
                    notes.append(f"{who} {name} failed on {u}: `{str(why)[:300]}`")
    lines.append("")
    lines.append(
        "Wall seconds per phase; Ironic/Ironworks is the throughput ratio (completed items per "
        "second; equal to the wall-time ratio when every node completes). Ironworks RSS is the "
        "peak (VmHWM at the end, harness samples); Ironic's is the end-of-run total of its "
        "process tree. 5xx / http errors: 5xx responses seen (final or retried) / requests "
        "that failed after retries."
    )
    if notes:
        lines.append("")
        lines.extend(f"- {x}" for x in notes)
    return "\n".join(lines), checks


# ---------------------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--nodes", "-n", type=int, default=1000)
    p.add_argument("--concurrency", "-c", type=int, default=8)
    p.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    p.add_argument("--no-ironic", action="store_true", help="only run Ironworks")
    p.add_argument(
        "--harness", type=Path, default=DEFAULT_HARNESS, help="ironic_api_workload.py path"
    )
    p.add_argument(
        "--ironic-script",
        type=Path,
        default=None,
        help="bench_ironic.sh (default: beside the harness)",
    )
    p.add_argument(
        "--ironic-port",
        type=int,
        default=int(os.environ.get("IRONIC_PORT", "6385")),
        help="port for Ironic (env IRONIC_PORT; a free one is taken if busy)",
    )
    p.add_argument("--port", type=int, default=0, help="port for Ironworks (0: a free one)")
    p.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help="PostgreSQL URL for Ironworks; the database is dropped and re-created",
    )
    p.add_argument(
        "--ironworks", type=Path, default=REPO / ".venv" / "bin" / "ironworks", help="executable"
    )
    p.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    p.add_argument("--startup-timeout", type=float, default=60.0)
    p.add_argument(
        "--keep", action="store_true", help="keep Ironworks' home dirs and PostgreSQL database"
    )
    args = p.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    bad = [b for b in backends if b not in BACKENDS]
    if bad or not backends:
        p.error(f"--backends: choose from {', '.join(BACKENDS)}")
    args.backends = backends
    args.harness = args.harness.resolve()
    if not args.harness.is_file():
        p.error(f"no harness at {args.harness}")
    if args.ironic_script is None:
        args.ironic_script = args.harness.parent / "bench_ironic.sh"
    if not args.no_ironic and not args.ironic_script.is_file():
        p.error(f"no {args.ironic_script}; pass --ironic-script or --no-ironic")
    if not args.ironworks.is_file():
        p.error(f"no ironworks executable at {args.ironworks}")
    return args, extra


def main(argv: list[str] | None = None) -> int:
    args, extra = parse_args(sys.argv[1:] if argv is None else argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.results / f"{stamp}-n{args.nodes}-c{args.concurrency}"
    out.mkdir(parents=True, exist_ok=True)
    log(f"results in {out}")

    tables: list[str] = []
    checks: list[tuple[str, str]] = []
    summary: dict[str, Any] = {
        "nodes": args.nodes,
        "concurrency": args.concurrency,
        "harness": str(args.harness),
        "extra_harness_args": extra,
        "backends": {},
    }
    failed_runs = False
    for backend in args.backends:
        iw_port = args.port or free_port({args.ironic_port})
        iw = run_ironworks(args, backend, iw_port, out, extra)
        ir: RunResult | None = None
        if not args.no_ironic:
            ir_port = args.ironic_port
            if ir_port == iw_port or port_in_use(ir_port):
                ir_port = free_port({iw_port})
                log(f"port {args.ironic_port} is busy; Ironic gets {ir_port}")
            ir = run_ironic(args, backend, ir_port, out, stamp, extra)
        failed_runs |= bool(iw.error or iw.data is None or (ir and (ir.error or not ir.data)))
        table, c = backend_table(backend, args.nodes, args.concurrency, iw, ir)
        tables.append(table)
        checks.extend(c)
        summary["backends"][backend] = {
            "ironworks": {k: v for k, v in vars(iw).items() if k != "data"},
            "ironic": {k: v for k, v in vars(ir).items() if k != "data"} if ir else None,
            "checks": dict(c),
        }

    n_pass = sum(1 for _, s in checks if s == "PASS")
    n_fail = sum(1 for _, s in checks if s == "FAIL")
    n_na = len(checks) - n_pass - n_fail
    report = "\n\n".join(tables) + f"\n\nTargets: {n_pass} PASS, {n_fail} FAIL, {n_na} n/a"
    if n_fail:
        report += " (" + ", ".join(name for name, s in checks if s == "FAIL") + ")"
    report += f"\nRaw results: {out}\n"
    (out / "summary.md").write_text(report)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(report)
    return 1 if failed_runs else 0


if __name__ == "__main__":
    sys.exit(main())
