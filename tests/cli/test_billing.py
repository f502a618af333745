"""`ironworks billing price ...` and `ironworks usage report` against a live `ironworks serve`
(noauth: the caller acts as the cloud admin). The figures themselves are tests/api/test_usage.py's;
here the commands, their output, their files and their errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

from tests.cli.test_cli import cli, cli_json
from tests.conftest import LiveServer


def test_prices_and_an_empty_report(live_server: LiveServer, tmp_path: Path) -> None:
    url = live_server.url
    cli(url, "flavor", "create", "bm.s", "--cpus", "1", "--memory-mb", "1", "--local-gb", "1")
    price = cli_json(url, "billing", "price", "set", "bm.s", "12.50", "--currency", "USD")
    assert (price["price"], price["currency"], price["unit"], price["in_force"]) == (
        "12.50",
        "USD",
        "hour",
        True,
    )
    later = cli_json(
        url, "billing", "price", "set", "bm.s", "13", "--effective-from", "2999-01-01T00:00:00Z"
    )
    assert later["currency"] == "CNY" and not later["in_force"]
    listed = cli_json(url, "billing", "price", "list", "--flavor", "bm.s")
    assert [(p["price"], p["in_force"]) for p in listed] == [("12.50", True), ("13", False)]
    assert "12.50" in cli(url, "billing", "price", "list").stdout
    bad = cli(url, "billing", "price", "set", "bm.s", "12.5.0", code=1)
    assert "price must be a decimal number" in bad.output

    found = cli_json(url, "usage", "report", "--start", "2026-01-01T00:00:00Z")
    assert found["hosts"] == [] and found["totals"] == [] and found["start"].startswith("2026")
    assert "Flavor" in cli(url, "usage", "report", "--start", "2026-01-01").stdout
    out = tmp_path / "usage.csv"
    cli(url, "usage", "report", "--start", "2026-01-01", "-o", str(out))
    assert next(csv.reader(io.StringIO(out.read_text())))[:3] == ["project", "department", "host"]
    out = tmp_path / "usage.xlsx"
    cli(url, "usage", "report", "--start", "2026-01-01", "-o", str(out))
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None and sheet.max_row == 1
    late = cli(url, "usage", "report", "--start", "2026-01-02", "--end", "2026-01-01", code=1)
    assert "end must be after start" in late.output
