"""The sensor cycle: each conductor reads its nodes' sensors and event logs, and keeps alarms.

Every `monitoring.sensor_interval` seconds each conductor reads the nodes the hash ring gives
it (every state but `enroll`, whose BMC access is not verified), all at once like the power
sync: each management interface gets its nodes in one call (`get_healths`); the ipmi one asks
every BMC from the poller's event loop (`drivers/ipmi_poll.py`) on its kept session, with
`sensor_workers` BMCs in flight, each within its own ipmi_timeout, so a dead BMC costs one slot
for its timeout and nothing more (the ipmitool interface too: the poller speaks RMCP+
itself). Interfaces without sensors (fake, bridged IPMI) are skipped.

In one transaction: every reading is stored (pruned after `monitoring.retention`), new event
log entries once each (`db/monitoring.new_entries`: by record id), and the alarm rules
(`domain/alarms.py`) are applied: a condition that holds and has no open alarm fires one, an
open alarm whose condition no longer holds is resolved, and each of those queues its
notifications (`conductor/notify.py` sends them, outside the cycle). Then the cycle's duration,
nodes and BMC errors by kind (error code) replace this conductor's previous ones
(`db/monitoring.record_cycle`, as the power sync does), for the API's `/metrics`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from ironworks.common.errors import IronworksError, NotSupported
from ironworks.conductor.periodic import Member, ask_in_bulk, live_ring
from ironworks.db import monitoring as mon_db
from ironworks.db.engine import as_utc, utcnow
from ironworks.domain import alarms, states
from ironworks.domain.sensors import Health
from ironworks.drivers.base import Task

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    owned: int = 0  # nodes this conductor is responsible for
    read: int = 0  # BMCs that answered
    errors: int = 0  # BMCs that did not answer or refused
    error_kinds: dict[str, int] = field(default_factory=dict)  # error code → BMCs
    unsupported: int = 0  # nodes whose management interface has no sensor cycle
    readings: int = 0
    entries: int = 0  # new event-log entries
    fired: int = 0
    resolved: int = 0
    seconds: float = 0.0
    read_seconds: float = 0.0  # of which reading the BMCs

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SensorCycle:
    """One conductor's sensor cycle; remembers failed reads in a row per node between runs."""

    def __init__(self, conductor: Member, task: Callable[[dict[str, Any], str], Task]) -> None:
        self.c = conductor
        self.task = task
        self.failures: dict[str, tuple[int, str]] = {}  # uuid → (reads failed in a row, error)
        self.last: CycleReport | None = None

    @property
    def cfg(self) -> Any:
        return self.c.settings.monitoring

    def candidates(self) -> list[dict[str, Any]]:
        ring = live_ring(self.c)
        with self.c.db.read() as conn:
            rows = mon_db.sensor_candidates(conn, self.c.cfg.group, [states.ENROLL])
        return [r for r in rows if ring.owner(r["uuid"]) == self.c.host]

    def run(self) -> CycleReport:
        started = time.monotonic()
        report = CycleReport()
        mine = self.candidates()
        report.owned = len(mine)
        answers = self.read(mine)
        report.read_seconds = round(time.monotonic() - started, 3)
        self.record(mine, answers, report)
        report.seconds = round(time.monotonic() - started, 3)
        with self.c.db.write() as conn:
            mon_db.record_cycle(
                conn,
                self.c.host,
                "sensors",
                utcnow(),
                report.seconds,
                report.owned,
                report.error_kinds,
            )
        self.last = report
        log.info("sensor cycle: %s", report.as_dict())
        return report

    def read(self, mine: list[dict[str, Any]]) -> dict[str, Health | IronworksError]:
        """uuid → what the BMC said, or the error; one bulk call per management interface."""
        workers = self.cfg.sensor_workers
        return ask_in_bulk(
            mine,
            "management",
            self.task,
            "sensor cycle",
            lambda mgmt, tasks: mgmt.get_healths(tasks, workers),
        )

    def record(
        self,
        mine: list[dict[str, Any]],
        answers: dict[str, Health | IronworksError],
        report: CycleReport,
    ) -> None:
        now = utcnow()
        cfg = self.cfg
        self.failures = {u: f for u, f in self.failures.items() if u in answers}
        readings: list[dict[str, Any]] = []
        with self.c.db.write() as conn:
            open_by_node: dict[int, dict[str, dict[str, Any]]] = {}
            for a in mon_db.open_alarms(conn, [n["id"] for n in mine]):
                open_by_node.setdefault(a["node_id"], {})[a["condition"]] = a
            for node in mine:
                answer = answers.get(node["uuid"])
                health: Health | None = None
                if isinstance(answer, NotSupported):
                    report.unsupported += 1
                elif isinstance(answer, IronworksError):
                    report.errors += 1
                    report.error_kinds[answer.code] = report.error_kinds.get(answer.code, 0) + 1
                    n, _ = self.failures.get(node["uuid"], (0, ""))
                    self.failures[node["uuid"]] = (n + 1, answer.message)
                elif answer is not None:
                    report.read += 1
                    self.failures.pop(node["uuid"], None)
                    health = answer
                    readings.extend(
                        {
                            "node_id": node["id"],
                            "read_at": now,
                            "name": r.name[:64],
                            "kind": r.kind[:64],
                            "unit": r.unit[:16],
                            "value": r.value,
                            "status": r.status,
                        }
                        for r in health.readings
                    )
                opened = open_by_node.get(node["id"], {})
                fired, resolved = self._alarms(conn, node, health, opened, now)
                report.fired += fired
                report.resolved += resolved
                if health is not None and health.entries:
                    report.entries += self._entries(conn, node, health, opened, now, report)
            mon_db.insert_readings(conn, readings)
            report.readings = len(readings)
            mon_db.prune(
                conn,
                mon_db.older_than(now, cfg.retention),
                mon_db.older_than(now, cfg.alarm_retention),
            )

    # --- alarms ----------------------------------------------------------------------------------

    def _targets(self, severity: str) -> list[tuple[str, str]]:
        cfg = self.cfg
        if not alarms.severe_enough(severity, cfg.notify_severity):
            return []
        return [("webhook", u) for u in cfg.webhooks] + [("email", a) for a in cfg.email_to]

    def _fire(
        self, conn: Connection, node: dict[str, Any], cond: alarms.Condition, now: datetime
    ) -> dict[str, Any]:
        row = mon_db.fire(conn, node["id"], cond.rule, cond.key, cond.severity, cond.summary, now)
        mon_db.enqueue(conn, row["id"], "firing", self._targets(cond.severity), now)
        log.warning(
            "node %s: alarm %s (%s): %s", node["uuid"], cond.key, cond.severity, cond.summary
        )
        return row

    def _resolve(
        self, conn: Connection, node: dict[str, Any], alarm: dict[str, Any], now: datetime
    ) -> bool:
        if not mon_db.resolve(conn, alarm["id"], now):
            return False
        mon_db.enqueue(conn, alarm["id"], "resolved", self._targets(alarm["severity"]), now)
        log.info("node %s: alarm %s resolved", node["uuid"], alarm["condition"])
        return True

    def _alarms(
        self,
        conn: Connection,
        node: dict[str, Any],
        health: Health | None,
        opened: dict[str, dict[str, Any]],
        now: datetime,
    ) -> tuple[int, int]:
        """The level rules: fire what holds and is not open, resolve what is open and no longer
        holds (sensor rules only when the sensors were read this time)."""
        cfg = self.cfg
        failures, error = self.failures.get(node["uuid"], (0, ""))
        view = {**node, "provision_updated_at": as_utc(node.get("provision_updated_at"))}
        holding = alarms.node_conditions(view, failures, error, cfg, now)
        judged = {"bmc_unreachable", "power_failure", "provision_failure", "stuck"}
        if health is not None:
            holding += alarms.sensor_conditions(health.readings, cfg.rules, cfg.bmc_thresholds)
            judged |= alarms.SENSOR_RULES
        fired = resolved = 0
        keys = set()
        for cond in holding:
            keys.add(cond.key)
            alarm = opened.get(cond.key)
            if alarm is None:
                opened[cond.key] = self._fire(conn, node, cond, now)
                fired += 1
            elif (alarm["severity"], alarm["summary"]) != (cond.severity, cond.summary):
                mon_db.update_alarm(
                    conn,
                    alarm["id"],
                    {"severity": cond.severity, "summary": cond.summary, "updated_at": now},
                )
        for key, alarm in list(opened.items()):
            if (
                alarm["rule"] in judged
                and key not in keys
                and self._resolve(conn, node, alarm, now)
            ):
                del opened[key]
                resolved += 1
        return fired, resolved

    def _entries(
        self,
        conn: Connection,
        node: dict[str, Any],
        health: Health,
        opened: dict[str, dict[str, Any]],
        now: datetime,
        report: CycleReport,
    ) -> int:
        """Store the new entries; each asserted one of enough severity fires, each deasserting
        one resolves the alarm of its condition. Entries seen before change nothing."""
        rows = [
            {
                "record_id": e.record_id,
                "logged_at": datetime.fromtimestamp(e.timestamp, UTC) if e.timestamp else None,
                "received_at": now,
                "kind": e.kind[:64],
                "sensor": e.sensor[:64],
                "event": e.event[:255],
                "severity": e.severity,
                "asserted": e.asserted,
                "condition": e.condition[:32],
            }
            for e in health.entries
        ]
        fresh = {r["record_id"] for r in mon_db.new_entries(conn, node["id"], rows)}
        for e in health.entries:
            if e.record_id not in fresh:
                continue
            key = f"sel:{e.condition}"
            if not e.asserted:
                alarm = opened.get(key)
                if alarm is not None and self._resolve(conn, node, alarm, now):
                    del opened[key]
                    report.resolved += 1
                continue
            cond = alarms.entry_condition(e, self.cfg.sel_severity)
            if cond is not None and cond.key not in opened:
                opened[cond.key] = self._fire(conn, node, cond, now)
                report.fired += 1
        return len(fresh)
