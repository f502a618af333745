"""Batch enrolment files: reading CSV and XLSX, and every check a row goes through."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from ironworks.common.errors import FileRejected
from ironworks.drivers.registry import HARDWARE_TYPES
from ironworks.services import imports, sheets

ENABLED = ["fake-hardware", "ipmi", "redfish"]
HEADER = [
    "name",
    "driver",
    "bmc_address",
    "bmc_port",
    "bmc_username",
    "bmc_password",
    "macs",
    "cpu_arch",
    "resource_class",
    "cpus",
    "memory_mb",
    "local_gb",
]


def good_row(i: int = 1, **over: Any) -> dict[str, Any]:
    row = {
        "name": f"node-{i}",
        "driver": "fake-hardware",
        "bmc_address": f"10.0.0.{i}",
        "bmc_port": "",
        "bmc_username": "admin",
        "bmc_password": "pw",
        "macs": f"52:54:00:00:00:{i:02x} 52:54:00:00:01:{i:02x}",
        "cpu_arch": "x86_64",
        "resource_class": "baremetal",
        "cpus": "8",
        "memory_mb": "16384",
        "local_gb": "100",
    }
    row.update(over)
    return row


def to_csv(rows: list[dict[str, Any]], header: list[str] | None = None, sep: str = ",") -> bytes:
    header = header or list(rows[0]) if rows else HEADER
    lines = [sep.join(header)]
    for r in rows:
        lines.append(
            sep.join(
                f'"{r.get(c, "")}"' if sep in str(r.get(c, "")) else str(r.get(c, ""))
                for c in header
            )
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def to_xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for r in rows:
        sheet.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def check(data: bytes) -> imports.Checked:
    return imports.check(sheets.read(data), ENABLED)


def errors_of(data: bytes) -> list[tuple[int | None, str | None, str]]:
    return [(e.row, e.column, e.message) for e in check(data).errors]


def test_valid_csv_maps_bmc_columns_and_properties() -> None:
    out = check(to_csv([good_row(1), good_row(2, cpus="", memory_mb="", local_gb="")]))
    assert out.errors == [] and out.rows == 2
    first, second = out.nodes
    assert (first.row, first.name, first.driver) == (2, "node-1", "fake-hardware")
    assert first.driver_info == {
        "fake_bmc_address": "10.0.0.1",
        "fake_username": "admin",
        "fake_password": "pw",
    }
    assert first.macs == ["52:54:00:00:00:01", "52:54:00:00:01:01"]
    assert first.properties == {
        "cpu_arch": "x86_64",
        "cpus": 8,
        "memory_mb": 16384,
        "local_gb": 100,
    }
    assert first.resource_class == "baremetal"
    assert second.properties == {"cpu_arch": "x86_64"}


def test_ipmi_takes_the_port() -> None:
    out = check(to_csv([good_row(1, driver="ipmi", bmc_port="6230")]))
    assert out.errors == []
    assert out.nodes[0].driver_info == {
        "ipmi_address": "10.0.0.1",
        "ipmi_port": 6230,
        "ipmi_username": "admin",
        "ipmi_password": "pw",
    }


@pytest.mark.skipif("redfish" not in HARDWARE_TYPES, reason="no redfish hardware type yet")
def test_redfish_mapping() -> None:
    data = to_csv([good_row(1, driver="redfish", bmc_address="https://10.0.0.1:8000")])
    out = imports.check(sheets.read(data), ["redfish"])
    assert out.errors == []
    assert out.nodes[0].driver_info["redfish_address"] == "https://10.0.0.1:8000"
    assert out.nodes[0].driver_info["redfish_password"] == "pw"


def test_extra_columns_and_macs_separators() -> None:
    header = [*HEADER, "property:capabilities", "driver_info:fake_power_delay", "Property:rack"]
    row = good_row(
        1,
        macs="52:54:00:00:00:01;52-54-00-00-00-02 ; ",
        **{
            "property:capabilities": "boot_mode:uefi",
            "driver_info:fake_power_delay": "0.5",
            "Property:rack": "",
        },
    )
    out = check(to_csv([row], header))
    assert out.errors == []
    node = out.nodes[0]
    assert node.macs == ["52:54:00:00:00:01", "52:54:00:00:00:02"]
    assert node.properties["capabilities"] == "boot_mode:uefi" and "rack" not in node.properties
    assert node.driver_info["fake_power_delay"] == "0.5"


@pytest.mark.parametrize(
    ("over", "column", "needle"),
    [
        ({"name": ""}, "name", "name is required"),
        ({"name": "bad name!"}, "name", "is not valid"),
        ({"name": "8a1c2a5e-3b7e-4d1c-9a34-5c3f2b9f0d11"}, "name", "form of a UUID"),
        ({"driver": ""}, "driver", "driver is required"),
        ({"driver": "no-such"}, "driver", "not an enabled hardware type"),
        ({"bmc_address": ""}, "bmc_address", "bmc_address is required"),
        ({"bmc_port": "x"}, "bmc_port", "whole number"),
        ({"bmc_port": "70000"}, "bmc_port", "between 1 and 65535"),
        ({"bmc_port": "623"}, "bmc_port", "no BMC port setting"),
        ({"macs": "52:54:00:zz:00:01"}, "macs", "is not a MAC address"),
        ({"macs": "52:54:00:00:aa:01 52:54:00:00:aa:01"}, "macs", "given twice"),
        ({"cpus": "eight"}, "cpus", "whole number"),
        ({"cpus": "2.5"}, "cpus", "whole number"),
        ({"memory_mb": "0"}, "memory_mb", "at least 1"),
        ({"local_gb": "-1"}, "local_gb", "at least 0"),
        ({"cpu_arch": "x86-64"}, "cpu_arch", "is not one of"),
        ({"resource_class": "r" * 81}, "resource_class", "longer than 80"),
    ],
)
def test_every_row_error_names_row_and_column(over: dict[str, str], column: str, needle: str):
    data = to_csv([good_row(1), good_row(2, **over), good_row(3)])
    errors = errors_of(data)
    assert len(errors) == 1, errors
    row, col, message = errors[0]
    assert (row, col) == (3, column) and needle in message, errors[0]
    assert [n.row for n in check(data).nodes] == [2, 4]


def test_driver_check_formats_error_lands_on_its_column() -> None:
    header = [*HEADER, "driver_info:fake_power_delay"]
    data = to_csv([good_row(1, **{"driver_info:fake_power_delay": "soon"})], header)
    [(row, column, message)] = errors_of(data)
    assert (row, column) == (2, "driver_info:fake_power_delay") and "soon" in message


def test_ipmi_check_formats_runs_on_the_mapped_values() -> None:
    header = [*HEADER, "driver_info:ipmi_priv_level"]
    data = to_csv([good_row(1, driver="ipmi", **{"driver_info:ipmi_priv_level": "GOD"})], header)
    assert [(r, c) for r, c, _ in errors_of(data)] == [(2, "driver_info:ipmi_priv_level")]


def test_duplicates_inside_the_file_point_at_the_first_row() -> None:
    data = to_csv(
        [
            good_row(1),
            good_row(2, name="node-1"),
            good_row(3, macs="52:54:00:00:00:01"),
        ]
    )
    assert errors_of(data) == [
        (3, "name", "name 'node-1' is also on row 2"),
        (4, "macs", "MAC 52:54:00:00:00:01 is also on row 2"),
    ]


def test_every_error_of_a_row_is_reported() -> None:
    data = to_csv([good_row(1, name="", macs="nope", cpus="x", cpu_arch="arm")])
    assert {c for _, c, _ in errors_of(data)} == {"name", "macs", "cpus", "cpu_arch"}


def test_driver_info_column_may_not_repeat_a_bmc_column() -> None:
    header = [*HEADER, "driver_info:fake_username"]
    data = to_csv([good_row(1, **{"driver_info:fake_username": "root"})], header)
    assert [(r, c) for r, c, _ in errors_of(data)] == [(2, "driver_info:fake_username")]


def test_values_in_unnamed_columns_are_errors() -> None:
    data = b"name,driver,bmc_address,,macs\r\nn1,fake-hardware,10.0.0.1,oops,\r\n"
    assert [(r, c) for r, c, _ in errors_of(data)] == [(2, "#4")]
    data = b"name,driver,bmc_address\r\nn1,fake-hardware,10.0.0.1,extra\r\n"
    assert [(r, c) for r, c, _ in errors_of(data)] == [(2, "#4")]


@pytest.mark.parametrize(
    ("header", "column", "needle"),
    [
        ("name,driver,bmc_address,colour", "colour", "unknown column"),
        ("name,driver", "bmc_address", "required column 'bmc_address' is missing"),
        ("name,driver,bmc_address,NAME", "NAME", "appears twice"),
        ("name,driver,bmc_address,cpus,property:cpus", "property:cpus", "both"),
        ("name,driver,bmc_address,property:", "property:", "needs a key"),
    ],
)
def test_header_errors_reject_the_file(header: str, column: str, needle: str) -> None:
    with pytest.raises(FileRejected) as e:
        check((header + "\r\nn1,fake-hardware,10.0.0.1\r\n").encode())
    assert any(
        err["row"] == 1 and err["column"] == column and needle in err["message"]
        for err in e.value.errors
    ), e.value.errors


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"name,driver,bmc_address\r\n", "no rows"),
        (b"PK\x03\x04 not really a zip", "not a readable XLSX"),
        (b"name,driver\xff\xfe\xfd,bmc\r\n\x81\x00", "UTF-8"),
        (b'name,driver,bmc_address\r\n"n1,fake-hardware,10.0.0.1\r\n', "CSV"),
    ],
)
def test_unreadable_files_are_rejected_whole(data: bytes, needle: str) -> None:
    with pytest.raises(FileRejected) as e:
        check(data)
    assert needle in e.value.message


def test_row_numbers_count_blank_lines_like_a_spreadsheet() -> None:
    rows = [good_row(1), good_row(2, cpus="x")]
    data = to_csv(rows).replace(b"\r\nnode-2", b"\r\n,,,,\r\n\r\nnode-2")
    assert [(r, c) for r, c, _ in errors_of(data)] == [(5, "cpus")]


def test_semicolon_csv_with_bom_and_chinese_excel_encoding() -> None:
    data = to_csv([good_row(1, macs="52:54:00:00:00:01;52:54:00:00:00:02")], sep=";")
    out = check(b"\xef\xbb\xbf" + data)
    assert out.errors == [] and len(out.nodes[0].macs) == 2
    header = [*HEADER, "property:机房"]
    gbk = to_csv([good_row(1, **{"property:机房": "北京一号"})], header).decode().encode("gb18030")
    node = check(gbk).nodes[0]
    assert node.properties["机房"] == "北京一号"


def test_xlsx_keeps_types_and_row_numbers() -> None:
    rows: list[list[Any]] = [
        [*HEADER, "property:weight"],
        [
            "n1",
            "fake-hardware",
            "10.0.0.1",
            None,
            "admin",
            1234,
            "52:54:00:00:00:01",
            "x86_64",
            "baremetal",
            8,
            16384.0,
            100,
            2.5,
        ],
        [None] * 13,
        [
            "n2",
            "fake-hardware",
            "10.0.0.2",
            None,
            None,
            None,
            "bad-mac",
            None,
            None,
            "x",
            None,
            None,
            None,
        ],
    ]
    out = check(to_xlsx(rows))
    first = out.nodes[0]
    assert first.driver_info["fake_password"] == "1234"
    assert first.properties == {
        "cpu_arch": "x86_64",
        "cpus": 8,
        "memory_mb": 16384,
        "local_gb": 100,
        "weight": 2.5,
    }
    assert [(e.row, e.column) for e in out.errors] == [(4, "cpus"), (4, "macs")]


def test_written_files_read_back_and_formulas_stay_text() -> None:
    header = ["name", "driver", "bmc_address", "property:note"]
    rows = [["n1", "fake-hardware", "10.0.0.1", "=1+1"], ["n2", "fake-hardware", "x", None]]
    for data in (sheets.write_csv(header, rows), sheets.write_xlsx(header, rows, "nodes")):
        sheet = sheets.read(data)
        assert sheet.header == header
        first = sheet.rows[0][1]
        assert first[:4] == ["n1", "fake-hardware", "10.0.0.1", "=1+1"]


def test_too_many_rows() -> None:
    body = "\r\n".join(f"n{i},fake-hardware,10.0.0.1" for i in range(sheets.MAX_ROWS + 1))
    with pytest.raises(FileRejected) as e:
        sheets.read(("name,driver,bmc_address\r\n" + body).encode())
    assert "more than" in e.value.message
