"""`ironworks node import FILE` and `ironworks node export`: batch enrolment from CSV or XLSX.

One row per node; the columns are name, driver, bmc_address, bmc_port, bmc_username,
bmc_password, macs, cpu_arch, resource_class, cpus, memory_mb, local_gb, and property:<key> /
driver_info:<key> for anything else. The server checks every row before it enrols any; this
command shows what it found as a table of row, column and message.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, cast

import typer

from ironworks.cli.groups import node_app
from ironworks.cli.i18n import _, ngettext
from ironworks.cli.output import console, emit_json, say, table
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, UsageProblem, connect, fail, guard
from ironworks.client import FileFormat, FileRejected, ImportProblem

FORMATS = ("csv", "xlsx")
ERROR_COLUMNS = ("row", "column", "message")


def show_errors(errors: list[ImportProblem], caption: str | None = None) -> None:
    rows = [{**e, "row": "" if e.get("row") is None else e["row"]} for e in errors]
    console().print(table(rows, ERROR_COLUMNS, caption=caption))


@node_app.command(
    "import",
    help=_(
        "Enrol the nodes of a CSV or XLSX file, one per row. Every row is checked first and "
        "nothing is enrolled unless all are valid (or --skip-invalid).\n\n"
        "Columns: name, driver, bmc_address (these three required), bmc_port, bmc_username, "
        "bmc_password, macs (separated by spaces or ;), cpu_arch, resource_class, cpus, "
        "memory_mb, local_gb, and property:KEY / driver_info:KEY for anything else. The bmc_* "
        "values go to the hardware type's own driver_info keys (ipmi: ipmi_address, ...)."
    ),
)
@guard
def import_nodes(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help=_("A .csv or .xlsx file, one node per row."))
    ],
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help=_("Enrol the valid rows and report the others.")),
    ] = False,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    data = file.read_bytes()
    with connect(url) as client:
        try:
            report = client.import_nodes(data, filename=file.name, skip_invalid=skip_invalid)
        except FileRejected as e:
            if as_json:
                emit_json({"created": [], "errors": e.errors, "skipped": 0})
            else:
                show_errors(e.errors)
            fail(e.message)
    if as_json:
        emit_json(report)
        return
    created, skipped = len(report["created"]), report["skipped"]
    say(
        ngettext(
            "Enrolled {n} node from {file}.", "Enrolled {n} nodes from {file}.", created
        ).format(n=created, file=file)
    )
    if skipped:
        show_errors(report["errors"])
        say(
            ngettext(
                "Skipped {n} invalid row (above).", "Skipped {n} invalid rows (above).", skipped
            ).format(n=skipped)
        )


@node_app.command(
    "export",
    help=_(
        "Write every node to a CSV or XLSX file in the format `node import` reads "
        "(passwords left empty)."
    ),
)
@guard
def export_nodes(
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", metavar="csv|xlsx", help=_("File format (default: from -o, else csv).")
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help=_("Write to this file instead of standard output.")),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    if fmt is None:
        suffix = output.suffix.lower().lstrip(".") if output else ""
        fmt = suffix if suffix in FORMATS else "csv"
    if fmt not in FORMATS:
        raise UsageProblem(_("--format must be csv or xlsx, not {fmt!r}").format(fmt=fmt))
    if output is None and fmt == "xlsx" and sys.stdout.isatty():
        raise UsageProblem(_("an XLSX file is binary: give -o FILE, or redirect the output"))
    with connect(url) as client:
        data, count = client.export_nodes(cast(FileFormat, fmt))
    if output is None:
        typer.echo(data, nl=False)  # bytes go to the binary stream
        return
    output.write_bytes(data)
    say(
        ngettext("Wrote {n} node to {file}.", "Wrote {n} nodes to {file}.", count).format(
            n=count, file=output
        )
    )
