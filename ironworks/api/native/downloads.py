"""The CSV/XLSX files `/api/v1/.../export` answer with (hosts, the audit log, usage): one way to
declare them, render them off the event loop (services/sheets.py writes the cells) and name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from ironworks.services import sheets
from ironworks.services.sheets import CSV_MIME, XLSX_MIME

# the route's `responses=`: what OpenAPI says a 200 carries
SHEET_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment.",
        "content": {
            CSV_MIME: {"schema": {"type": "string"}},
            XLSX_MIME: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
# the route's `format` parameter
Format = Annotated[Literal["csv", "xlsx"], Query(alias="format")]


def file_response(
    data: bytes, fmt: str, name: str, headers: dict[str, str] | None = None
) -> Response:
    """`data` as the attachment `name.fmt`, with its media type."""
    return Response(
        data,
        media_type=XLSX_MIME if fmt == "xlsx" else f"{CSV_MIME}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"', **(headers or {})},
    )


async def sheet_response(
    fmt: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    name: str,
    headers: dict[str, str] | None = None,
    title: str | None = None,
) -> Response:
    """Rows as a CSV or XLSX attachment `name.fmt` (its sheet: `title`, or `name`), written in
    a thread."""

    def render() -> bytes:
        if fmt == "xlsx":
            return sheets.write_xlsx(header, rows, title or name)
        return sheets.write_csv(header, rows)

    return file_response(await run_in_threadpool(render), fmt, name, headers)
