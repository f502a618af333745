"""`ironworks` imports a command's code only when it runs (ironworks/cli/lazy.py).

The top-level help is drawn from the `Lazy` entries alone, so each entry's line must stay the
command's own; and a command over HTTP must not drag the server's libraries in, nor `--help`
any command at all.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from ironworks.cli.lazy import Lazy, load
from ironworks.cmd.main import COMMANDS, SERVICE, app

ENTRIES = (*SERVICE, *COMMANDS)
SERVER_SIDE = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "pydantic_settings",
    "openpyxl",
    "uvicorn",
    "ironworks.db",
    "ironworks.services",
    "ironworks.api",
    "ironworks.cmd.server",
)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_an_entrys_help_line_is_the_commands_own(entry: Lazy) -> None:
    command = load(entry)
    assert command.name == entry.name
    assert command.get_short_help_str(limit=500) == entry.help.strip()
    assert command.hidden == entry.hidden


def test_every_command_is_listed_once() -> None:
    names = [e.name for e in ENTRIES]
    assert len(names) == len(set(names))
    group = typer.main.get_command(app)
    with typer.Context(group) as ctx:
        assert group.list_commands(ctx) == names  # type: ignore[attr-defined]


def _modules(*args: str) -> set[str]:
    """The modules a real `ironworks ARGS` process has loaded when it exits."""
    code = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print(' '.join(k for k, v in sys.modules.items() if v), file=sys.stderr))\n"
        f"sys.argv = ['ironworks', *{list(args)!r}]\n"
        "runpy.run_module('ironworks.cmd.main', run_name='__main__')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    return set(out.stderr.split())


def _loaded(modules: set[str], packages: tuple[str, ...]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in packages or m.startswith(packages)}


def test_top_level_help_imports_no_command() -> None:
    modules = _modules("--help")
    assert "ironworks.cli.nodes" not in modules
    assert _loaded(modules, (*SERVER_SIDE, "httpx", "ironworks.client")) == set()


def test_a_command_over_http_imports_nothing_of_the_server() -> None:
    modules = _modules("node", "list", "--url", "http://127.0.0.1:9")  # nothing listens there
    assert "ironworks.cli.nodes" in modules
    assert "ironworks.cli.hosts" not in modules
    assert _loaded(modules, SERVER_SIDE) == set()


def test_a_mistyped_command_is_answered_with_the_near_ones() -> None:
    out = CliRunner().invoke(app, ["nod"])
    assert out.exit_code == 2
    assert "Did you mean 'node'?" in out.output
