"""Alarm rules: what about a node is wrong right now, as conditions with a severity.

Pure functions of what the sensor cycle knows (the node's row, its readings, the new event-log
entries, how many reads in a row failed) and the settings; the cycle (`conductor/sensors.py`)
turns conditions into alarms. Two kinds:
* level rules, evaluated every cycle: a condition that no longer holds resolves its alarm
  (sensor thresholds of ours and the BMC's, BMC unreachable, power failure, a failed deploy or
  clean, a node stuck in a wait state);
* event rules (the event log): an asserted entry of enough severity fires, the entry that
  deasserts the same condition resolves.
Life cycle of an alarm: firing → acknowledged (an operator saw it) → resolved (the cause
cleared; never by hand), or firing → resolved.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ironworks.domain import states
from ironworks.domain.sensors import LogEntry, Reading

RULES = (
    "sensor_threshold",  # a reading crossed a value of ours (monitoring.rules)
    "bmc_threshold",  # a reading crossed a threshold the BMC reports
    "event_log",  # the BMC logged an event of enough severity
    "bmc_unreachable",  # the BMC did not answer (or refused us) several reads in a row
    "power_failure",  # the power sync put the node in maintenance for "power failure"
    "provision_failure",  # deploy, clean, inspect, ... failed
    "stuck",  # in a wait state for longer than monitoring.stuck_after
)
SENSOR_RULES = frozenset({"sensor_threshold", "bmc_threshold"})
STATES = ("firing", "acknowledged", "resolved")
LEVELS = {"warning": 1, "critical": 2}


@dataclass(frozen=True)
class Condition:
    rule: str
    key: str  # unique per node while it holds (the alarm's `condition`)
    severity: str  # warning, critical
    summary: str


def _fmt(value: float, unit: str) -> str:
    return f"{value:g} {unit}".strip()


def sensor_conditions(
    readings: list[Reading], rules: list[Any], bmc_thresholds: bool
) -> list[Condition]:
    """Readings against our rules (objects with sensor, kind, above, below, severity) and the
    BMC's own threshold status."""
    out: list[Condition] = []
    for r in readings:
        if bmc_thresholds and r.status in ("warning", "critical", "failed"):
            severity = "warning" if r.status == "warning" else "critical"
            crossed = ", ".join(r.states) or f"status {r.status}"
            value = "" if r.value is None else f" at {_fmt(r.value, r.unit)}"
            out.append(
                Condition(
                    "bmc_threshold",
                    f"bmc:{r.name}",
                    severity,
                    f"{r.kind} sensor {r.name}{value}: {crossed} (the BMC's)",
                )
            )
        if r.value is None:
            continue
        for rule in rules:
            if not fnmatch.fnmatchcase(r.name, rule.sensor) or (rule.kind and rule.kind != r.kind):
                continue
            if rule.above is not None and r.value >= rule.above:
                out.append(
                    Condition(
                        "sensor_threshold",
                        f"sensor:{r.name}:above:{rule.above:g}",
                        rule.severity,
                        f"{r.kind} sensor {r.name} at {_fmt(r.value, r.unit)}, at or above "
                        f"{_fmt(rule.above, r.unit)}",
                    )
                )
            if rule.below is not None and r.value < rule.below:
                out.append(
                    Condition(
                        "sensor_threshold",
                        f"sensor:{r.name}:below:{rule.below:g}",
                        rule.severity,
                        f"{r.kind} sensor {r.name} at {_fmt(r.value, r.unit)}, below "
                        f"{_fmt(rule.below, r.unit)}",
                    )
                )
    return out


def node_conditions(
    node: dict[str, Any], failures: int, last_error: str | None, cfg: Any, now: datetime
) -> list[Condition]:
    """The level rules that read the node's row and its BMC's answers (not the sensors)."""
    out: list[Condition] = []
    if failures >= cfg.unreachable_after and last_error:
        out.append(
            Condition(
                "bmc_unreachable",
                "bmc_unreachable",
                "critical",
                f"BMC failed {failures} reads in a row: {last_error}",
            )
        )
    if node.get("maintenance") and node.get("fault") == "power failure":
        out.append(
            Condition(
                "power_failure",
                "power_failure",
                "critical",
                f"power failure: {node.get('maintenance_reason') or 'the power state is unknown'}",
            )
        )
    state = node.get("provision_state")
    if state in states.FAILED_STATES:
        reason = node.get("last_error") or "no error recorded"
        out.append(
            Condition("provision_failure", f"provision:{state}", "critical", f"{state}: {reason}")
        )
    since = node.get("provision_updated_at")
    if state in states.WAIT_STATES and since is not None:
        waited = (now - since).total_seconds()
        if waited >= cfg.stuck_after:
            out.append(
                Condition(
                    "stuck",
                    f"stuck:{state}",
                    "warning",
                    f"in '{state}' for {waited / 60:.0f} min (more than {cfg.stuck_after / 60:g} min)",
                )
            )
    return out


def entry_condition(entry: LogEntry, min_severity: str) -> Condition | None:
    """The condition an asserted event-log entry raises, if severe enough."""
    if not entry.asserted or LEVELS.get(entry.severity, 0) < LEVELS[min_severity]:
        return None
    return Condition(
        "event_log",
        f"sel:{entry.condition}",
        entry.severity,
        f"event log: {entry.kind} {entry.sensor}: {entry.event}",
    )


def severe_enough(severity: str, minimum: str) -> bool:
    return LEVELS.get(severity, 0) >= LEVELS[minimum]
