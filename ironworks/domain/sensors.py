"""What a BMC says about a server's health: sensor readings and system event log entries.

Drivers fill these in (IPMI: `drivers/ipmi_health.py`; Redfish: `drivers/redfish/health.py`),
the conductor's sensor cycle stores them (`conductor/sensors.py`) and the alarm rules read them
(`domain/alarms.py`). Statuses and severities are the same few words everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A reading's status, worst last: the BMC's own threshold comparison (or health) for the sensor.
STATUSES = ("ok", "warning", "critical", "failed", "unavailable")
# An event log entry's severity.
SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class Reading:
    """One sensor: its name, kind (Temperature, Fan, Voltage, Power Supply, ...), unit, value
    (None when unavailable or discrete), status, and the BMC's thresholds by name ("upper
    critical", "lower critical", ...)."""

    name: str
    kind: str
    unit: str
    value: float | None
    status: str = "ok"
    thresholds: dict[str, float] = field(default_factory=dict)
    states: tuple[str, ...] = ()  # the BMC's words for what the status means


@dataclass(frozen=True)
class LogEntry:
    """One system event log entry. `record_id` is the BMC's id for the entry (unique per BMC
    while the entry is kept); `condition` names what the entry asserts or deasserts (the same
    for both), so a deassertion ends what the assertion started."""

    record_id: int
    timestamp: int  # seconds since the epoch, the BMC's clock (0: unknown)
    kind: str  # the sensor type: Power Supply, Fan, Temperature, ...
    sensor: str  # the sensor's name when the SDR knows it, else its number
    event: str
    severity: str
    asserted: bool
    condition: str


@dataclass
class Health:
    """What one read of a BMC brought: every sensor, and the log entries new since the last read."""

    readings: list[Reading] = field(default_factory=list)
    entries: list[LogEntry] = field(default_factory=list)


def worst(a: str, b: str) -> str:
    order = {"ok": 0, "info": 0, "unavailable": 0, "warning": 1, "critical": 2, "failed": 3}
    return a if order.get(a, 0) >= order.get(b, 0) else b
