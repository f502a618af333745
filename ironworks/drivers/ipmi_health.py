"""Sensors and the system event log of one IPMI BMC, read through an open session.

The transport is the poller's (`ipmi_poll.py`: one event loop, kept sessions, many BMCs at once);
this module knows which requests to send and what the answers mean. The words (sensor types,
units, event descriptions and their severities) are pyghmi's tables, so a reading or an event
is named here as `ironworks node sensors` (pyghmi's client) names it.

Per BMC and cycle: the SDR repository is read once and kept for `SDR_TTL` seconds (full and
compact sensor records; a whole record in one request, or in 16-byte pieces if the BMC refuses
that); then one Get Sensor Reading per sensor; then Get SEL Info, and only when the log changed
since the last read (entry count or last-addition time), the entries after the last one seen
(or all of them, if that one is gone: the log was cleared).
"""

from __future__ import annotations

import functools
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ironworks.domain.sensors import Health, LogEntry, Reading

Ask = Callable[..., Awaitable[tuple[int, bytes]]]  # (netfn, command, data) → (code, data)

SDR_TTL = 3600.0  # seconds an SDR read is trusted (sensors rarely change without a BMC reset)
MAX_RECORDS = 512  # SDR records or SEL entries read at most per BMC and cycle
_STORAGE, _SENSOR = 0x0A, 0x04
_CANNOT_RETURN = (0xCA, 0xC7, 0xFF)  # cannot return that many bytes / length invalid / unknown
_CHUNK = 16
# threshold status bits of Get Sensor Reading (IPMI 2.0 table 35-15): bit → (name, status)
_THRESHOLD_BITS = (
    ("lower non-critical", "warning"),
    ("lower critical", "critical"),
    ("lower non-recoverable", "failed"),
    ("upper non-critical", "warning"),
    ("upper critical", "critical"),
    ("upper non-recoverable", "failed"),
)
# where a full sensor record keeps each threshold (offset in the record; readable-mask bit)
_THRESHOLD_AT = {
    "upper non-recoverable": (36, 5),
    "upper critical": (37, 4),
    "upper non-critical": (38, 3),
    "lower non-recoverable": (39, 2),
    "lower critical": (40, 1),
    "lower non-critical": (41, 0),
}


@functools.cache
def _tables() -> tuple[Any, Any]:
    """pyghmi's constants (sensor types, event offsets) and unit names, imported on first use."""
    from pyghmi.ipmi import sdr
    from pyghmi.ipmi.private import constants

    return constants, sdr.unit_types


def _status(health: int) -> str:
    """pyghmi's Health (0 ok, 1 warning, 2 critical, 4 failed) as our word."""
    if health >= 4:
        return "failed"
    if health >= 2:
        return "critical"
    return "warning" if health else "ok"


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


@dataclass(frozen=True)
class Sdr:
    """One sensor of the SDR: what Get Sensor Reading needs to turn a raw byte into a value."""

    number: int
    name: str
    type_code: int
    reading_type: int  # 0x01 threshold; others discrete
    unit: str = ""
    numeric: int = 3  # 0 unsigned, 1 one's complement, 2 two's complement, 3 none
    m: int = 1
    b: int = 0
    b_exp: int = 0
    r_exp: int = 0
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return _tables()[0].sensor_type_codes.get(self.type_code, f"type 0x{self.type_code:02x}")

    def value(self, raw: int) -> float | None:
        if self.numeric == 1 and raw & 0x80:
            raw = -((~raw) & 0x7F)
        elif self.numeric == 2:
            raw = _signed(raw, 8)
        elif self.numeric == 3:
            return None
        y = (self.m * raw + self.b * 10**self.b_exp) * 10**self.r_exp
        return round(float(y), 6)


