"""Tables in files: CSV and XLSX to rows of cells and back, nothing about nodes.

A file is recognised by its content, not by its name: an XLSX workbook is a ZIP archive
(`PK\\x03\\x04`), anything else is read as CSV. CSV is UTF-8 (a byte-order mark is fine) or,
failing that, GB18030, which is what Excel writes on a Chinese Windows; the delimiter is taken
from the header line (`,`, or `;` / tab when the header has no comma). An XLSX file is read in
openpyxl's read-only mode from its first sheet, cell values as last computed (no formulas).

Rows are numbered as a spreadsheet shows them, from 1. The first row with a value names the
columns; rows whose cells are all empty are left out (spreadsheets keep formatted, empty rows
at the end).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from ironworks.common.errors import FileRejected

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"
MAX_ROWS = 10_000  # data rows in one file
MAX_COLUMNS = 256  # cells with a value in one row
MAX_CELLS = 16_384  # cells in one row, empty ones included: what a spreadsheet can hold
# An XLSX file is a ZIP archive: a few kB on the wire can unpack to gigabytes. Each part, and
# all of them together, may unpack to at most this much (checked on the bytes really read).
MAX_XLSX_PART = 64 * 1024 * 1024
MAX_XLSX_TOTAL = 128 * 1024 * 1024
# The formula prefixes a spreadsheet runs (OWASP's CSV injection rule): a written cell that
# starts with one gets a leading apostrophe, which spreadsheets show as text and `read` drops.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# An XLSX sheet may claim a million formatted, empty rows: stop looking after this many.
_MAX_EMPTY_RUN = 10_000
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

Cell = Any  # str, int, float, bool, datetime or None (XLSX); str (CSV)


@dataclass
class Sheet:
    header: list[str]
    header_row: int = 1
    # (spreadsheet row number, cells), data rows only
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)
    kind: str = "csv"


def rejected(message: str, row: int | None = None, column: str | None = None) -> FileRejected:
    return FileRejected(message, [{"row": row, "column": column, "message": message}])


def is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def read(data: bytes) -> Sheet:
    """The header and the non-empty rows of a CSV or XLSX file, or FileRejected."""
    if not data.strip():
        raise rejected("the file is empty; the first row must name the columns", row=1)
    rows = _xlsx_rows(data) if is_xlsx(data) else _csv_rows(data)
    sheet = Sheet(header=[], kind="xlsx" if is_xlsx(data) else "csv")
    empty_run = 0
    for number, cells in rows:
        # trailing empty cells say nothing (a spreadsheet's formatted but empty columns)
        while cells and blank(cells[-1]):
            cells.pop()
        if not cells:
            empty_run += 1
            if empty_run > _MAX_EMPTY_RUN:
                break
            continue
        empty_run = 0
        if len(cells) > MAX_COLUMNS:
            raise rejected(
                f"row {number} has more than {MAX_COLUMNS} columns; remove the extra cells",
                row=number,
            )
        if not sheet.header:
            sheet.header = ["" if c is None else str(c).strip() for c in cells]
            sheet.header_row = number
            continue
        if len(sheet.rows) >= MAX_ROWS:
            raise rejected(f"the file has more than {MAX_ROWS} rows; split it into smaller files")
        sheet.rows.append((number, cells))
    if not sheet.header:
        raise rejected("the file is empty; the first row must name the columns", row=1)
    return sheet


def blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Cell]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise rejected("the file is neither an XLSX workbook nor CSV text in UTF-8")
    first = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first:
        delimiter = ";" if ";" in first else "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for number, cells in enumerate(reader, start=1):
            if len(cells) > MAX_CELLS:
                raise _too_many_cells(number)
            yield number, [_unquote(c) for c in cells]
    except csv.Error as e:
        raise rejected(f"CSV line {reader.line_num}: {e}", row=reader.line_num) from None


def _too_many_cells(row: int) -> FileRejected:
    return rejected(
        f"row {row} has more than {MAX_CELLS} cells, more than a spreadsheet holds; "
        f"keep the columns to {MAX_COLUMNS} at most",
        row=row,
    )


def _unquote(cell: str) -> str:
    """A cell as `write_csv` wrote it: the apostrophe before a formula prefix goes."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in _FORMULA_START else cell


