"""Node rows: lookups by UUID or name, lists, compare-and-set updates, the node lock.

The node lock is `nodes.reservation`: a conductor's hostname written by
`UPDATE ... WHERE reservation IS NULL`. Whoever changes the row count to 1 holds the lock; reads
never need it. `purpose` says what the lock is for in every log line and "locked" error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.common.errors import InvalidInput, NodeLocked, NotFound
from ironworks.common.ids import is_uuid_like, new_uuid
from ironworks.db.engine import utcnow
from ironworks.db.lookup import taken
from ironworks.db.pagination import keyset, paginate
from ironworks.db.schema import chassis, hosts, node_history, nodes, usage_records

log = logging.getLogger(__name__)


def _not_found(ident: str) -> NotFound:
    return NotFound(f"Node {ident} could not be found.")


# Hot statements are built once with bound parameters: building a statement and its cache key
# costs more than running it on SQLite.
_BY = {
    col: sa.select(nodes).where(nodes.c[col] == sa.bindparam("v")) for col in ("id", "uuid", "name")
}
_KEY_BY = {
    col: sa.select(nodes.c.id, nodes.c.uuid).where(nodes.c[col] == sa.bindparam("v"))
    for col in ("uuid", "name")
}
_UPDATES: dict[tuple[tuple[str, ...], tuple[tuple[str, bool], ...]], sa.Update] = {}


def get_node(conn: Connection, ident: str | int) -> dict[str, Any]:
    """A node by UUID, name or internal id; NotFound otherwise."""
    if isinstance(ident, int):
        col, value = "id", ident
    elif is_uuid_like(ident):
        col, value = "uuid", ident.lower()
    else:
        col, value = "name", ident
    row = conn.execute(_BY[col], {"v": value}).mappings().first()
    if row is None:
        raise _not_found(str(ident))
    return dict(row)


def node_key(conn: Connection, ident: str) -> tuple[int, str]:
    """(internal id, uuid) of a node by UUID or name; NotFound otherwise. For callers that
    only link to the node: the whole row costs ~70 columns, JSON documents decoded."""
    col, value = ("uuid", ident.lower()) if is_uuid_like(ident) else ("name", ident)
    row = conn.execute(_KEY_BY[col], {"v": value}).first()
    if row is None:
        raise _not_found(ident)
    return int(row[0]), str(row[1])


def seconds_in_state(node: dict[str, Any]) -> float | None:
    """How long the node has been in its current provision state (for history durations)."""
    started = node.get("provision_updated_at") or node.get("created_at")
    if started is None:
        return None
    if started.tzinfo is None:  # SQLite hands back naive UTC
        started = started.replace(tzinfo=UTC)
    return round((utcnow() - started).total_seconds(), 3)


def update_node(
    conn: Connection, node_id: int, values: dict[str, Any], *, expect: dict[str, Any] | None = None
) -> bool:
    """UPDATE one node; with `expect`, only if those columns still hold those values (CAS)."""
    stmt, params = node_update(node_id, values, expect)
    return conn.execute(stmt, params).rowcount == 1


def node_update(
    node_id: int, values: dict[str, Any], expect: dict[str, Any] | None = None
) -> tuple[sa.Update, dict[str, Any]]:
    """`update_node`'s statement (built once per shape) and its parameters, for callers that
    run it inside a larger statement (db/jobs.py)."""
    expect = expect or {}
    values = {**values, "updated_at": values.get("updated_at") or utcnow()}
    key = (tuple(sorted(values)), tuple(sorted((k, v is None) for k, v in expect.items())))
    stmt = _UPDATES.get(key)
    if stmt is None:
        stmt = sa.update(nodes).where(nodes.c.id == sa.bindparam("_id"))
        for k, is_null in key[1]:
            col = nodes.c[k]
            stmt = stmt.where(col.is_(None) if is_null else col == sa.bindparam(f"_x_{k}"))
        stmt = stmt.values({k: sa.bindparam(f"_v_{k}") for k in key[0]})
        _UPDATES[key] = stmt
    params = {f"_v_{k}": v for k, v in values.items()}
    params["_id"] = node_id
    params.update({f"_x_{k}": v for k, v in expect.items() if v is not None})
    return stmt, params


def reserve(conn: Connection, node: dict[str, Any], host: str, purpose: str) -> None:
    """Take the node lock for `host` or raise NodeLocked naming the holder."""
    ok = conn.execute(
        sa.update(nodes)
        .where(nodes.c.id == node["id"], nodes.c.reservation.is_(None))
        .values(reservation=host)
    ).rowcount
    if ok != 1:
        holder = conn.execute(
            sa.select(nodes.c.reservation).where(nodes.c.id == node["id"])
        ).scalar()
        raise locked_error(node, holder, purpose)
    log.debug("node %s locked by %s for %s", node["uuid"], host, purpose)


def locked_error(node: dict[str, Any], holder: str | None, purpose: str) -> NodeLocked:
    return NodeLocked(
        f"Node {node['uuid']} is locked by host {holder}, please retry after the current "
        f"operation is completed (wanted the lock for: {purpose})."
    )


def release(conn: Connection, node_id: int, host: str) -> None:
    conn.execute(
        sa.update(nodes)
        .where(nodes.c.id == node_id, nodes.c.reservation == host)
        .values(reservation=None)
    )


# Built once: constructing an INSERT per call costs more than executing it.
_INSERT_EVENT = sa.insert(node_history)


def record_event(
    conn: Connection,
    node_id: int,
    event: str,
    *,
    event_type: str,
    severity: str = "INFO",
    conductor: str | None = None,
    user: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    target_state: str | None = None,
    duration: float | None = None,
    request_id: str | None = None,
    project: str | None = None,
) -> None:
    """One line of the node's history, in the caller's transaction."""
    conn.execute(
        _INSERT_EVENT,
        event_row(
            node_id,
            event,
            event_type=event_type,
            severity=severity,
            conductor=conductor,
            user=user,
            from_state=from_state,
            to_state=to_state,
            target_state=target_state,
            duration=duration,
            request_id=request_id,
            project=project,
        ),
    )


def event_row(
    node_id: int | None,
    event: str,
    *,
    event_type: str,
    severity: str = "INFO",
    conductor: str | None = None,
    user: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    target_state: str | None = None,
    duration: float | None = None,
    request_id: str | None = None,
    project: str | None = None,
) -> dict[str, Any]:
    """The row of one history line (`record_event`'s arguments), for inserting it elsewhere."""
    return {
        "uuid": new_uuid(),
        "node_id": node_id,
        "created_at": utcnow(),
        "severity": severity,
        "event_type": event_type,
        "event": event,
        "conductor": conductor,
        "user": user,
        "from_state": from_state,
        "to_state": to_state,
        "target_provision_state": target_state,
        "duration": duration,
        "request_id": request_id,
        "project": project,
    }


# --- the conductor's sweeps and recovery ---------------------------------------------------------


def release_all_held_by(conn: Connection, host: str) -> int:
    """Drop every node lock `host` holds (its earlier incarnation crashed, or it went silent);
    how many were held."""
    return conn.execute(
        sa.update(nodes).where(nodes.c.reservation == host).values(reservation=None)
    ).rowcount


def unlocked_waiting(conn: Connection, wait_states: list[str], group: str) -> list[dict[str, Any]]:
    """Unlocked nodes of conductor group `group` resting in one of `wait_states`."""
    rows = conn.execute(
        sa.select(nodes).where(
            nodes.c.provision_state.in_(wait_states),
            nodes.c.reservation.is_(None),
            nodes.c.conductor_group == group,
        )
    ).mappings()
    return [dict(r) for r in rows]


def power_sync_candidates(
    conn: Connection, group: str, *, maintenance_fault: str, skip_states: list[str]
) -> list[dict[str, Any]]:
    """Nodes of `group` whose power state a sync may read: not locked, no power change under
    way, not in `skip_states`, not in maintenance unless for `maintenance_fault`."""
    rows = conn.execute(
        sa.select(nodes).where(
            nodes.c.reservation.is_(None),
            nodes.c.target_power_state.is_(None),
            nodes.c.conductor_group == group,
            sa.or_(nodes.c.maintenance.is_(False), nodes.c.fault == maintenance_fault),
            nodes.c.provision_state.not_in(skip_states),
        )
    ).mappings()
    return [dict(r) for r in rows]


def drop_host(conn: Connection, node_id: int, at: datetime) -> None:
    """The tenant's host on the node is gone with its instance (teardown), same transaction.
    Its usage record, if one is still open (a tear-down the host's delete did not ask for: the
    node API's), ends at `at` (to the second)."""
    gone = sa.select(hosts.c.uuid).where(hosts.c.node_id == node_id).scalar_subquery()
    conn.execute(
        sa.update(usage_records)
        .where(usage_records.c.host_uuid == gone, usage_records.c.ended_at.is_(None))
        .values(ended_at=at.replace(microsecond=0), ended_by="delete")
    )
    conn.execute(sa.delete(hosts).where(hosts.c.node_id == node_id))


def one_with_sealed_secret(conn: Connection, marker: str) -> dict[str, Any] | None:
    """Any one node whose driver_info holds a sealed secret (its text contains `marker`), as
    uuid and driver_info: enough to check at start that the key opens what is stored."""
    row = conn.execute(
        sa.select(nodes.c.uuid, nodes.c.driver_info)
        .where(sa.cast(nodes.c.driver_info, sa.Text).contains(marker))
        .limit(1)
    ).first()
    return None if row is None else {"uuid": row.uuid, "driver_info": row.driver_info}


# --- history -------------------------------------------------------------------------------------


def history(
    conn: Connection, node_id: int, *, limit: int, marker: str | None = None
) -> list[dict[str, Any]]:
    """The node's history lines, oldest first, after the line `marker` (a uuid) if given."""
    q = sa.select(node_history).where(node_history.c.node_id == node_id)
    if marker:
        mid = conn.execute(
            sa.select(node_history.c.id).where(node_history.c.uuid == marker)
        ).scalar()
        if mid is None:
            raise NotFound(f"History event {marker} could not be found.")
        q = q.where(node_history.c.id > mid)
    q = q.order_by(node_history.c.id).limit(limit)
    return [dict(r) for r in conn.execute(q).mappings()]


def history_event(conn: Connection, node_id: int, event_uuid: str) -> dict[str, Any]:
    """One line of the node's history by its uuid; NotFound otherwise."""
    row = (
        conn.execute(
            sa.select(node_history).where(
                node_history.c.node_id == node_id, node_history.c.uuid == event_uuid
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"History event {event_uuid} could not be found.")
    return dict(row)


# --- the node record's statements (services/nodes.py) --------------------------------------------

COLUMNS = frozenset(c.name for c in nodes.c)
# Built once; missing columns take their declared defaults.
_INSERT_NODE = sa.insert(nodes).returning(*nodes.c)


# Python-side defaults of the node's columns, applied by hand where SQLAlchemy does not (an
# INSERT inside a CTE): {name: (callable?, value or factory)}.
_NODE_DEFAULTS = {
    c.name: (bool(c.default.is_callable), c.default.arg)  # type: ignore[attr-defined]
    for c in nodes.c
    if c.default is not None
}
_HISTORY_COLUMNS = [c.name for c in node_history.c if c.name not in ("id", "node_id")]
# Built once per set of columns: (columns,) -> WITH n AS (INSERT node), h AS (INSERT history)
_INSERT_WITH_EVENT: dict[tuple[str, ...], sa.Select] = {}


def insert_node(
    conn: Connection, values: dict[str, Any], event: dict[str, Any] | None = None
) -> dict[str, Any]:
    """INSERT one node; the row as stored (IntegrityError on a taken uuid, name or instance).
    `event`: its first history line (record_event's arguments, the text under "event"), in the
    same statement on PostgreSQL (one round trip less per enrolment)."""
    if event is None or conn.dialect.name != "postgresql":
        node = dict(conn.execute(_INSERT_NODE, values).mappings().one())
        if event is not None:
            record_event(conn, node["id"], **event)
        return node
    full = dict(values)
    for name, (is_callable, arg) in _NODE_DEFAULTS.items():
        if name not in full:
            full[name] = arg(None) if is_callable else arg
    keys = tuple(sorted(full))
    stmt = _INSERT_WITH_EVENT.get(keys)
    if stmt is None:
        stmt = _INSERT_WITH_EVENT[keys] = _insert_with_event(keys)
    params = {f"_v_{k}": v for k, v in full.items()}
    for k, v in event_row(None, **event).items():
        if k != "node_id":
            params[f"h_{k}"] = v
    return dict(conn.execute(stmt, params).mappings().one())


def _insert_with_event(keys: tuple[str, ...]) -> sa.Select:
    n = (
        sa.insert(nodes)
        .values({k: sa.bindparam(f"_v_{k}", type_=nodes.c[k].type) for k in keys})
        .returning(*nodes.c)
        .cte("n")
    )
    # cast: a NULL in a SELECT list would otherwise reach PostgreSQL untyped (as text)
    row = [n.c.id] + [
        sa.cast(sa.bindparam(f"h_{c}", type_=node_history.c[c].type), node_history.c[c].type)
        for c in _HISTORY_COLUMNS
    ]
    h = sa.insert(node_history).from_select(["node_id", *_HISTORY_COLUMNS], sa.select(*row))
    return sa.select(*n.c).add_cte(h.cte("h"))


def delete_node(conn: Connection, node_id: int) -> None:
    conn.execute(sa.delete(nodes).where(nodes.c.id == node_id))


def chassis_id(conn: Connection, chassis_uuid: str) -> int | None:
    """The internal id of a chassis by UUID, or None when there is none."""
    return conn.execute(sa.select(chassis.c.id).where(chassis.c.uuid == chassis_uuid)).scalar()


def chassis_uuid(conn: Connection, chassis_id: int) -> str | None:
    return conn.execute(sa.select(chassis.c.uuid).where(chassis.c.id == chassis_id)).scalar()


def list_nodes(
    conn: Connection,
    *,
    filters: dict[str, Any],
    sort_key: str,
    sort_dir: str,
    allowed_sort_keys: frozenset[str],
    marker: str | None,
    limit: int,
    columns: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Nodes matching `filters` (None values ignored), one page after the `marker` node.

    With `columns`, only those columns besides the ones paging and rendering always need (lists
    of a few fields are polled constantly by clients waiting for states: they should not decode
    JSON blobs)."""
    if columns is None:
        q = sa.select(nodes)
    else:
        keep = {"id", "uuid", "driver", "chassis_id", "conductor_group", sort_key} | columns
        q = sa.select(*(c for c in nodes.c if c.name in keep))
    for key, val in filters.items():
        if val is None:
            continue
        if key == "associated":
            q = q.where(
                nodes.c.instance_uuid.is_not(None) if val else nodes.c.instance_uuid.is_(None)
            )
        elif key == "instance_uuid":
            q = q.where(nodes.c.instance_uuid == val)
        elif key == "chassis_uuid":
            sub = sa.select(chassis.c.id).where(chassis.c.uuid == val).scalar_subquery()
            q = q.where(nodes.c.chassis_id == sub)
        elif key == "include_children":
            if not val:
                q = q.where(nodes.c.parent_node.is_(None))
        elif key == "description_contains":
            q = q.where(nodes.c.description.contains(val))
        else:
            q = q.where(nodes.c[key] == val)
    marker_row = get_node(conn, marker) if marker else None
    q = paginate(
        q,
        nodes,
        sort_key=sort_key,
        sort_dir=sort_dir,
        allowed_keys=allowed_sort_keys,
        marker=marker_row,
        limit=limit,
    )
    return [dict(r) for r in conn.execute(q).mappings()]


# --- the console's list (services/nodes.py `console_list`) --------------------------------------

# The zone and architecture as the node's properties give them (None: not given).
_ZONE = nodes.c.properties["availability_zone"].as_string()
_ARCH = nodes.c.properties["cpu_arch"].as_string()
# What a row of the console's table shows: a few columns, never the JSON blobs whole.
_SUMMARY = sa.select(
    nodes.c.id,
    nodes.c.uuid,
    nodes.c.name,
    nodes.c.provision_state,
    nodes.c.target_provision_state,
    nodes.c.power_state,
    nodes.c.target_power_state,
    nodes.c.maintenance,
    nodes.c.instance_uuid,
    nodes.c.resource_class,
    nodes.c.driver,
    nodes.c.created_at,
    _ARCH.label("cpu_arch"),
    _ZONE.label("availability_zone"),
)
SUMMARY_SORT_KEYS = ("created_at", "name", "provision_state", "power_state", "uuid")
SUMMARY_FILTERS = frozenset(
    {"name", "provision_state", "power_state", "cpu_arch", "availability_zone", "maintenance"}
)


def _summary_query(filters: dict[str, Any], default_zone: str) -> sa.Select:
    """The summary select narrowed by `filters` (keys of SUMMARY_FILTERS; None values ignored):
    name is a case-insensitive substring, availability_zone `default_zone` also matches nodes
    that name no zone, the others are equalities."""
    q = _SUMMARY
    for key, val in filters.items():
        if val is None:
            continue
        if key == "name":
            q = q.where(nodes.c.name.icontains(val, autoescape=True))
        elif key == "cpu_arch":
            q = q.where(val == _ARCH)
        elif key == "availability_zone":
            cond = val == _ZONE
            if val == default_zone:
                cond = sa.or_(cond, _ZONE.is_(None), _ZONE == "")
            q = q.where(cond)
        elif key in ("provision_state", "power_state", "maintenance"):
            q = q.where(nodes.c[key] == val)
        else:
            raise ValueError(f"unknown node filter {key}")
    return q


def summary_page(
    conn: Connection,
    filters: dict[str, Any],
    *,
    default_zone: str,
    sort_key: str,
    sort_dir: str,
    marker: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` node summaries after the node whose uuid is `marker`, sorted by `sort_key`
    (one of SUMMARY_SORT_KEYS) then id, filtered by `filters`. Text sorts in byte order on
    either backend."""
    col: sa.ColumnElement[Any] = nodes.c[sort_key]
    if sort_key != "created_at" and conn.dialect.name != "sqlite":
        col = col.collate("C")  # byte order, as SQLite sorts, not the database's locale
    after = None
    if marker:
        at = conn.execute(
            sa.select(col, nodes.c.id).where(nodes.c.uuid == sa.bindparam("m")), {"m": marker}
        ).first()
        if at is None:
            raise InvalidInput(f"marker {marker} is not a node", field="marker")
        after = (at[0], at[1])
    q = keyset(
        _summary_query(filters, default_zone),
        col,
        nodes.c.id,
        sort_dir=sort_dir,
        marker=after,
        limit=limit,
    )
    return [dict(r) for r in conn.execute(q).mappings()]


# --- batch enrolment and export (services/imports.py) --------------------------------------------

# Built once: a batch is a few statements of many rows each.
_INSERT_NODES = sa.insert(nodes).returning(nodes.c.id, nodes.c.uuid, sort_by_parameter_order=True)


def taken_names(conn: Connection, names: Iterable[str]) -> set[str]:
    """Which of these names nodes have already."""
    return taken(conn, nodes.c.name, names)


def add_many(conn: Connection, values: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Insert nodes in one statement; their (id, uuid), in the order of `values`."""
    return [(row.id, row.uuid) for row in conn.execute(_INSERT_NODES, values)]


def record_events(
    conn: Connection,
    node_ids: list[int],
    event: str,
    *,
    event_type: str,
    user: str | None,
    to_state: str | None,
    request_id: str | None,
) -> None:
    """The same line of history for each of these nodes, in one statement."""
    rows = [
        event_row(
            node_id,
            event,
            event_type=event_type,
            user=user,
            to_state=to_state,
            request_id=request_id,
        )
        for node_id in node_ids
    ]
    conn.execute(_INSERT_EVENT, rows)


def for_export(conn: Connection) -> list[sa.Row[Any]]:
    """Every node's id, name, driver, driver_info, properties and resource_class, by id."""
    q = sa.select(
        nodes.c.id,
        nodes.c.name,
        nodes.c.driver,
        nodes.c.driver_info,
        nodes.c.properties,
        nodes.c.resource_class,
    ).order_by(nodes.c.id)
    return list(conn.execute(q).all())