def parse_sdr(record: bytes) -> Sdr | None:
    """A full (01h) or compact (02h) sensor record, IPMI 2.0 tables 43-1 and 43-2; None for
    the other record types (FRU locators, OEM, ...)."""
    if len(record) < 5:
        return None
    kind = record[3]
    if kind == 0x02 and len(record) >= 32:
        n = record[31] & 0x1F
        name = record[32 : 32 + n].decode("latin-1").strip("\x00 ")
        return Sdr(record[7], name or f"sensor {record[7]}", record[12], record[13])
    if kind != 0x01 or len(record) < 48:
        return None
    n = record[47] & 0x1F
    name = record[48 : 48 + n].decode("latin-1").strip("\x00 ")
    units = _tables()[1]
    m = _signed(record[24] | (record[25] & 0xC0) << 2, 10)
    b = _signed(record[26] | (record[27] & 0xC0) << 2, 10)
    sdr = Sdr(
        number=record[7],
        name=name or f"sensor {record[7]}",
        type_code=record[12],
        reading_type=record[13],
        unit=units.get(record[21], ""),
        numeric=record[20] >> 6,
        m=m,
        b=b,
        b_exp=_signed(record[29] & 0x0F, 4),
        r_exp=_signed(record[29] >> 4, 4),
    )
    readable = record[18] if record[11] & 0x0C else 0
    thresholds = {}
    for name, (at, bit) in _THRESHOLD_AT.items():
        if readable & (1 << bit):
            value = sdr.value(record[at])
            if value is not None:
                thresholds[name] = value
    return Sdr(**{**sdr.__dict__, "thresholds": thresholds})


def parse_reading(sdr: Sdr, data: bytes) -> Reading:
    """Get Sensor Reading's answer (raw value, flags, state bytes) for the sensor `sdr`."""
    if len(data) < 2 or data[1] & 0x20 or not data[1] & 0x40:  # unavailable, or not scanning
        return Reading(sdr.name, sdr.kind, sdr.unit, None, "unavailable", sdr.thresholds)
    states: list[str] = []
    health = 0
    if sdr.reading_type == 0x01:
        bits = data[2] if len(data) > 2 else 0
        for bit, (name, status) in enumerate(_THRESHOLD_BITS):
            if bits & (1 << bit):
                states.append(f"{name} threshold")
                health |= {"warning": 1, "critical": 2, "failed": 4}[status]
        return Reading(
            sdr.name,
            sdr.kind,
            sdr.unit,
            sdr.value(data[0]),
            _status(health),
            sdr.thresholds,
            tuple(states),
        )
    constants = _tables()[0]
    table = (
        constants.sensor_type_offsets.get(sdr.type_code, {})
        if sdr.reading_type == 0x6F
        else constants.generic_type_offsets.get(sdr.reading_type, {})
    )
    bits = (data[2] if len(data) > 2 else 0) | ((data[3] & 0x7F) << 8 if len(data) > 3 else 0)
    for offset in range(15):
        if bits & (1 << offset):
            info = table.get(offset, {})
            states.append(info.get("desc", f"state {offset}"))
            health |= info.get("severity", 0)
    return Reading(sdr.name, sdr.kind, "", None, _status(health), {}, tuple(states))


def parse_entry(record: bytes, names: dict[int, str]) -> LogEntry | None:
    """A SEL record (IPMI 2.0 table 32-1); OEM records are kept with their type only."""
    if len(record) < 16:
        return None
    record_id, rtype = record[0] | record[1] << 8, record[2]
    if rtype != 0x02:
        return LogEntry(
            record_id, 0, "OEM", "", f"OEM record type 0x{rtype:02x}", "info", True, "oem"
        )
    (stamp,) = struct.unpack("<I", record[3:7])
    type_code, number, direction = record[10], record[11], record[12]
    event_type, offset = direction & 0x7F, record[13] & 0x0F
    asserted = not direction & 0x80
    constants = _tables()[0]
    table = (
        constants.sensor_type_offsets.get(type_code, {})
        if event_type == 0x6F
        else constants.generic_type_offsets.get(event_type, {})
    )
    info = table.get(offset, {})
    if asserted:
        text, health = info.get("desc"), info.get("severity", 0)
    else:
        text, health = info.get("deassertion_desc"), info.get("deassertion_severity", 0)
    severity = {"ok": "info", "warning": "warning"}.get(_status(health), "critical")
    return LogEntry(
        record_id=record_id,
        timestamp=stamp if stamp >= 0x20000000 else 0,  # below: seconds since BMC start
        kind=constants.sensor_type_codes.get(type_code, f"type 0x{type_code:02x}"),
        sensor=names.get(number, f"sensor {number}"),
        event=text
        or f"event type 0x{event_type:02x} offset {offset}" + ("" if asserted else " deasserted"),
        severity=severity,
        asserted=asserted,
        condition=f"{type_code:02x}.{number:02x}.{event_type:02x}.{offset:x}",
    )


