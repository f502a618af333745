"""How results look: rich tables for people, JSON for scripts.

Tables go to stdout; progress and errors to stderr, so `--json` output stays parseable even
while a wait shows its live table. Objects lose their hypermedia links (`links`, and a node's
`ports`/`states`/... link lists) in both forms: they address the server, not the resource.
When stdout is not a terminal, tables are drawn wide instead of wrapped at 80 columns, so
`grep` sees one row per line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ironworks.cli.i18n import _

PIPE_WIDTH = 250
LINK_KEYS = frozenset({"links", "ports", "portgroups", "states", "volume"})

# Column titles for the fields the commands show by default; others are derived.
TITLES = {
    "id": _("ID"),
    "uuid": _("UUID"),
    "name": _("Name"),
    "instance_uuid": _("Instance UUID"),
    "power_state": _("Power State"),
    "target_power_state": _("Target Power State"),
    "provision_state": _("Provisioning State"),
    "target_provision_state": _("Target State"),
    "maintenance": _("Maintenance"),
    "address": _("Address"),
    "node_uuid": _("Node UUID"),
    "pxe_enabled": _("PXE"),
    "physical_network": _("Physical Network"),
}


def console(stderr: bool = False) -> Console:
    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal:
        out = Console(stderr=stderr, highlight=False, width=PIPE_WIDTH)
    return out


def title(field: str) -> str:
    return TITLES.get(field) or field.replace("_", " ").title()


def _is_link_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and "href" in v for v in value)


def plain(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without hypermedia links."""
    return {k: v for k, v in obj.items() if not (k in LINK_KEYS and _is_link_list(v))}


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def say(message: str) -> None:
    """A line for people on stdout (confirmations)."""
    typer.echo(message)


def table(
    rows: Iterable[dict[str, Any]], fields: Sequence[str], caption: str | None = None
) -> Table:
    t = Table(caption=caption, show_lines=False)
    for f in fields:
        t.add_column(title(f), overflow="fold")
    for row in rows:
        # Text, not str: values such as "[x]" must not be read as rich markup
        t.add_row(*(Text(cell(row.get(f))) for f in fields))
    return t


def show_table(rows: Iterable[dict[str, Any]], fields: Sequence[str]) -> None:
    console().print(table(rows, fields))


def show_record(obj: dict[str, Any]) -> None:
    """One object as a two-column Field | Value table, fields sorted."""
    t = Table(show_header=True)
    t.add_column(_("Field"), no_wrap=True)
    t.add_column(_("Value"), overflow="fold")
    for key in sorted(obj):
        t.add_row(Text(key), Text(cell(obj[key])))
    console().print(t)


def show(obj: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(plain(obj))
    else:
        show_record(plain(obj))


def show_list(rows: list[dict[str, Any]], fields: Sequence[str], as_json: bool) -> None:
    if as_json:
        emit_json([plain(r) for r in rows])
    else:
        show_table(rows, fields)
