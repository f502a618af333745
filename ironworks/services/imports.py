"""Batch enrolment: nodes from a CSV or XLSX file, and the same format back out.

One row per node. Columns (case does not matter, order neither):

    name, driver, bmc_address            required
    bmc_port, bmc_username, bmc_password the BMC, mapped onto the hardware type's driver_info
    macs                                 the node's NICs, separated by spaces or semicolons
    cpu_arch, resource_class, cpus, memory_mb, local_gb
    property:<key>, driver_info:<key>    anything else, as it is

Validation comes first and covers the whole file: every row on its own (required values,
names, MACs, numbers, a known and enabled hardware type, its driver_info formats through the
interfaces' `check_formats`), then the rows against each other (a name or MAC twice in the
file) and against the database (a name or MAC already enrolled). Every error is reported with
its row and column. Only then is anything written: without `skip_invalid` one error rejects the
file (`FileRejected`, 422); with it the valid rows are enrolled and the others reported. Either
way the write is ONE transaction of bulk INSERTs: the nodes, their ports, one history row each.
Secret driver_info values are encrypted before they are written, as `create_node` does.

Export writes the same columns, passwords (every secret) left empty, so a file exported from one
deployment, with its passwords filled in, enrols the same nodes in another.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.crypto import is_sealed
from ironworks.common.errors import Conflict, FileRejected, InvalidInput
from ironworks.common.ids import is_uuid_like, is_valid_name, new_uuid, normalize_mac
from ironworks.db import nodes as node_db
from ironworks.db import ports as port_db
from ironworks.db.engine import utcnow
from ironworks.domain import states
from ironworks.domain.nodes import INTERFACE_KINDS
from ironworks.drivers.base import HardwareType, Interface, Task
from ironworks.drivers.registry import hardware_type
from ironworks.services import licensing, sheets
from ironworks.services.context import Caller, Services
from ironworks.services.nodes import seal_driver_info, secret_test

log = logging.getLogger(__name__)

REQUIRED = ("name", "driver", "bmc_address")
BMC_COLUMNS = ("bmc_address", "bmc_port", "bmc_username", "bmc_password")
PROPERTY_COLUMNS = ("cpu_arch", "cpus", "memory_mb", "local_gb")
COLUMNS = (
    "name",
    "driver",
    *BMC_COLUMNS,
    "macs",
    "cpu_arch",
    "resource_class",
    "cpus",
    "memory_mb",
    "local_gb",
)
PROPERTY_PREFIX = "property:"
DRIVER_INFO_PREFIX = "driver_info:"

# Where each hardware type keeps its BMC's address, port and credentials. A type without a
# port key takes the port inside the address (redfish: https://host:port).
BMC_KEYS: dict[str, dict[str, str]] = {
    "fake-hardware": {
        "bmc_address": "fake_bmc_address",
        "bmc_username": "fake_username",
        "bmc_password": "fake_password",
    },
    "ipmi": {
        "bmc_address": "ipmi_address",
        "bmc_port": "ipmi_port",
        "bmc_username": "ipmi_username",
        "bmc_password": "ipmi_password",
    },
    "redfish": {
        "bmc_address": "redfish_address",
        "bmc_username": "redfish_username",
        "bmc_password": "redfish_password",
    },
}
# The architectures a flavor can ask for; a typo here would make a node unschedulable.
CPU_ARCHS = frozenset({"x86_64", "aarch64", "ppc64le", "s390x", "riscv64", "i686"})
_MAC_SPLIT = re.compile(r"[\s;,]+")


@dataclass(frozen=True)
class RowError:
    row: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class NodeRow:
    """One valid row, ready to insert (driver_info still plain text)."""

    row: int
    name: str
    driver: str
    driver_info: dict[str, Any]
    properties: dict[str, Any]
    resource_class: str | None
    macs: list[str]


@dataclass
class Checked:
    """The outcome of validating a file without the database."""

    rows: int
    nodes: list[NodeRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


# --- reading and validating ----------------------------------------------------------------------


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _value(cell: Any) -> Any:
    """A cell as a JSON value for property:/driver_info: columns (XLSX keeps its types)."""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    if isinstance(cell, bool | int | float):
        return cell
    return _text(cell)


def _whole(cell: Any, lo: int, hi: int | None = None) -> int:
    """A whole number in [lo, hi]; ValueError with the sentence for the operator."""
    if isinstance(cell, bool):
        raise ValueError("must be a whole number")
    if isinstance(cell, int):
        n = cell
    elif isinstance(cell, float) and cell.is_integer():
        n = int(cell)
    else:
        text = _text(cell)
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"must be a whole number, not {text!r}")
        n = int(text)
    if n < lo or (hi is not None and n > hi):
        raise ValueError(f"must be between {lo} and {hi}" if hi else f"must be at least {lo}")
    return n


def _check_header(sheet: sheets.Sheet) -> tuple[dict[str, int], list[RowError]]:
    """Column name -> index; errors here are about the file, not a row."""
    at: dict[str, int] = {}
    errors: list[RowError] = []
    row = sheet.header_row
    for i, raw in enumerate(sheet.header):
        if not raw:
            continue
        low = raw.lower()
        if low.startswith((PROPERTY_PREFIX, DRIVER_INFO_PREFIX)):
            prefix, _, key = raw.partition(":")
            name = f"{prefix.lower()}:{key.strip()}"
            if not key.strip():
                errors.append(RowError(row, raw, f"column {raw!r} needs a key after the colon"))
                continue
        elif low in COLUMNS:
            name = low
        else:
            errors.append(
                RowError(
                    row,
                    raw,
                    (
                        f"unknown column {raw!r}; the columns are {', '.join(COLUMNS)}, "
                        "property:<key> and driver_info:<key>"
                    ),
                )
            )
            continue
        if name in at:
            errors.append(RowError(row, raw, f"column {raw!r} appears twice"))
            continue
        at[name] = i
    for col in REQUIRED:
        if col not in at:
            errors.append(RowError(row, col, f"the required column {col!r} is missing"))
    for col in PROPERTY_COLUMNS:
        if col in at and f"{PROPERTY_PREFIX}{col}" in at:
            errors.append(
                RowError(
                    row, f"{PROPERTY_PREFIX}{col}", f"both {col!r} and 'property:{col}' are columns"
                )
            )
    return at, errors


class _DriverView:
    """What validation needs of one hardware type, worked out once per file."""

    def __init__(self, hw: type[HardwareType]) -> None:
        self.name = hw.name
        self.bmc = BMC_KEYS.get(hw.name, {})
        self.interfaces: list[Interface] = [hw.interface(k, None) for k in INTERFACE_KINDS]
        self.defaults = {f"{k}_interface": hw.default(k) for k in INTERFACE_KINDS}
        self.column_of = {key: col for col, key in self.bmc.items()}


def check(sheet: sheets.Sheet, enabled: Sequence[str]) -> Checked:
    """Validate every row of the file against its own values and the other rows."""
    at, header_errors = _check_header(sheet)
    if header_errors:
        raise FileRejected(
            "the header row of the file is not usable; nothing was enrolled",
            [e.as_dict() for e in header_errors],
        )
    out = Checked(rows=len(sheet.rows))
    if not sheet.rows:
        raise sheets.rejected("the file has a header but no rows of nodes", row=sheet.header_row)
    rows = _RowChecks(sheet, at, enabled)
    for number, cells in sheet.rows:
        row = _Row(number, cells, at)
        node = rows.check(row)
        if row.errors:
            out.errors.extend(row.errors)
        else:
            out.nodes.append(node)
    return out


@dataclass
class _Row:
    """One row of the file being checked: its cells by column name, the errors found so far."""

    number: int
    cells: list[Any]
    at: dict[str, int]
    errors: list[RowError] = field(default_factory=list)

    def cell(self, col: str) -> Any:
        i = self.at.get(col)
        return self.cells[i] if i is not None and i < len(self.cells) else None

    def bad(self, col: str, message: str) -> None:
        self.errors.append(RowError(self.number, col, message))


class _RowChecks:
    """The checks of one row, and what they remember across the rows of a file: the names and
    MACs seen (each may appear once) and the hardware types looked up."""

    def __init__(self, sheet: sheets.Sheet, at: dict[str, int], enabled: Sequence[str]) -> None:
        self.at, self.enabled = at, list(enabled)
        self.width = len(sheet.header)
        self.nameless = [i for i, head in enumerate(sheet.header) if not head]
        self.extra_props = [
            (c, c[len(PROPERTY_PREFIX) :]) for c in at if c.startswith(PROPERTY_PREFIX)
        ]
        self.extra_info = [
            (c, c[len(DRIVER_INFO_PREFIX) :]) for c in at if c.startswith(DRIVER_INFO_PREFIX)
        ]
        self.drivers: dict[str, _DriverView | InvalidInput] = {}
        self.names: dict[str, int] = {}  # name -> the row it is on
        self.macs: dict[str, int] = {}  # MAC -> the row it is on

    def check(self, row: _Row) -> NodeRow:
        """The row as a node; what is wrong with it lands in `row.errors`."""
        self.check_unnamed_columns(row)
        for col in REQUIRED:
            if not _text(row.cell(col)):
                row.bad(col, f"{col} is required")
        name = self.check_name(row)
        driver = _text(row.cell("driver"))
        view = self.check_driver(row, driver)
        info = self.check_bmc_columns(row, view)
        self.check_driver_info_columns(row, view, info)
        props = self.check_properties(row)
        resource_class = _text(row.cell("resource_class")) or None
        if resource_class and len(resource_class) > 80:
            row.bad("resource_class", "resource_class is longer than 80 characters")
        macs = self.check_macs(row)
        if view is not None:
            self.check_driver_info_formats(row, view, name, driver, info, props)
        return NodeRow(row.number, name, driver, info, props, resource_class, macs)

    def check_unnamed_columns(self, row: _Row) -> None:
        """A value under no header (a column without a name, or past the last one)."""
        for i in (*self.nameless, *range(self.width, len(row.cells))):
            if i < len(row.cells) and not sheets.blank(row.cells[i]):
                row.bad(f"#{i + 1}", f"a value in column {i + 1}, which has no name in the header")
                break

    def check_name(self, row: _Row) -> str:
        """A valid node name, not on an earlier row."""
        name = _text(row.cell("name"))
        if not name:
            return name
        if is_uuid_like(name) or not is_valid_name(name):
            row.bad(
                "name",
                f"name {name!r} is not valid: use letters, digits and -._~ (at most "
                "255), and not the form of a UUID",
            )
        elif name in self.names:
            row.bad("name", f"name {name!r} is also on row {self.names[name]}")
        else:
            self.names[name] = row.number
        return name

    def check_driver(self, row: _Row, driver: str) -> _DriverView | None:
        """A known and enabled hardware type (looked up once per file)."""
        if not driver:
            return None
        found = self.drivers.get(driver)
        if found is None:
            try:
                found = _DriverView(hardware_type(driver, self.enabled))
            except InvalidInput as e:
                found = e
            self.drivers[driver] = found
        if isinstance(found, InvalidInput):
            row.bad("driver", found.message)
            return None
        return found

    def check_bmc_columns(self, row: _Row, view: _DriverView | None) -> dict[str, Any]:
        """driver_info from the bmc_* columns, mapped onto the hardware type's keys."""
        info: dict[str, Any] = {}
        for col in BMC_COLUMNS:
            raw = row.cell(col)
            if _text(raw) == "":
                continue
            # a password keeps its spaces; a number typed into a spreadsheet becomes text
            value: Any = raw if col == "bmc_password" and isinstance(raw, str) else _text(raw)
            if col == "bmc_port":
                try:
                    value = _whole(raw, 1, 65535)
                except ValueError as e:
                    row.bad(col, f"bmc_port {e}")
                    continue
            if view is None:
                continue
            key = view.bmc.get(col)
            if key is None and col == "bmc_port":
                row.bad(
                    col,
                    f"hardware type {view.name} has no BMC port setting; give the port "
                    "in bmc_address (https://host:port)",
                )
                continue
            if key is None:
                row.bad(
                    col,
                    f"hardware type {view.name} takes its BMC settings in "
                    f"driver_info:<key> columns, not {col}",
                )
                continue
            info[key] = value
        return info

    def check_driver_info_columns(
        self, row: _Row, view: _DriverView | None, info: dict[str, Any]
    ) -> None:
        """driver_info:<key> columns into `info`; a key a bmc_* column gave already is an
        error."""
        for col, key in self.extra_info:
            raw = row.cell(col)
            if _text(raw) == "":
                continue
            if key in info:
                row.bad(col, f"{col} repeats {view.column_of.get(key, key) if view else key}")
                continue
            info[key] = _value(raw)

    def check_properties(self, row: _Row) -> dict[str, Any]:
        """A known cpu_arch, whole numbers for cpus, memory_mb and local_gb; property:<key>
        columns as they are."""
        props: dict[str, Any] = {}
        arch = _text(row.cell("cpu_arch"))
        if arch:
            if arch not in CPU_ARCHS:
                row.bad(
                    "cpu_arch", f"cpu_arch {arch!r} is not one of {', '.join(sorted(CPU_ARCHS))}"
                )
            props["cpu_arch"] = arch
        for col, lo in (("cpus", 1), ("memory_mb", 1), ("local_gb", 0)):
            raw = row.cell(col)
            if _text(raw) == "":
                continue
            try:
                props[col] = _whole(raw, lo)
            except ValueError as e:
                row.bad(col, f"{col} {e}")
        for col, key in self.extra_props:
            raw = row.cell(col)
            if _text(raw) != "":
                props[key] = _value(raw)
        return props

    def check_macs(self, row: _Row) -> list[str]:
        """MAC addresses, each once in the row and once in the file."""
        macs: list[str] = []
        for token in _MAC_SPLIT.split(_text(row.cell("macs"))):
            if not token:
                continue
            mac = normalize_mac(token)
            if mac is None:
                row.bad("macs", f"{token!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
            elif mac in macs:
                row.bad("macs", f"MAC {mac} is given twice")
            elif mac in self.macs:
                row.bad("macs", f"MAC {mac} is also on row {self.macs[mac]}")
            else:
                self.macs[mac] = row.number
                macs.append(mac)
        return macs

    def check_driver_info_formats(
        self,
        row: _Row,
        view: _DriverView,
        name: str,
        driver: str,
        info: dict[str, Any],
        props: dict[str, Any],
    ) -> None:
        """The interfaces' `check_formats` on the row's driver_info; the first error is reported
        on the column the value came from."""
        task = Task(
            node={
                "uuid": "?",
                "name": name,
                "driver": driver,
                "driver_info": info,
                "properties": props,
                **view.defaults,
            },
            purpose="validate import",
        )
        for iface in view.interfaces:
            try:
                iface.check_formats(task)
            except InvalidInput as e:
                key = (e.field or "").removeprefix("driver_info/")
                column = f"{DRIVER_INFO_PREFIX}{key}"
                col = view.column_of.get(key) or (column if column in self.at else None)
                row.bad(col or e.field or "driver_info", e.message)
                return


def check_database(conn: sa.Connection, rows: list[NodeRow]) -> list[RowError]:
    """Names and MACs of the valid rows that the database already has."""
    names = node_db.taken_names(conn, (r.name for r in rows))
    macs = port_db.taken_addresses(conn, (m for r in rows for m in r.macs))
    errors = []
    for r in rows:
        if r.name in names:
            errors.append(RowError(r.row, "name", f"a node named {r.name!r} already exists"))
        for mac in r.macs:
            if mac in macs:
                errors.append(RowError(r.row, "macs", f"MAC {mac} is already enrolled"))
    return errors


# --- enrolling -----------------------------------------------------------------------------------


def import_nodes(
    svc: Services,
    data: bytes,
    caller: Caller,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    source: str = "a file",
) -> dict[str, Any]:
    """Validate the whole file, then enrol all of it, or with `skip_invalid` its valid rows;
    with `dry_run`, validate only (the database's rules and the license included), enrol
    nothing and report the errors rather than raise them.

    Returns the report: `created` (row, name, uuid), `errors` (row, column, message),
    `skipped` (rows left out) and `valid` (rows enrolled, or that would be with `dry_run`).
    Raises FileRejected with every error when nothing may be written.
    """
    try:
        checked = check(sheets.read(data), svc.settings.enabled_hardware_types)
    except FileRejected as e:
        if not dry_run:
            raise
        return {"created": [], "errors": e.errors, "skipped": 0, "valid": 0}
    try:
        with svc.db.write() as conn:
            db_errors = check_database(conn, checked.nodes)
            errors = sorted([*checked.errors, *db_errors], key=lambda e: e.row or 0)
            bad = {e.row for e in errors}
            if errors and not skip_invalid and not dry_run:
                raise FileRejected(
                    f"{len(errors)} error(s) in {len(bad)} of {checked.rows} row(s); nothing "
                    "was enrolled. Fix them, or import with skip_invalid to enrol the valid "
                    "rows only",
                    [e.as_dict() for e in errors],
                )
            good = [r for r in checked.nodes if r.row not in bad]
            licensing.check_enrolment(conn, svc, len(good))
            created = [] if dry_run else _insert(svc, conn, good, caller, source)
    except IntegrityError:  # the database's unique constraints: a concurrent enrolment
        raise Conflict(
            "another request enrolled a node with one of these names or MACs meanwhile; "
            "import the file again to see which"
        ) from None
    if not dry_run:
        log.info("enrolled %d node(s) from %s; %d row(s) skipped", len(created), source, len(bad))
    return {
        "created": created,
        "errors": [e.as_dict() for e in errors],
        "skipped": len(bad),
        "valid": len(good),
    }


def _insert(
    svc: Services, conn: sa.Connection, rows: list[NodeRow], caller: Caller, source: str
) -> list[dict[str, Any]]:
    if not rows:
        return []
    now = utcnow()
    views = {r.driver: _DriverView(hardware_type(r.driver)) for r in rows}
    values = []
    for r in rows:
        values.append(
            {
                "uuid": new_uuid(),
                "name": r.name,
                "driver": r.driver,
                **views[r.driver].defaults,
                "driver_info": seal_driver_info(svc, r.driver, r.driver_info),
                "properties": r.properties,
                "resource_class": r.resource_class,
                "driver_internal_info": {},
                "instance_info": {},
                "extra": {},
                "network_data": {},
                "provision_state": states.ENROLL,
                "conductor_group": "",
                "maintenance": False,
                "protected": False,
                "retired": False,
                "disable_power_off": False,
                "console_enabled": False,
                "created_at": now,
            }
        )
    ids = node_db.add_many(conn, values)
    port_values = [
        {
            "uuid": new_uuid(),
            "address": mac,
            "node_id": node_id,
            "pxe_enabled": True,
            "local_link_connection": {},
            "extra": {},
            "internal_info": {},
            "is_smartnic": False,
            "available_for_dynamic_portgroup": True,
            "created_at": now,
        }
        for r, (node_id, _) in zip(rows, ids, strict=True)
        for mac in r.macs
    ]
    if port_values:
        port_db.add_many(conn, port_values)
    node_db.record_events(
        conn,
        [node_id for node_id, _ in ids],
        f"Node created in state {states.ENROLL} (batch enrolment from {source})",
        event_type="provisioning",
        user=caller.user,
        to_state=states.ENROLL,
        request_id=caller.request_id,
    )
    return [
        {"row": r.row, "name": r.name, "uuid": uuid} for r, (_, uuid) in zip(rows, ids, strict=True)
    ]


# --- exporting -----------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


def export_rows(svc: Services) -> tuple[list[str], list[list[Any]]]:
    """Every node as a row of the import format; secrets left empty."""
    with svc.db.read() as conn:
        found = node_db.for_export(conn)
        nics = port_db.macs_by_node_id(conn)
    prop_keys: set[str] = set()
    info_keys: set[str] = set()
    bmc_of: dict[str, dict[str, str]] = {}
    for n in found:
        bmc = bmc_of.setdefault(n.driver, {v: k for k, v in BMC_KEYS.get(n.driver, {}).items()})
        prop_keys.update(k for k in (n.properties or {}) if k not in PROPERTY_COLUMNS)
        info_keys.update(k for k in (n.driver_info or {}) if k not in bmc)
    header = [
        *COLUMNS,
        *(PROPERTY_PREFIX + k for k in sorted(prop_keys)),
        *(DRIVER_INFO_PREFIX + k for k in sorted(info_keys)),
    ]
    rows = []
    for n in found:
        info = n.driver_info or {}
        props = n.properties or {}
        secret = secret_test(n.driver)
        row: dict[str, Any] = {
            "name": n.name,
            "driver": n.driver,
            "resource_class": n.resource_class,
            "macs": " ".join(nics.get(n.id, [])),
        }
        for key, value in info.items():
            col = bmc_of[n.driver].get(key) or DRIVER_INFO_PREFIX + key
            row[col] = "" if secret(key) or is_sealed(value) else _cell(value)
        row["bmc_password"] = ""
        for key, value in props.items():
            col = key if key in PROPERTY_COLUMNS else PROPERTY_PREFIX + key
            row[col] = _cell(value)
        rows.append([row.get(col) for col in header])
    return header, rows


def export_nodes(svc: Services, fmt: str) -> tuple[bytes, int]:
    """The file (CSV or XLSX) and the number of nodes in it."""
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput(f"format must be csv or xlsx, not {fmt!r}", field="format")
    header, rows = export_rows(svc)
    if fmt == "csv":
        return sheets.write_csv(header, rows), len(rows)
    return sheets.write_xlsx(header, rows, title="nodes"), len(rows)
