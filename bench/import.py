#!/usr/bin/env python3
"""Batch enrolment through the API: a 1,000-row XLSX, and a copy with 10 bad rows.

1. generates `good.xlsx` (N rows of fake-hardware nodes, 2 MACs each, a BMC password) and
   `bad.xlsx` (N other nodes, 10 rows broken in 10 different ways);
2. starts a fresh `ironworks serve` on a free loopback port (new IRONWORKS_HOME; with
   `--backend postgresql` a freshly created database);
3. POSTs good.xlsx to /api/v1/nodes/import and times validate + enrol (the issue's goal: under
   5 s for 1,000 rows), then checks the count through /api/v1/nodes/export;
4. POSTs bad.xlsx, prints every error with its row and column, and checks that all 10 are
   there and that nothing was enrolled; then, as an extra figure, the same file with
   skip_invalid (990 rows).

Prints figures, never asserts timings; exit status 1 if a check (not a timing) failed. Files,
server log and summary land in bench/results/<stamp>-import-n<N>/.

    .venv/bin/python bench/import.py
    .venv/bin/python bench/import.py --rows 5000 --backend postgresql
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_workload import DEFAULT_PG_URL, PgTarget, free_port, stop_process, wait_ready

REPO = Path(__file__).resolve().parent.parent
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = [
    "name",
    "driver",
    "bmc_address",
    "bmc_port",
    "bmc_username",
    "bmc_password",
    "macs",
    "cpu_arch",
    "resource_class",
    "cpus",
    "memory_mb",
    "local_gb",
    "property:rack",
    "driver_info:fake_power_delay",
]
GOAL_S = 5.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def mac(batch: int, i: int, nic: int) -> str:
    return f"52:54:{batch:02x}:{nic:02x}:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}"


def node_rows(prefix: str, batch: int, count: int) -> list[list[Any]]:
    return [
        [
            f"{prefix}-{i:05d}",
            "fake-hardware",
            f"10.{batch}.{i >> 8}.{i & 0xFF}",
            None,
            "admin",
            f"bmc-pw-{i}",
            f"{mac(batch, i, 0)} {mac(batch, i, 1)}",
            "x86_64",
            "baremetal",
            32,
            131072,
            480,
            f"rack-{i // 40:02d}",
            None,
        ]
        for i in range(1, count + 1)
    ]


def break_rows(rows: list[list[Any]]) -> dict[int, str]:
    """Ten rows, ten kinds of error; returns spreadsheet row -> the column at fault."""
    col = {name: HEADER.index(name) for name in HEADER}
    step = max(len(rows) // 10, 2)
    at = [step * k + step // 2 for k in range(10)]  # indexes into rows, spread over the file
    breaks = [
        ("macs", lambda r: r.__setitem__(col["macs"], "52:54:ff:00:zz:01")),
        ("name", lambda r: r.__setitem__(col["name"], rows[0][col["name"]])),  # also on row 2
        ("macs", lambda r: r.__setitem__(col["macs"], rows[1][col["macs"]].split()[0])),
        ("driver", lambda r: r.__setitem__(col["driver"], "warp-drive")),
        ("cpus", lambda r: r.__setitem__(col["cpus"], "eight")),
        ("memory_mb", lambda r: r.__setitem__(col["memory_mb"], 0)),
        ("bmc_address", lambda r: r.__setitem__(col["bmc_address"], None)),
        ("bmc_port", lambda r: r.__setitem__(col["bmc_port"], 99999)),
        ("cpu_arch", lambda r: r.__setitem__(col["cpu_arch"], "x86-64")),
        (
            "driver_info:fake_power_delay",
            lambda r: r.__setitem__(col["driver_info:fake_power_delay"], "soon"),
        ),
    ]
    expected = {}
    for index, (column, spoil) in zip(at, breaks, strict=True):
        spoil(rows[index])
        expected[index + 2] = column  # header is row 1
    return expected


def xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("nodes")
    sheet.append(HEADER)
    for r in rows:
        sheet.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def post(client: httpx.Client, data: bytes, **params: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    r = client.post(
        "/api/v1/nodes/import", content=data, params=params, headers={"Content-Type": XLSX_MIME}
    )
    return r, time.perf_counter() - started


def enrolled(client: httpx.Client) -> tuple[int, int, float]:
    """Nodes and MACs the server has, through the export, and how long the export took."""
    started = time.perf_counter()
    r = client.get("/api/v1/nodes/export", params={"format": "csv"})
    took = time.perf_counter() - started
    r.raise_for_status()
    lines = r.text.splitlines()[1:]
    macs = sum(len(line.split(",")[HEADER.index("macs")].split()) for line in lines)
    return int(r.headers["X-Node-Count"]), macs, took


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument(
        "--pg-url", default=DEFAULT_PG_URL.replace("ironworks_bench", "ironworks_import")
    )
    ap.add_argument("--ironworks", default=str(REPO / ".venv" / "bin" / "ironworks"))
    ap.add_argument("--keep", action="store_true", help="keep the home and database")
    args = ap.parse_args(argv)

    out = REPO / "bench" / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}-import-n{args.rows}"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    good_rows = node_rows("node", 1, args.rows)
    bad_rows = node_rows("spare", 2, args.rows)
    expected = break_rows(bad_rows)
    good, bad = xlsx(good_rows), xlsx(bad_rows)
    (out / "good.xlsx").write_bytes(good)
    (out / "bad.xlsx").write_bytes(bad)
    log(
        f"generated {args.rows}-row files in {time.perf_counter() - t0:.2f} s "
        f"(good.xlsx {len(good) / 1024:.0f} KiB, bad.xlsx {len(bad) / 1024:.0f} KiB) in {out}"
    )

    home = Path(tempfile.mkdtemp(prefix="ironworks-bench-import-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWORKS_")}
    env["IRONWORKS_HOME"] = str(home)
    # the shared harness, like Ironic's noauth, sends no token; thousands of nodes, no license
    env["IRONWORKS_AUTH__NOAUTH"] = "true"
    env["IRONWORKS_LICENSE__EVALUATION_NODES"] = "1000000"
    pg = PgTarget(args.pg_url) if args.backend == "postgresql" else None
    if pg is not None:
        pg.recreate()
        env["IRONWORKS_DATABASE_URL"] = pg.url
    port = free_port(set())
    url = f"http://127.0.0.1:{port}"
    server_log = out / "server.log"
    failures: list[str] = []
    lines: list[str] = []
    proc: subprocess.Popen[bytes] | None = None
    try:
        with server_log.open("wb") as lf:
            proc = subprocess.Popen(
                [args.ironworks, "serve", "--port", str(port)],
                env=env,
                stdout=lf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_ready(url, proc, server_log, 60)
        log(f"ironworks serve ({args.backend}) pid {proc.pid} on {url}")
        with httpx.Client(base_url=url, timeout=300) as client:
            r, took = post(client, good)
            if r.status_code != 200:
                failures.append(f"good file: HTTP {r.status_code}: {r.text[:500]}")
                created = 0
            else:
                created = len(r.json()["created"])
            nodes, macs, export_s = enrolled(client)
            lines += [
                f"good.xlsx: {args.rows} rows, {len(good) / 1024:.0f} KiB, backend {args.backend}",
                f"  validate + enrol through the API: {took:.3f} s "
                f"({created / took:.0f} nodes/s; goal < {GOAL_S:.0f} s for 1,000 rows)",
                f"  enrolled: {nodes} nodes, {macs} ports (report: {created} created)",
                f"  export of {nodes} nodes as CSV: {export_s:.3f} s",
            ]
            if (created, nodes, macs) != (args.rows, args.rows, 2 * args.rows):
                failures.append(f"expected {args.rows} nodes and {2 * args.rows} ports")

            r, took = post(client, bad)
            body = r.json()
            errors = body.get("errors") or []
            lines.append(
                f"bad.xlsx: HTTP {r.status_code} {r.headers.get('content-type')} in "
                f"{took:.3f} s, {len(errors)} errors:"
            )
            for e in errors:
                lines.append(f"  row {e['row']:>5}  {e['column']:<30} {e['message']}")
            got = {e["row"]: e["column"] for e in errors}
            if r.status_code != 422 or got != expected or len(errors) != 10:
                failures.append(
                    f"bad file: wanted 422 with {sorted(expected.items())}, "
                    f"got {r.status_code} with {sorted(got.items())}"
                )
            after, after_macs, _ = enrolled(client)
            gone = client.get(f"/v1/nodes/{bad_rows[0][0]}").status_code
            lines.append(
                f"  after it: {after} nodes, {after_macs} ports; "
                f"GET /v1/nodes/{bad_rows[0][0]} -> {gone}"
            )
            if (after, after_macs, gone) != (nodes, macs, 404):
                failures.append("the bad file enrolled something")

            r, took = post(client, bad, skip_invalid="true")
            report = r.json()
            lines.append(
                f"bad.xlsx with skip_invalid: {len(report.get('created', []))} enrolled,"
                f" {report.get('skipped')} skipped in {took:.3f} s"
            )
            if report.get("skipped") != 10 or len(report.get("created", [])) != args.rows - 10:
                failures.append("skip_invalid did not enrol exactly the valid rows")
    except Exception as e:
        failures.append(f"{type(e).__name__}: {e}")
    finally:
        if proc is not None:
            stop_process(proc)
        if pg is not None and not args.keep:
            try:
                pg.drop()
            except RuntimeError as e:
                log(str(e))
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    text = "\n".join([*lines, *(f"FAILED: {f}" for f in failures)])
    print(text)
    (out / "summary.txt").write_text(text + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