async def _record(ask: Ask, command: int, reservation: bytes, record_id: int) -> tuple[int, bytes]:
    """(next record id, the record) of Get SDR (0x23) or Get SEL Entry (0x43); whole, or in
    pieces when the BMC cannot answer a whole record at once. Raises _Gone if it is not there."""
    code, data = await ask(_STORAGE, command, reservation + struct.pack("<HBB", record_id, 0, 0xFF))
    if code == 0 and len(data) >= 2:
        return data[0] | data[1] << 8, data[2:]
    if code not in _CANNOT_RETURN:
        raise _Gone(code)
    code, data = await ask(_STORAGE, command, reservation + struct.pack("<HBB", record_id, 0, 5))
    if code or len(data) < 7:
        raise _Gone(code)
    next_id, record = data[0] | data[1] << 8, bytearray(data[2:])
    total = 5 + record[4]
    while len(record) < total:
        want = min(_CHUNK, total - len(record))
        code, data = await ask(
            _STORAGE, command, reservation + struct.pack("<HBB", record_id, len(record), want)
        )
        if code or len(data) < 3:
            raise _Gone(code)
        record += data[2:]
    return next_id, bytes(record)


class _Gone(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"completion code 0x{code:02x}")
        self.code = code


async def _reserve(ask: Ask, command: int) -> bytes:
    code, data = await ask(_STORAGE, command)
    return bytes(data[:2]) if code == 0 and len(data) >= 2 else b"\x00\x00"


async def read_sdr(ask: Ask) -> list[Sdr]:
    reservation = await _reserve(ask, 0x22)
    out: list[Sdr] = []
    record_id = 0
    for _ in range(MAX_RECORDS):
        try:
            next_id, record = await _record(ask, 0x23, reservation, record_id)
        except _Gone:
            break
        sdr = parse_sdr(record)
        if sdr is not None:
            out.append(sdr)
        if next_id == 0xFFFF or next_id == record_id:
            break
        record_id = next_id
    return out


async def read_sel(ask: Ask, state: dict[str, Any], names: dict[int, str]) -> list[LogEntry]:
    """The entries added since the last call with this `state` (all, the first time)."""
    code, info = await ask(_STORAGE, 0x40)
    if code or len(info) < 9:
        return []  # no SEL device: nothing to read, not an error
    mark = (info[1] | info[2] << 8, struct.unpack("<I", info[5:9])[0])
    if state.get("sel_mark") == mark:
        return []
    reservation = await _reserve(ask, 0x42)
    record_id = 0
    last = state.get("sel_last")  # (record id, the record) of the newest entry seen
    if last is not None:
        try:
            next_id, record = await _record(ask, 0x43, reservation, last[0])
            if record == last[1]:
                if next_id == 0xFFFF:
                    state["sel_mark"] = mark
                    return []
                record_id = next_id
        except _Gone:
            pass  # gone: the log was cleared; read it from the start
    out: list[LogEntry] = []
    newest = last  # committed to `state` only once the read is complete: nothing is skipped
    for _ in range(MAX_RECORDS):
        try:
            next_id, record = await _record(ask, 0x43, reservation, record_id)
        except _Gone:
            break
        entry = parse_entry(record, names)
        if entry is not None:
            out.append(entry)
            newest = (entry.record_id, record)
        if next_id == 0xFFFF or next_id == record_id:
            break
        record_id = next_id
    state["sel_mark"], state["sel_last"] = mark, newest
    return out


async def read(ask: Ask, state: dict[str, Any]) -> Health:
    """One BMC's sensors and new log entries; `state` is kept by the caller between reads."""
    now = time.monotonic()
    if "sdr" not in state or now - state["sdr_at"] > SDR_TTL:
        state["sdr"] = await read_sdr(ask)
        state["sdr_at"] = now
    sensors: list[Sdr] = state["sdr"]
    health = Health()
    for sdr in sensors:
        code, data = await ask(_SENSOR, 0x2D, bytes([sdr.number]))
        if code == 0xCB:  # not present (an empty slot)
            continue
        if code:
            health.readings.append(
                Reading(sdr.name, sdr.kind, sdr.unit, None, "unavailable", sdr.thresholds)
            )
            continue
        health.readings.append(parse_reading(sdr, data))
    health.entries = await read_sel(ask, state, {s.number: s.name for s in sensors})
    return health
