"""Sensors, event logs and alarms as the API shows them (`api/native/monitoring.py`).

What the conductors' sensor cycle stored (`conductor/sensors.py`), scoped like hosts: the cloud
admin sees every node; anyone else only the nodes that carry a host of a project they joined
(a node without a host, or another project's, is "not found"). Acknowledging is the only
change: it tells the others someone is on it; an alarm resolves by itself when its cause clears.
"""

from __future__ import annotations

from typing import Any

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.db import monitoring as mon_db
from ironworks.db.engine import utcnow
from ironworks.domain import alarms as rules
from ironworks.services.context import Caller, Services

ENTRY_LIMIT = 100


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": row["uuid"],
        "rule": row["rule"],
        "condition": row["condition"],
        "severity": row["severity"],
        "state": row["state"],
        "summary": row["summary"],
        "fired_at": row["fired_at"],
        "updated_at": row["updated_at"],
        "acknowledged_at": row["acknowledged_at"],
        "acknowledged_by": row["acknowledged_by"],
        "resolved_at": row["resolved_at"],
        "node_uuid": row["node_uuid"],
        "node_name": row["node_name"],
        "host_uuid": row["host_uuid"],
        "host_name": row["host_name"],
    }


def list_alarms(
    svc: Services,
    caller: Caller,
    *,
    state: list[str],
    severity: str | None,
    rule: str | None,
    node: str | None,
    host: str | None,
    limit: int,
    marker: str | None,
) -> list[dict[str, Any]]:
    for s in state:
        if s not in (*rules.STATES, "open"):
            raise InvalidInput(
                f"state {s!r} is not one of open, {', '.join(rules.STATES)}", field="state"
            )
    if severity is not None and severity not in rules.LEVELS:
        raise InvalidInput(f"severity {severity!r} is not warning or critical", field="severity")
    if rule is not None and rule not in rules.RULES:
        raise InvalidInput(f"rule {rule!r} is not one of {', '.join(rules.RULES)}", field="rule")
    states = [x for s in state for x in (mon_db.OPEN if s == "open" else (s,))]
    with svc.db.read() as conn:
        after = None
        if marker is not None:
            found = mon_db.find_alarm(conn, marker, caller.project_ids)
            if found is None:
                raise InvalidInput(f"marker {marker} is not an alarm", field="marker")
            after = found["id"]
        rows = mon_db.list_alarms(
            conn,
            caller.project_ids,
            states=states,
            severity=severity,
            rule=rule,
            node=node,
            host=host,
            limit=limit,
            marker=after,
        )
    return [_out(r) for r in rows]


def acknowledge(svc: Services, caller: Caller, uuid: str) -> dict[str, Any]:
    with svc.db.write() as conn:
        row = mon_db.find_alarm(conn, uuid, caller.project_ids)
        if row is None:
            raise NotFound(f"alarm {uuid} could not be found")
        caller.acted_on("alarm", row["uuid"], row["node_name"] or row["node_uuid"])
        if row["state"] == "resolved":
            raise Conflict(f"alarm {uuid} is resolved already; there is nothing to acknowledge")
        if row["state"] == "firing":
            mon_db.acknowledge(conn, row["id"], caller.user or "(noauth)", utcnow())
        row = mon_db.find_alarm(conn, uuid, caller.project_ids)
    assert row is not None
    return _out(row)


def sensors(svc: Services, caller: Caller, ident: str, *, by_host: bool) -> dict[str, Any]:
    """The node's last readings, its recent event-log entries and its open alarms."""
    what = "host" if by_host else "node"
    with svc.db.read() as conn:
        found = mon_db.find_node(conn, ident, caller.project_ids, by_host=by_host)
        if not found:
            raise NotFound(f"{what} {ident} could not be found")
        if len(found) > 1:
            raise InvalidInput(f"{len(found)} {what}s are named {ident!r}; use its id", field=what)
        node = found[0]
        readings = mon_db.latest_readings(conn, node["id"])
        entries = mon_db.node_entries(conn, node["id"], ENTRY_LIMIT)
        open_alarms = mon_db.list_alarms(
            conn, caller.project_ids, states=mon_db.OPEN, node=node["uuid"], limit=1000
        )
    return {
        "node_uuid": node["uuid"],
        "node_name": node["name"],
        "host_uuid": node["host_uuid"],
        "host_name": node["host_name"],
        "read_at": readings[0]["read_at"] if readings else None,
        "readings": [
            {k: r[k] for k in ("name", "kind", "unit", "value", "status")} for r in readings
        ],
        "events": [
            {
                k: e[k]
                for k in (
                    "record_id",
                    "logged_at",
                    "received_at",
                    "kind",
                    "sensor",
                    "event",
                    "severity",
                    "asserted",
                )
            }
            for e in entries
        ],
        "alarms": [_out(a) for a in open_alarms],
    }


def sensor_gauges(svc: Services) -> list[tuple[str, str, str, str, float]]:
    """Every node's current readings (its last cycle, if within three sensor intervals)."""
    window = 3 * (svc.settings.monitoring.sensor_interval or 60.0)
    with svc.db.read() as conn:
        return mon_db.current_readings(conn, mon_db.older_than(utcnow(), window))


def alarm_counts(svc: Services) -> list[tuple[str, str, str, int]]:
    with svc.db.read() as conn:
        return mon_db.open_alarm_counts(conn)


def last_cycles(svc: Services) -> list[dict[str, Any]]:
    """Each conductor's last sensor cycle and power sync: when, how long, nodes, BMC errors
    (in all and by kind)."""
    with svc.db.read() as conn:
        return mon_db.last_cycles(conn)
