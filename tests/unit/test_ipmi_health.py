"""The sensor cycle's IPMI requests and their decoding (`drivers/ipmi_health.py`) against a
scripted BMC: the SDR read whole or, when the BMC refuses, in pieces; compact records; readings
with threshold bits; the event log read once, then only what is new, then again from the start
after it was cleared. The same code against emulated BMCs over UDP: tests/integration."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from ironworks.drivers import ipmi_health

STORAGE, SENSOR = 0x0A, 0x04


def full_record(record_id: int, number: int, name: str, sensor_type: int = 0x01) -> bytes:
    """A full sensor record, linear y = 2x - 10 (M 2, B -1, B exp 1), degrees C, with an
    upper critical threshold of raw 50 (90 °C)."""
    body = bytearray(43)
    body[0], body[2], body[7], body[8] = 0x20, number, sensor_type, 0x01
    body[6], body[13] = 0x04, 0x10  # readable thresholds: upper critical
    body[16] = 1  # degrees C
    body[19] = 2  # M
    body[21] = 0xFF  # B = -1 (10-bit two's complement: low byte 0xFF, top bits in byte 22)
    body[22] = 0xC0
    body[24] = 0x01  # R exp 0, B exp 1
    body[32] = 50  # upper critical
    body[42] = 0xC0 | len(name)
    body += name.encode()
    return struct.pack("<HBBB", record_id, 0x51, 0x01, len(body)) + bytes(body)


def compact_record(record_id: int, number: int, name: str) -> bytes:
    body = bytearray(27)
    body[0], body[2], body[7], body[8] = 0x20, number, 0x08, 0x6F  # power supply, discrete
    body[26] = 0xC0 | len(name)
    body += name.encode()
    return struct.pack("<HBBB", record_id, 0x51, 0x02, len(body)) + bytes(body)


def sel_record(
    record_id: int, stamp: int, sensor_type: int, number: int, offset: int, deassert: bool = False
) -> bytes:
    return struct.pack(
        "<HBIBBBBBBBBB",
        record_id,
        0x02,
        stamp,
        0x20,
        0,
        0x04,
        sensor_type,
        number,
        (0x80 if deassert else 0) | 0x6F,
        offset,
        0xFF,
        0xFF,
    )


class ScriptedBmc:
    def __init__(self, whole: bool) -> None:
        self.whole = whole  # answers a whole record at once (else 0xCA: ask in pieces)
        self.sdr = [full_record(1, 1, "CPU Temp"), compact_record(2, 5, "PSU1 Status")]
        self.sel: list[bytes] = []
        self.readings = {1: [30, 0xC0, 0x10], 5: [0, 0xC0, 0x02, 0x00]}
        self.asked: list[tuple[int, int]] = []

    @staticmethod
    def _get(records: list[bytes], data: bytes, whole: bool) -> tuple[int, bytes]:
        rid, offset, count = struct.unpack("<HBB", data[2:6])
        ids = [r[0] | r[1] << 8 for r in records]
        if not records:
            return 0xCB, b""
        i = (
            0
            if rid == 0
            else len(records) - 1
            if rid == 0xFFFF
            else ids.index(rid)
            if rid in ids
            else -1
        )
        if i < 0:
            return 0xCB, b""
        if count == 0xFF and not whole:
            return 0xCA, b""
        nxt = ids[i + 1] if i + 1 < len(records) else 0xFFFF
        rec = records[i]
        return 0, struct.pack("<H", nxt) + (
            rec[offset:] if count == 0xFF else rec[offset : offset + count]
        )

    async def ask(self, netfn: int, command: int, data: bytes = b"") -> tuple[int, bytes]:
        self.asked.append((netfn, command))
        if (netfn, command) in ((STORAGE, 0x22), (STORAGE, 0x42)):
            return 0, b"\x01\x00"
        if (netfn, command) == (STORAGE, 0x23):
            return self._get(self.sdr, data, self.whole)
        if (netfn, command) == (SENSOR, 0x2D):
            return 0, bytes(self.readings[data[0]])
        if (netfn, command) == (STORAGE, 0x40):
            last = max((struct.unpack("<I", r[3:7])[0] for r in self.sel), default=0)
            return 0, bytes([0x51, len(self.sel), 0, 0, 0]) + struct.pack("<II", last, 0) + b"\x02"
        if (netfn, command) == (STORAGE, 0x43):
            return self._get(self.sel, data, True)
        return 0xC1, b""


def read(bmc: ScriptedBmc, state: dict[str, Any]) -> Any:
    return asyncio.run(ipmi_health.read(bmc.ask, state))


def test_sdr_in_pieces_readings_and_thresholds() -> None:
    bmc = ScriptedBmc(whole=False)
    health = read(bmc, {})
    cpu, psu = health.readings
    assert (cpu.name, cpu.kind, cpu.unit, cpu.value) == ("CPU Temp", "Temperature", "°C", 50.0)
    assert cpu.thresholds == {"upper critical": 90.0}
    assert cpu.status == "critical" and cpu.states == ("upper critical threshold",)
    assert (psu.name, psu.kind, psu.value, psu.status) == (
        "PSU1 Status",
        "Power Supply",
        None,
        "critical",
    )
    assert psu.states == ("Failure",)
    pieces = bmc.asked.count((STORAGE, 0x23))
    assert pieces > 4, "records longer than 16 bytes were read in pieces"
    # a kept state does not read the SDR again: one reading per sensor
    state: dict[str, Any] = {}
    read(bmc, state)
    bmc.asked.clear()
    read(bmc, state)
    assert (STORAGE, 0x23) not in bmc.asked and bmc.asked.count((SENSOR, 0x2D)) == 2


def test_event_log_once_then_new_then_after_a_clear() -> None:
    bmc = ScriptedBmc(whole=True)
    bmc.sel = [sel_record(1, 0x60000000, 0x09, 16, 0), sel_record(2, 0x60000001, 0x08, 5, 1)]
    state: dict[str, Any] = {}
    first = read(bmc, state).entries
    assert [(e.record_id, e.kind, e.sensor, e.event, e.severity) for e in first] == [
        (1, "Power Unit", "sensor 16", "Power off", "info"),
        (2, "Power Supply", "PSU1 Status", "Failure", "critical"),
    ]
    bmc.asked.clear()
    assert read(bmc, state).entries == []
    assert bmc.asked.count((STORAGE, 0x43)) == 0, "an unchanged log is not read"
    bmc.sel.append(sel_record(3, 0x60000002, 0x08, 5, 1, deassert=True))
    (new,) = read(bmc, state).entries
    assert (new.record_id, new.event, new.asserted, new.severity) == (3, "Recovered", False, "info")
    assert new.condition == first[1].condition
    bmc.sel = [sel_record(1, 0x60000010, 0x01, 1, 9)]  # cleared; ids begin again
    (again,) = read(bmc, state).entries
    assert (again.record_id, again.timestamp) == (1, 0x60000010)
