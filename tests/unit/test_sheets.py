"""Files that could hurt: formula injection in exports, and import files built to exhaust the
server (#15 items 6 and 7)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from ironworks.common.errors import FileRejected
from ironworks.services import sheets

DANGEROUS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    data = sheets.write_csv(["name", "=header"], [[v, 1] for v in DANGEROUS] + [[-5, "ok"]])
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert rows[0] == ["name", "'=header"]
    assert [r[0] for r in rows[1:-1]] == ["'" + v for v in DANGEROUS]
    assert rows[-1] == ["-5", "ok"]  # a number is a number
    # and the importer reads its own export back as it was written
    sheet = sheets.read(data)
    assert sheet.header == ["name", "=header"]
    assert [cells[0] for _, cells in sheet.rows[:-1]] == DANGEROUS


def _xlsx(sheet_xml: bytes) -> bytes:
    """A minimal workbook whose first sheet is `sheet_xml`."""
    import openpyxl

    book = openpyxl.Workbook()
    buf = io.BytesIO()
    book.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = sheet_xml if item.filename == "xl/worksheets/sheet1.xml" else src.read(item)
            dst.writestr(item.filename, data)
    return out.getvalue()


def _sheet(rows: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns='
        b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + rows
        + b"</sheetData></worksheet>"
    )


def test_an_xlsx_row_with_millions_of_cells_is_refused_before_it_is_read() -> None:
    one_row = b'<row r="1">' + b"<c/>" * 3_000_000 + b"</row>"
    data = _xlsx(_sheet(one_row))
    assert len(data) < 200_000  # small on the wire, huge when read
    with pytest.raises(FileRejected, match="row 1 has more than 16384 cells") as e:
        sheets.read(data)
    assert e.value.errors[0]["row"] == 1


def test_an_xlsx_with_too_many_rows_or_too_much_xml_is_refused() -> None:
    rows = b"".join(
        b'<row r="%d"><c t="inlineStr"><is><t>x</t></is></c></row>' % i
        for i in range(1, sheets.MAX_ROWS + 50)
    )
    with pytest.raises(FileRejected, match="more than 10000 rows"):
        sheets.read(_xlsx(_sheet(rows)))
    huge = _sheet(
        b'<row r="1"><c t="inlineStr"><is><t>' + b"x" * (70 * 2**20) + b"</t></is></c></row>"
    )
    with pytest.raises(FileRejected, match="MiB"):
        sheets.read(_xlsx(huge))


def test_a_csv_row_with_too_many_cells_is_refused_naming_it() -> None:
    data = b"name,driver,bmc_address\r\nn1,fake-hardware,10.0.0.1" + b"," * 300_000 + b"\r\n"
    with pytest.raises(FileRejected, match="row 2 has more than 16384 cells") as e:
        sheets.read(data)
    assert e.value.errors[0]["row"] == 2
    wide = b"name,driver,bmc_address\r\n" + b"x," * 300 + b"x\r\n"
    with pytest.raises(FileRejected, match="row 2 has more than 256 columns"):
        sheets.read(wide)
