"""Sensor readings, event-log entries, alarms and their notifications: every statement.

Readings and entries are written by the conductors' sensor cycle (`conductor/sensors.py`) and
pruned after `monitoring.retention`; event-log entries are unique per (node, the BMC's record
id). An alarm is open (firing or acknowledged) until resolved; the cycle keeps at most one open
alarm per (node, condition). Notifications are rows claimed by compare-and-set on `next_at`, so
two conductors never send the same try. Each conductor's last sensor cycle and power sync
(`record_cycle`) are rows of `conductor_cycles`, read by `/metrics`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy import Connection

from ironworks.common.ids import is_uuid_like, new_uuid
from ironworks.db.schema import (
    alarm_notifications,
    alarms,
    conductor_cycles,
    conductors,
    hosts,
    nodes,
    sel_entries,
    sensor_readings,
)

OPEN = ("firing", "acknowledged")


def sensor_candidates(conn: Connection, group: str, skip_states: list[str]) -> list[dict[str, Any]]:
    """Nodes of `group` a sensor cycle reads, with what the alarm rules look at."""
    rows = conn.execute(
        sa.select(nodes).where(
            nodes.c.conductor_group == group, nodes.c.provision_state.not_in(skip_states)
        )
    ).mappings()
    return [dict(r) for r in rows]


# --- readings and entries --------------------------------------------------------------------------


def insert_readings(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(sa.insert(sensor_readings), rows)


def latest_readings(conn: Connection, node_id: int) -> list[dict[str, Any]]:
    """The readings of the node's last cycle, by name."""
    last = sa.select(sa.func.max(sensor_readings.c.read_at)).where(
        sensor_readings.c.node_id == node_id
    )
    q = (
        sa.select(sensor_readings)
        .where(
            sensor_readings.c.node_id == node_id,
            sensor_readings.c.read_at == last.scalar_subquery(),
        )
        .order_by(sensor_readings.c.kind, sensor_readings.c.name)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def new_entries(
    conn: Connection, node_id: int, entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Store the entries not stored yet (by record id) and return them. An id seen before with
    another time or text is a new entry (the BMC's log was cleared and ids began again): it
    replaces the old row."""
    if not entries:
        return []
    ids = [e["record_id"] for e in entries]
    known = {
        r.record_id: r
        for r in conn.execute(
            sa.select(
                sel_entries.c.id,
                sel_entries.c.record_id,
                sel_entries.c.event,
                sel_entries.c.logged_at,
            ).where(sel_entries.c.node_id == node_id, sel_entries.c.record_id.in_(ids))
        )
    }
    fresh = []
    for e in entries:
        old = known.get(e["record_id"])
        if old is None:
            fresh.append(e)
            continue
        logged = old.logged_at.replace(tzinfo=None) if old.logged_at else None
        mine = e["logged_at"].replace(tzinfo=None) if e["logged_at"] else None
        if old.event != e["event"] or logged != mine:
            conn.execute(sa.delete(sel_entries).where(sel_entries.c.id == old.id))
            fresh.append(e)
    if fresh:
        conn.execute(sa.insert(sel_entries), [{**e, "node_id": node_id} for e in fresh])
    return fresh


def node_entries(conn: Connection, node_id: int, limit: int) -> list[dict[str, Any]]:
    q = (
        sa.select(sel_entries)
        .where(sel_entries.c.node_id == node_id)
        .order_by(sel_entries.c.received_at.desc(), sel_entries.c.record_id.desc())
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def prune(conn: Connection, before: datetime, resolved_before: datetime) -> int:
    """Drop readings and entries older than `before`, alarms resolved before `resolved_before`
    (their notifications with them); how many rows went."""
    n = conn.execute(sa.delete(sensor_readings).where(sensor_readings.c.read_at < before)).rowcount
    n += conn.execute(sa.delete(sel_entries).where(sel_entries.c.received_at < before)).rowcount
    old = sa.select(alarms.c.id).where(
        alarms.c.state == "resolved", alarms.c.resolved_at < resolved_before
    )
    n += conn.execute(
        sa.delete(alarm_notifications).where(alarm_notifications.c.alarm_id.in_(old))
    ).rowcount
    n += conn.execute(
        sa.delete(alarms).where(
            alarms.c.state == "resolved", alarms.c.resolved_at < resolved_before
        )
    ).rowcount
    return n or 0


# --- alarms ----------------------------------------------------------------------------------------


def open_alarms(conn: Connection, node_ids: Sequence[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(node_ids), 500):
        q = sa.select(alarms).where(
            alarms.c.node_id.in_(node_ids[i : i + 500]), alarms.c.state.in_(OPEN)
        )
        out.extend(dict(r) for r in conn.execute(q).mappings())
    return out


def fire(
    conn: Connection,
    node_id: int,
    rule: str,
    condition: str,
    severity: str,
    summary: str,
    now: datetime,
) -> dict[str, Any]:
    row = {
        "uuid": new_uuid(),
        "node_id": node_id,
        "rule": rule,
        "condition": condition,
        "severity": severity,
        "state": "firing",
        "summary": summary,
        "fired_at": now,
        "updated_at": now,
    }
    row["id"] = conn.execute(sa.insert(alarms).values(row).returning(alarms.c.id)).scalar_one()
    return row


def update_alarm(conn: Connection, alarm_id: int, values: dict[str, Any]) -> None:
    conn.execute(sa.update(alarms).where(alarms.c.id == alarm_id).values(values))


def resolve(conn: Connection, alarm_id: int, now: datetime) -> bool:
    return bool(
        conn.execute(
            sa.update(alarms)
            .where(alarms.c.id == alarm_id, alarms.c.state.in_(OPEN))
            .values(state="resolved", resolved_at=now, updated_at=now)
        ).rowcount
    )


def _scoped(scope: Sequence[int] | None) -> sa.Select:
    q = sa.select(
        alarms,
        nodes.c.uuid.label("node_uuid"),
        nodes.c.name.label("node_name"),
        hosts.c.uuid.label("host_uuid"),
        hosts.c.name.label("host_name"),
        hosts.c.project_id,
    ).select_from(
        alarms.join(nodes, nodes.c.id == alarms.c.node_id).outerjoin(
            hosts, hosts.c.node_id == nodes.c.id
        )
    )
    if scope is not None:
        q = q.where(hosts.c.project_id.in_(list(scope)))
    return q


def list_alarms(
    conn: Connection,
    scope: Sequence[int] | None,
    *,
    states: Sequence[str] = (),
    severity: str | None = None,
    rule: str | None = None,
    node: str | None = None,
    host: str | None = None,
    limit: int,
    marker: int | None = None,
) -> list[dict[str, Any]]:
    """Newest first; `marker` is the id of the last alarm of the previous page."""
    q = _scoped(scope)
    if states:
        q = q.where(alarms.c.state.in_(list(states)))
    if severity:
        q = q.where(alarms.c.severity == severity)
    if rule:
        q = q.where(alarms.c.rule == rule)
    if node:
        q = q.where(sa.or_(nodes.c.uuid == node, nodes.c.name == node))
    if host:
        q = q.where(sa.or_(hosts.c.uuid == host, hosts.c.name == host))
    if marker is not None:
        q = q.where(alarms.c.id < marker)
    q = q.order_by(alarms.c.id.desc()).limit(limit)
    return [dict(r) for r in conn.execute(q).mappings()]


def find_alarm(conn: Connection, uuid: str, scope: Sequence[int] | None) -> dict[str, Any] | None:
    row = conn.execute(_scoped(scope).where(alarms.c.uuid == uuid)).mappings().first()
    return None if row is None else dict(row)


def acknowledge(conn: Connection, alarm_id: int, user: str, now: datetime) -> bool:
    return bool(
        conn.execute(
            sa.update(alarms)
            .where(alarms.c.id == alarm_id, alarms.c.state == "firing")
            .values(state="acknowledged", acknowledged_at=now, acknowledged_by=user, updated_at=now)
        ).rowcount
    )


# --- notifications ---------------------------------------------------------------------------------


def enqueue(
    conn: Connection, alarm_id: int, event: str, targets: Iterable[tuple[str, str]], now: datetime
) -> int:
    """Queue (channel, target) notifications of the alarm's `event`; one already queued stays
    as it is (the unique key), so queuing twice sends once."""
    n = 0
    for channel, target in targets:
        exists = conn.execute(
            sa.select(alarm_notifications.c.id).where(
                alarm_notifications.c.alarm_id == alarm_id,
                alarm_notifications.c.event == event,
                alarm_notifications.c.channel == channel,
                alarm_notifications.c.target == target,
            )
        ).first()
        if exists is None:
            conn.execute(
                sa.insert(alarm_notifications).values(
                    alarm_id=alarm_id,
                    event=event,
                    channel=channel,
                    target=target,
                    attempts=0,
                    next_at=now,
                    created_at=now,
                )
            )
            n += 1
    return n


def due(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Notifications whose next try is due, with their alarm and node."""
    q = (
        sa.select(
            alarm_notifications,
            alarms.c.uuid.label("alarm_uuid"),
            alarms.c.rule,
            alarms.c.condition,
            alarms.c.severity,
            alarms.c.state,
            alarms.c.summary,
            alarms.c.fired_at,
            alarms.c.resolved_at,
            nodes.c.uuid.label("node_uuid"),
            nodes.c.name.label("node_name"),
        )
        .select_from(
            alarm_notifications.join(alarms, alarms.c.id == alarm_notifications.c.alarm_id).join(
                nodes, nodes.c.id == alarms.c.node_id
            )
        )
        .where(alarm_notifications.c.sent_at.is_(None), alarm_notifications.c.next_at <= now)
        .order_by(alarm_notifications.c.next_at, alarm_notifications.c.id)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def claim(conn: Connection, row: dict[str, Any], until: datetime) -> bool:
    """Take one try of the notification: its next_at moves to `until` (compare-and-set)."""
    return bool(
        conn.execute(
            sa.update(alarm_notifications)
            .where(
                alarm_notifications.c.id == row["id"],
                alarm_notifications.c.next_at == row["next_at"],
                alarm_notifications.c.sent_at.is_(None),
            )
            .values(next_at=until, attempts=alarm_notifications.c.attempts + 1)
        ).rowcount
    )


def sent(conn: Connection, notification_id: int, now: datetime) -> None:
    conn.execute(
        sa.update(alarm_notifications)
        .where(alarm_notifications.c.id == notification_id)
        .values(sent_at=now, next_at=None, last_error=None)
    )


def failed(conn: Connection, notification_id: int, error: str, retry_at: datetime | None) -> None:
    conn.execute(
        sa.update(alarm_notifications)
        .where(alarm_notifications.c.id == notification_id)
        .values(next_at=retry_at, last_error=error[:2000])
    )


def notifications(conn: Connection, alarm_id: int) -> list[dict[str, Any]]:
    q = sa.select(alarm_notifications).where(alarm_notifications.c.alarm_id == alarm_id)
    return [dict(r) for r in conn.execute(q.order_by(alarm_notifications.c.id)).mappings()]


def older_than(now: datetime, seconds: float) -> datetime:
    return now - timedelta(seconds=seconds)


def find_node(
    conn: Connection, ident: str, scope: Sequence[int] | None, *, by_host: bool
) -> list[dict[str, Any]]:
    """Nodes named `ident` (uuid or name; of the node, or with `by_host` of the host on it)
    that the scope sees: for a scope, only nodes carrying a host of its projects."""
    table = hosts if by_host else nodes
    cond = table.c.uuid == ident if is_uuid_like(ident) else table.c.name == ident
    q = (
        sa.select(
            nodes.c.id,
            nodes.c.uuid,
            nodes.c.name,
            hosts.c.uuid.label("host_uuid"),
            hosts.c.name.label("host_name"),
            hosts.c.project_id,
        )
        .select_from(nodes.outerjoin(hosts, hosts.c.node_id == nodes.c.id))
        .where(cond)
    )
    if scope is not None:
        q = q.where(hosts.c.project_id.in_(list(scope)))
    return [dict(r) for r in conn.execute(q).mappings()]


def current_readings(conn: Connection, since: datetime) -> list[tuple[str, str, str, str, float]]:
    """(node name or uuid, sensor, kind, unit, value) of every node's last cycle since `since`
    (readings with a value only): the Prometheus gauges."""
    last = (
        sa.select(sensor_readings.c.node_id, sa.func.max(sensor_readings.c.read_at).label("at"))
        .where(sensor_readings.c.read_at >= since)
        .group_by(sensor_readings.c.node_id)
        .subquery()
    )
    q = (
        sa.select(
            sa.func.coalesce(nodes.c.name, nodes.c.uuid),
            sensor_readings.c.name,
            sensor_readings.c.kind,
            sensor_readings.c.unit,
            sensor_readings.c.value,
        )
        .select_from(
            sensor_readings.join(
                last,
                sa.and_(
                    last.c.node_id == sensor_readings.c.node_id,
                    last.c.at == sensor_readings.c.read_at,
                ),
            ).join(nodes, nodes.c.id == sensor_readings.c.node_id)
        )
        .where(sensor_readings.c.value.is_not(None))
    )
    return [tuple(r) for r in conn.execute(q)]  # type: ignore[misc]


def open_alarm_counts(conn: Connection) -> list[tuple[str, str, str, int]]:
    """(rule, severity, state, count) of the open alarms."""
    q = (
        sa.select(alarms.c.rule, alarms.c.severity, alarms.c.state, sa.func.count())
        .where(alarms.c.state.in_(OPEN))
        .group_by(alarms.c.rule, alarms.c.severity, alarms.c.state)
    )
    return [tuple(r) for r in conn.execute(q)]  # type: ignore[misc]


Cycle = Literal["sensors", "power_sync"]
CYCLES: tuple[str, ...] = get_args(Cycle)


def record_cycle(
    conn: Connection,
    conductor: str,
    cycle: Cycle,
    now: datetime,
    seconds: float,
    owned: int,
    errors: dict[str, int],
) -> None:
    """The conductor's last `cycle` (sensors, power_sync) and its BMC errors by kind (error
    code -> count), replacing its previous one."""
    conn.execute(
        sa.delete(conductor_cycles).where(
            conductor_cycles.c.conductor == conductor, conductor_cycles.c.cycle == cycle
        )
    )
    conn.execute(
        sa.insert(conductor_cycles).values(
            conductor=conductor,
            cycle=cycle,
            finished_at=now,
            seconds=seconds,
            owned=owned,
            errors=sum(errors.values()),
            errors_by_kind={kind: n for kind, n in sorted(errors.items()) if n},
        )
    )


def last_cycles(conn: Connection) -> list[dict[str, Any]]:
    """Each online conductor's last cycle of each kind: conductor, cycle, finished_at, seconds,
    owned (nodes it asked), errors (BMCs that did not answer or refused) and errors_by_kind. A
    conductor stopped or found silent (offline) has no figures."""
    q = (
        sa.select(conductor_cycles)
        .join(conductors, conductors.c.hostname == conductor_cycles.c.conductor)
        .where(conductors.c.online, conductor_cycles.c.cycle.in_(CYCLES))
        .order_by(conductor_cycles.c.cycle, conductor_cycles.c.conductor)
    )
    return [{**r, "errors_by_kind": dict(r["errors_by_kind"])} for r in conn.execute(q).mappings()]
