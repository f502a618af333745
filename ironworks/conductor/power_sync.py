"""The power-state sync: what each BMC says against what the database recorded.

Every `power_sync_interval` seconds each conductor reads the power state of the nodes the hash
ring gives it (not locked, no power change under way, not enrolling, not in a working state,
not in maintenance unless for a power failure), all at once: each power interface gets its
nodes in one call (`PowerInterface.get_power_states`), the ipmi one asks them from one event
loop with `power_sync_workers` requests in flight, each BMC within its own ipmi_timeout, so a
dead BMC costs one slot for its timeout and nothing more.

What it does with the answers, in one transaction, each change a compare-and-set on the row
read at the start (a node an operator acted on meanwhile is left alone):
* drift (changed out of band): with `power_sync_policy = record` the new state is stored, a
  WARNING event goes to the node's history and an audit event (action `node:power_sync`) to
  the audit log; with `force`, a power job drives the node back to
  the recorded state, as if an operator had asked (never a power off on a node with
  disable_power_off, whose drift is recorded instead);
* `power_sync_max_failures` failed reads in a row: maintenance with fault "power failure",
  power state unknown, the last error as the reason (as Ironic does); the first good read
  afterwards clears that maintenance.

Each run's duration, nodes asked and BMC errors by kind (error code) replace this conductor's
previous ones in the database (`db/monitoring.record_cycle`, like the sensor cycle's), where the
API's `/metrics` reads them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection

from ironworks.common.errors import IronworksError
from ironworks.conductor.periodic import Member, ask_in_bulk, live_ring
from ironworks.db import audit as audit_db
from ironworks.db import jobs as job_db
from ironworks.db import monitoring as mon_db
from ironworks.db import nodes as node_db
from ironworks.db.engine import utcnow
from ironworks.domain import power, states
from ironworks.drivers.base import Task

log = logging.getLogger(__name__)

POWER_FAILURE = "power failure"


@dataclass
class SyncReport:
    owned: int = 0  # nodes this conductor asked about
    checked: int = 0  # BMCs that answered
    drift: int = 0  # of those, out-of-band changes
    forced: int = 0  # of the drifts, power jobs queued to undo them
    errors: int = 0  # BMCs that did not answer or refused
    error_kinds: dict[str, int] = field(default_factory=dict)  # error code → BMCs
    to_maintenance: int = 0
    recovered: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class PowerSync:
    """One conductor's power sync; remembers failures in a row per node between runs.

    `task` gives the driver's view of a node (driver_info opened) for a purpose: the conductor's,
    so that secrets are opened in one place."""

    def __init__(self, conductor: Member, task: Callable[[dict[str, Any], str], Task]) -> None:
        self.c = conductor
        self.task = task
        self.failures: dict[str, int] = {}

    def candidates(self) -> list[dict[str, Any]]:
        """The nodes of this conductor's group that a sync reads, this conductor's share only."""
        c = self.c
        ring = live_ring(c)
        with c.db.read() as conn:
            rows = node_db.power_sync_candidates(
                conn,
                c.cfg.group,
                maintenance_fault=POWER_FAILURE,
                # an enrolled node's BMC access is not verified yet: nothing to sync
                skip_states=[*states.WORKING_STATES, states.ENROLL],
            )
        return [r for r in rows if ring.owner(r["uuid"]) == c.host]

    def run(self) -> SyncReport:
        started = time.monotonic()
        report = SyncReport()
        mine = self.candidates()
        report.owned = len(mine)
        answers = self.read(mine)
        self.failures = {u: n for u, n in self.failures.items() if u in answers}
        self.record(mine, answers, report)
        report.seconds = round(time.monotonic() - started, 3)
        with self.c.db.write() as conn:  # for /metrics
            mon_db.record_cycle(
                conn,
                self.c.host,
                "power_sync",
                utcnow(),
                report.seconds,
                report.owned,
                report.error_kinds,
            )
        log.info("power sync: %s", report.as_dict())
        return report

    def read(self, mine: list[dict[str, Any]]) -> dict[str, str | IronworksError]:
        """uuid → the BMC's power state or the error; one bulk call per power interface."""
        workers = self.c.cfg.power_sync_workers
        return ask_in_bulk(
            mine,
            "power",
            self.task,
            "power sync",
            lambda power, tasks: power.get_power_states(tasks, workers),
        )

    def record(
        self,
        mine: list[dict[str, Any]],
        answers: dict[str, str | IronworksError],
        report: SyncReport,
    ) -> None:
        c = self.c
        cfg = c.cfg
        queued = False
        with c.db.write() as conn:
            for node in mine:
                answer = answers.get(node["uuid"])
                if answer is None:
                    continue
                if isinstance(answer, IronworksError):
                    report.errors += 1
                    report.error_kinds[answer.code] = report.error_kinds.get(answer.code, 0) + 1
                    self._failed(conn, node, answer, report)
                    continue
                report.checked += 1
                self.failures.pop(node["uuid"], None)
                if node["maintenance"]:  # in maintenance for a power failure: it answers again
                    if self._recovered(conn, node, answer):
                        report.recovered += 1
                    continue
                recorded = node["power_state"]
                if answer == recorded:
                    continue
                if recorded is None:  # never read before: nothing drifted
                    node_db.update_node(
                        conn, node["id"], {"power_state": answer}, expect=_unchanged(node)
                    )
                    continue
                report.drift += 1
                force = cfg.power_sync_policy == "force" and not (
                    recorded == power.POWER_OFF and node["disable_power_off"]
                )
                if force and self._force(conn, node, answer):
                    report.forced += 1
                    queued = True
                elif not force:
                    self._drifted(conn, node, answer)
        if queued:
            job_db.wake()

    def _audit(self, conn: Connection, node: dict[str, Any], msg: str) -> None:
        audit_db.record(
            conn,
            user_name=f"(conductor {self.c.host})",
            action="node:power_sync",
            target_type="node",
            target_id=node["uuid"],
            target_name=node["name"],
            outcome="success",
            detail=msg,
        )

    def _drifted(self, conn: Connection, node: dict[str, Any], actual: str) -> None:
        if node_db.update_node(conn, node["id"], {"power_state": actual}, expect=_unchanged(node)):
            msg = f"power state changed out of band: {node['power_state']} -> {actual}"
            node_db.record_event(
                conn, node["id"], msg, event_type="power", severity="WARNING", conductor=self.c.host
            )
            self._audit(conn, node, msg)
            log.warning("node %s: %s", node["uuid"], msg)

    def _force(self, conn: Connection, node: dict[str, Any], actual: str) -> bool:
        recorded = node["power_state"]
        if not node_db.update_node(
            conn, node["id"], {"target_power_state": recorded}, expect=_unchanged(node)
        ):
            return False
        job_db.enqueue(
            conn,
            node["id"],
            "power",
            {"target": recorded, "timeout": None},
            request_id="power-sync",
        )
        msg = (
            f"power state changed out of band: {recorded} -> {actual}; forcing it back to "
            f"{recorded} (power_sync_policy = force)"
        )
        node_db.record_event(
            conn, node["id"], msg, event_type="power", severity="WARNING", conductor=self.c.host
        )
        self._audit(conn, node, msg)
        log.warning("node %s: %s", node["uuid"], msg)
        return True

    def _failed(
        self, conn: Connection, node: dict[str, Any], error: IronworksError, report: SyncReport
    ) -> None:
        uuid = node["uuid"]
        n = self.failures[uuid] = self.failures.get(uuid, 0) + 1
        limit = self.c.cfg.power_sync_max_failures
        log.info("power sync of node %s failed (%d in a row): %s", uuid, n, error.message)
        if not limit or n < limit or node["maintenance"]:
            return
        reason = f"power sync failed {n} times in a row: {error.message}"
        ok = node_db.update_node(
            conn,
            node["id"],
            {
                "maintenance": True,
                "fault": POWER_FAILURE,
                "maintenance_reason": reason,
                "power_state": None,
            },
            expect=_unchanged(node),
        )
        if ok:
            report.to_maintenance += 1
            node_db.record_event(
                conn,
                node["id"],
                f"{reason}; maintenance on, fault '{POWER_FAILURE}'",
                event_type="power",
                severity="ERROR",
                conductor=self.c.host,
            )
            log.warning("node %s: %s; maintenance on", uuid, reason)

    def _recovered(self, conn: Connection, node: dict[str, Any], actual: str) -> bool:
        ok = node_db.update_node(
            conn,
            node["id"],
            {
                "maintenance": False,
                "fault": None,
                "maintenance_reason": None,
                "power_state": actual,
            },
            expect={**_unchanged(node), "maintenance": True, "fault": POWER_FAILURE},
        )
        if ok:
            msg = f"the BMC answers again ({actual}); maintenance for '{POWER_FAILURE}' cleared"
            node_db.record_event(conn, node["id"], msg, event_type="power", conductor=self.c.host)
            log.info("node %s: %s", node["uuid"], msg)
        return ok


def _unchanged(node: dict[str, Any]) -> dict[str, Any]:
    """The columns an operator's action would have changed since the sync read the node."""
    return {
        "reservation": None,
        "target_power_state": None,
        "power_state": node["power_state"],
        "provision_state": node["provision_state"],
    }
