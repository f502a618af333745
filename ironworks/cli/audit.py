"""`ironworks audit ...`: the audit log, who did what, when, from where; list it or export it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ironworks.cli.groups import audit_app
from ironworks.cli.i18n import _
from ironworks.cli.output import say, show_list
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, cloud, guard

AUDIT_FIELDS = (
    "created_at",
    "user_name",
    "action",
    "target_type",
    "target_name",
    "outcome",
    "status_code",
    "source",
)


@audit_app.command("list")
@guard
def audit_list(
    action: Annotated[str | None, typer.Option("--action", help="e.g. host:create")] = None,
    user: Annotated[str | None, typer.Option("--user")] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="success|failure|denied")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Audit events, newest first."""
    with cloud(url) as c:
        rows = c.audit_events(limit=limit, action=action, user_name=user, outcome=outcome)
    show_list(rows, AUDIT_FIELDS, as_json)


@audit_app.command("export")
@guard
def audit_export(
    output: Annotated[Path, typer.Option("-o", "--output", help=_("File: .csv or .xlsx"))],
    action: Annotated[str | None, typer.Option("--action")] = None,
    user: Annotated[str | None, typer.Option("--user")] = None,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Write the audit events (with the same filters) to a CSV or XLSX file."""
    fmt = "xlsx" if output.suffix.lower() == ".xlsx" else "csv"
    with cloud(url) as c:
        data = c.export_audit(fmt, action=action, user_name=user)
    output.write_bytes(data)
    say(_("wrote {path}").format(path=output))
