"""`ironworks billing price ...` and `ironworks usage report`: flavor prices per hour and the
usage report with its cost (services/prices.py and services/usage.py behind the API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ironworks.cli.groups import billing_app, price_app, usage_app
from ironworks.cli.i18n import _
from ironworks.cli.output import console, emit_json, say, show, show_list, table
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, cloud, guard

PRICE_FIELDS = ("flavor", "price", "currency", "unit", "effective_from", "in_force", "created_by")
HOST_FIELDS = ("project", "host", "flavor", "hours", "currency", "cost")
FLAVOR_FIELDS = ("flavor", "hosts", "hours", "currency", "cost")
TOTAL_FIELDS = ("currency", "hours", "cost")

__all__ = ["billing_app", "usage_app"]


@price_app.command("list")
@guard
def price_list(
    flavor: Annotated[str | None, typer.Option("--flavor", help=_("One flavor's history."))] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Flavor prices per hour: the one in force, the past ones and those scheduled."""
    with cloud(url) as c:
        show_list(c.list_prices(flavor), PRICE_FIELDS, as_json)


@price_app.command("set")
@guard
def price_set(
    flavor: str,
    price: Annotated[str, typer.Argument(help=_("Per hour, a decimal such as 12.50."))],
    currency: Annotated[str, typer.Option("--currency", help=_("ISO 4217 code."))] = "CNY",
    effective_from: Annotated[
        str | None,
        typer.Option(
            "--effective-from", help=_("When it takes effect (ISO 8601; now if left out).")
        ),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Set a flavor's price per hour (cloud admin); the earlier prices stay in the history."""
    body = {"flavor": flavor, "price": price, "currency": currency}
    if effective_from is not None:
        body["effective_from"] = effective_from
    with cloud(url) as c:
        show(c.set_price(body), as_json)


@usage_app.command("report")
@guard
def usage_report(
    start: Annotated[
        str, typer.Option("--start", help=_("The period's first instant (ISO 8601)."))
    ],
    end: Annotated[
        str | None, typer.Option("--end", help=_("The period's end (ISO 8601); now if left out."))
    ] = None,
    project: Annotated[str | None, typer.Option("--project")] = None,
    department: Annotated[str | None, typer.Option("--department")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help=_("Write it to a file: .csv or .xlsx"))
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Hours and cost per host and per flavor over a period."""
    params = {"start": start, "end": end, "project": project, "department": department}
    with cloud(url) as c:
        if output is not None:
            fmt = "xlsx" if output.suffix.lower() == ".xlsx" else "csv"
            output.write_bytes(c.export_usage(fmt, **params))
            say(_("wrote {path}").format(path=output))
            return
        found = c.usage_report(**params)
    if as_json:
        emit_json(found)
        return
    out = console()
    out.print(table(found["hosts"], HOST_FIELDS, caption=f"{found['start']} - {found['end']}"))
    out.print(table(found["flavors"], FLAVOR_FIELDS))
    out.print(table(found["totals"], TOTAL_FIELDS))
