"""The sensor cycle over Redfish: the chassis' Thermal and Power resources as readings, the
system's LogServices entries as event-log entries (sushy's connection; no per-BMC state).

Readings: temperatures, fans, voltages and power supplies with the thresholds the BMC publishes
(`UpperThresholdCritical`, ...) and its own health as the status (`OK`, `Warning`, `Critical`).
Entries: every `LogEntry` of the system's log services, newest `MAX_ENTRIES` of each; a Redfish
entry's `Id` is its record id (a number, or a stable hash of a text id) and the database keeps
each once, so reading a log again adds nothing. `EntryCode` "Deassert" ends what the matching
"Assert" (same sensor type, sensor and message id) started.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from ironworks.domain.sensors import Health, LogEntry, Reading

MAX_ENTRIES = 256
_STATUS = {"OK": "ok", "Warning": "warning", "Critical": "critical"}
_SEVERITY = {"OK": "info", "Warning": "warning", "Critical": "critical"}
_THRESHOLDS = {
    "UpperThresholdFatal": "upper non-recoverable",
    "UpperThresholdCritical": "upper critical",
    "UpperThresholdNonCritical": "upper non-critical",
    "LowerThresholdNonCritical": "lower non-critical",
    "LowerThresholdCritical": "lower critical",
    "LowerThresholdFatal": "lower non-recoverable",
}


def _reading(item: dict[str, Any], kind: str, value_key: str, unit: str) -> Reading:
    status = item.get("Status") or {}
    value = item.get(value_key)
    thresholds = {
        name: float(item[key])
        for key, name in _THRESHOLDS.items()
        if isinstance(item.get(key), int | float)
    }
    if status.get("State") in ("Absent", "Disabled", "UnavailableOffline") or not isinstance(
        value, int | float
    ):
        return Reading(str(item.get("Name")), kind, unit, None, "unavailable", thresholds)
    health = _STATUS.get(status.get("Health") or "OK", "ok")
    return Reading(str(item.get("Name")), kind, unit, float(value), health, thresholds)


def readings_of(system: Any) -> list[Reading]:
    out: list[Reading] = []
    for chassis in system.chassis:
        if chassis.thermal_data:
            thermal = chassis.thermal.json
            for t in thermal.get("Temperatures") or []:
                out.append(_reading(t, "Temperature", "ReadingCelsius", "°C"))
            for f in thermal.get("Fans") or []:
                f = {**f, "Name": f.get("Name") or f.get("FanName")}
                out.append(_reading(f, "Fan", "Reading", f.get("ReadingUnits") or "RPM"))
        if chassis.power_data:
            power = chassis.power.json
            for p in power.get("PowerSupplies") or []:
                out.append(_reading(p, "Power Supply", "LastPowerOutputWatts", "W"))
            for v in power.get("Voltages") or []:
                out.append(_reading(v, "Voltage", "ReadingVolts", "V"))
    return out


def _record_id(ident: Any) -> int:
    text = str(ident)
    return int(text) if text.isdigit() and int(text) < 2**31 else zlib.crc32(text.encode()) >> 1


def _timestamp(text: Any) -> int:
    try:
        return int(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def entry_of(e: dict[str, Any]) -> LogEntry:
    code = str(e.get("EntryCode") or "")
    asserted = code != "Deassert"
    kind = str(e.get("SensorType") or e.get("EntryType") or "Event")
    sensor = str(e.get("SensorNumber") if e.get("SensorNumber") is not None else "")
    what = str(e.get("MessageId") or e.get("Message") or "")
    return LogEntry(
        record_id=_record_id(e.get("Id")),
        timestamp=_timestamp(e.get("Created")),
        kind=kind,
        sensor=sensor,
        event=str(e.get("Message") or what or code),
        severity=_SEVERITY.get(str(e.get("Severity") or "OK"), "info"),
        asserted=asserted,
        condition=f"rf.{zlib.crc32(f'{kind}|{sensor}|{what}'.encode()):08x}",
    )


def entries_of(system: Any) -> list[LogEntry]:
    conn = system._conn
    link = (system.json.get("LogServices") or {}).get("@odata.id")
    if not link:
        return []
    out: list[LogEntry] = []
    for member in conn.get(path=link).json().get("Members") or []:
        service = conn.get(path=member["@odata.id"]).json()
        entries = (service.get("Entries") or {}).get("@odata.id")
        if not entries:
            continue
        items = conn.get(path=entries).json().get("Members") or []
        for item in items[-MAX_ENTRIES:]:
            if set(item) <= {"@odata.id"}:  # a link only: fetch the entry
                item = conn.get(path=item["@odata.id"]).json()
            out.append(entry_of(item))
    return out


def health_of(system: Any) -> Health:
    return Health(readings=readings_of(system), entries=entries_of(system))