def _check_xlsx(data: bytes) -> None:
    """Refuse a workbook before openpyxl materialises it: parts that unpack too large (counted
    on the bytes read, whatever the archive declares), or a sheet with more rows or a row with
    more cells than we read (streamed through an XML pull parser, cells forgotten as counted).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise rejected(f"the file is not a readable XLSX workbook ({e})") from None
    total = 0
    with archive:
        for info in archive.infolist():
            if info.file_size > MAX_XLSX_PART:
                raise _unpacks_too_large(info.filename)
            total += info.file_size
            if total > MAX_XLSX_TOTAL:
                raise _unpacks_too_large("the workbook")
        for info in archive.infolist():
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                _check_sheet_xml(archive, info)


def _unpacks_too_large(what: str) -> FileRejected:
    return rejected(
        f"{what} unpacks to more than {MAX_XLSX_PART // 2**20} MiB; a node list is far "
        "smaller: save the sheet on its own, without images or other sheets"
    )


def _check_sheet_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    parser = ElementTree.XMLPullParser(events=("start", "end"))
    rows = cells = read = 0
    try:
        with archive.open(info) as part:
            while chunk := part.read(1 << 20):
                read += len(chunk)
                if read > MAX_XLSX_PART:
                    raise _unpacks_too_large(info.filename)
                parser.feed(chunk)
                for event, elem in parser.read_events():
                    tag = elem.tag.rpartition("}")[2]
                    if event == "start" and tag == "row":
                        rows, cells = rows + 1, 0
                        if rows > MAX_ROWS + _MAX_EMPTY_RUN:
                            raise rejected(f"the file has more than {MAX_ROWS} rows; split it")
                    elif event == "start" and tag == "c":
                        cells += 1
                        if cells > MAX_CELLS:
                            raise _too_many_cells(int(_row_number(elem, rows)))
                    elif event == "end" and tag == "row":
                        elem.clear()
    except (ElementTree.ParseError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise rejected(f"the file is not a readable XLSX workbook ({e})") from None


def _row_number(cell: ElementTree.Element, counted: int) -> int:
    """The spreadsheet's row number of a cell (its reference, "B12"), else the count so far."""
    digits = "".join(ch for ch in cell.get("r", "") if ch.isdigit())
    return int(digits) if digits else counted


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Cell]]]:
    import openpyxl  # only when an XLSX file comes: it costs 100 ms to import

    _check_xlsx(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as e:
        raise rejected(f"the file is not a readable XLSX workbook ({e})") from None
    try:
        if not book.worksheets:
            raise rejected("the workbook has no sheet")
        sheet = book.worksheets[0]
        # Files from some tools carry a wrong <dimension>: read the cells that are there, each
        # row as long as its last cell (a declared width would pad every row to it).
        sheet.reset_dimensions()
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    except FileRejected:
        raise
    except Exception as e:  # a damaged archive shows only while streaming it
        raise rejected(f"the file is not a readable XLSX workbook ({e})") from None
    finally:
        book.close()


# --- writing -------------------------------------------------------------------------------------


def _inert(cell: Cell) -> Cell:
    """A CSV cell a spreadsheet shows and never runs: text starting with a formula prefix gets
    an apostrophe (numbers stay numbers); None is empty."""
    if cell is None:
        return ""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """Every CSV export (nodes, hosts, audit): each cell made inert (`_inert`), including
    values an anonymous client can plant, such as a failed log-in's user name."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([_inert(h) for h in header])
    writer.writerows([_inert(c) for c in row] for row in rows)
    return out.getvalue().encode("utf-8")


def write_xlsx(header: Sequence[str], rows: Iterable[Sequence[Cell]], title: str) -> bytes:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(title)

    def cell(value: Cell) -> Any:
        if not isinstance(value, str):
            return value
        value = _ILLEGAL_XML.sub("", value)
        if value.startswith("="):  # text, never a formula a spreadsheet would run
            c = WriteOnlyCell(sheet, value=value)
            c.data_type = "s"
            return c
        return value

    sheet.append(list(header))
    for row in rows:
        sheet.append([cell(v) for v in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
