"""The deployment files under deploy/ point at real things.

No container builder runs here, so the Containerfile is checked for what breaks a build or a
start: every COPY source exists, the entrypoint is the installed command and its default
arguments parse. The systemd units run real commands with real options. HAProxy's config is
checked by haproxy itself when it is installed, and its health check asks a public route.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ironworks.cmd.main import app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Containerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _parses(args: list[str]) -> None:
    """`ironworks ARGS --help` exits 0: the command and its options exist."""
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"ironworks {' '.join(args)}: {result.output}"


def test_containerfile_copies_what_exists_and_runs_a_real_command() -> None:
    steps = _instructions((DEPLOY / "Containerfile").read_text())
    stages = {rest.split()[-1] for word, rest in steps if word == "FROM" and " AS " in rest}
    assert stages == {"web", "build"}
    copied = 0
    for word, rest in steps:
        if word != "COPY":
            continue
        parts = shlex.split(rest)
        if parts[0].startswith("--from="):
            assert parts[0].removeprefix("--from=") in stages
            continue
        for src in parts[:-1]:
            assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
            copied += 1
    assert copied >= 5
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    entry = [json for word, json in steps if word == "ENTRYPOINT"]
    cmd = [json for word, json in steps if word == "CMD"]
    assert entry == ['["ironworks"]'] and "ironworks" in scripts
    _parses(__import__("json").loads(cmd[0]))


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_unit_runs_a_real_command(unit: Path) -> None:
    text = unit.read_text()
    sections = re.findall(r"^\[(\w+)\]", text, re.M)
    assert sections == ["Unit", "Service", "Install"]
    (start,) = re.findall(r"^ExecStart=(.+)$", text, re.M)
    argv = shlex.split(start)
    assert argv[0] == "/opt/ironworks/bin/ironworks"  # the Containerfile's venv, too
    _parses(argv[1:])
    for env in re.findall(r"^Environment=(\w+)=", text, re.M):
        assert env.startswith("IRONWORKS_")


def test_units_cover_every_role() -> None:
    assert {u.name for u in UNITS} == {
        "ironworks-api.service",
        "ironworks-conductor@.service",
        "ironworks-boot.service",
    }
    conductor = (DEPLOY / "systemd" / "ironworks-conductor@.service").read_text()
    assert "IRONWORKS_CONDUCTOR__HOSTNAME=%H-%i" in conductor  # a distinct name per instance


def test_haproxy_config(database_url: str, tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from ironworks.api.app import create_app
    from ironworks.db import migrate
    from ironworks.db.engine import Database
    from ironworks.services.context import Services
    from tests.conftest import make_settings

    cfg = (DEPLOY / "haproxy.cfg").read_text()
    (uri,) = re.findall(r"http-check send meth GET uri (\S+)", cfg)
    settings = make_settings(database_url, tmp_path, auth={"noauth": False})
    db = Database(settings.effective_database_url)
    migrate.upgrade(db)
    try:  # identity on, no token: the check must still get its 200
        with TestClient(create_app(Services(db=db, settings=settings))) as c:
            assert c.get(uri).status_code == 200
            assert c.get("/v1/nodes").status_code == 401
    finally:
        db.dispose()
    assert len(re.findall(r"^\s+server \S+ \S+ check", cfg, re.M)) == 2
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (scripts/system-packages.txt lists it)")
    out = subprocess.run(
        ["haproxy", "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
