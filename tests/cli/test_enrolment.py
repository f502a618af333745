"""`ironworks node import` and `node export` against a real server; and the server's key for
secrets at rest (generated on first start, refused when it does not match the database)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import openpyxl
import pytest

from tests.cli.test_cli import cli, cli_json
from tests.conftest import LiveServer, start_server

HEADER = "name,driver,bmc_address,bmc_username,bmc_password,macs,cpus,memory_mb"
SECRET = "pw-s3cret"


def write(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def row(i: int, **over: str) -> str:
    cells = {
        "name": f"n{i}",
        "driver": "fake-hardware",
        "bmc_address": f"10.0.0.{i}",
        "bmc_username": "admin",
        "bmc_password": SECRET,
        "macs": f"52:54:00:00:00:{i:02x}",
        "cpus": "8",
        "memory_mb": "4096",
    }
    cells.update(over)
    return ",".join(cells.values())


def test_import_reports_every_error_and_enrols_nothing(live_server: LiveServer, tmp_path: Path):
    url = live_server.url
    bad = write(tmp_path / "bad.csv", row(1), row(2, macs="nope"), row(3, cpus="x"), row(4))
    r = cli(url, "node", "import", str(bad), code=1)
    for needle in ("Row", "Column", "Message", "macs", "'nope' is not a MAC", "cpus"):
        assert needle in r.stdout, r.stdout
    assert r.stderr.startswith("ironworks: 2 error(s) in 2 of 4 row(s); nothing was enrolled")
    assert cli_json(url, "node", "list") == []

    report = json.loads(cli(url, "node", "import", str(bad), "--json", code=1).stdout)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "macs"), (4, "cpus")]

    r = cli(url, "node", "import", str(bad), "--skip-invalid")
    assert "Enrolled 2 nodes from" in r.stdout and "Skipped 2 invalid rows" in r.stdout
    assert "cpus" in r.stdout
    assert sorted(n["name"] for n in cli_json(url, "node", "list")) == ["n1", "n4"]
    assert "bad.csv" in cli_json(url, "node", "history", "n1")[0]["event"]
    assert SECRET not in cli(url, "node", "show", "n1").stdout
    assert SECRET not in live_server.logs()


def test_import_xlsx_then_export_both_formats(live_server: LiveServer, tmp_path: Path):
    url = live_server.url
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    for i in range(1, 4):
        sheet.append(
            [
                f"x{i}",
                "fake-hardware",
                f"10.0.1.{i}",
                "admin",
                SECRET,
                f"52:54:00:01:00:{i:02x} 52:54:00:02:00:{i:02x}",
                16,
                8192,
            ]
        )
    book.save(tmp_path / "fleet.xlsx")
    r = cli(url, "node", "import", str(tmp_path / "fleet.xlsx"))
    assert "Enrolled 3 nodes" in r.stdout
    report = json.loads(
        cli(url, "node", "import", str(tmp_path / "fleet.xlsx"), "--json", "--skip-invalid").stdout
    )
    assert report["created"] == [] and report["skipped"] == 3

    out = cli(url, "node", "export").stdout
    lines = out.splitlines()
    assert lines[0].startswith("name,driver,bmc_address,bmc_port,bmc_username,bmc_password,macs")
    assert lines[1].startswith("x1,fake-hardware,10.0.1.1,,admin,,52:54:00:01:00:01 ")
    assert SECRET not in out

    r = cli(url, "node", "export", "-o", str(tmp_path / "out.xlsx"))
    assert "Wrote 3 nodes" in r.stdout
    rows = list(openpyxl.load_workbook(tmp_path / "out.xlsx").active.iter_rows(values_only=True))
    assert rows[0][:3] == ("name", "driver", "bmc_address") and rows[3][0] == "x3"
    cli(url, "node", "export", "--format", "csv", "-o", str(tmp_path / "out.txt"))
    assert (tmp_path / "out.txt").read_text().startswith("name,driver")
    r = cli(url, "node", "export", "--format", "pdf", code=2)
    assert "csv or xlsx" in r.stderr
    r = cli(url, "node", "import", str(tmp_path / "missing.csv"), code=1)
    assert "missing.csv" in r.stderr


def test_the_server_keeps_its_key_and_refuses_another(live_server: LiveServer, tmp_path: Path):
    key_file = live_server.home / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    cli(live_server.url, "node", "import", str(write(tmp_path / "one.csv", row(1))))
    live_server.proc.terminate()
    live_server.proc.wait(10)
    from ironworks.common.crypto import new_key

    with pytest.raises(RuntimeError) as e:
        start_server(live_server.home, env={"IRONWORKS_SECRET_KEY": new_key()})
    message = str(e.value)
    assert "exited with 2" in message and "secret_key" in message
    assert "Traceback" not in message
    again = start_server(live_server.home)  # the key file again: starts
    try:
        assert cli_json(again.url, "node", "list")[0]["name"] == "n1"
    finally:
        again.proc.terminate()
        again.proc.wait(10)
