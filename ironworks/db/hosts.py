"""Hosts: the scheduler's reads and claims of nodes, quota usage, and the host lists.

A node is claimed for a host by the shared compare-and-set of db/scheduling.py (the same claim
Ironic's allocations use), so a node that changed since the candidates were read is skipped,
never taken twice. `hosts.node_id` is unique besides: the database itself refuses two hosts on
one node.

A host's status is derived from its node in SQL (`host_status`), so lists filter, sort and page
on it in the query.

`scope` in the reads is the caller's: None reads every host (the cloud admin), a list of
project ids the hosts of those projects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.common.errors import InvalidInput
from ironworks.db.engine import utcnow
from ironworks.db.lookup import by_ident
from ironworks.db.pagination import keyset
from ironworks.db.schema import flavors, hosts, nodes, projects
from ironworks.domain import hosts as hs
from ironworks.domain import power

# --- quotas ---------------------------------------------------------------------------------------


def usage(
    conn: Connection, *, project_id: int | None = None, department_id: int | None = None
) -> dict[str, int]:
    """Hosts (= nodes: one each), cores and memory the hosts of a project or a department take."""
    where = (
        projects.c.id == project_id
        if department_id is None
        else projects.c.department_id == department_id
    )
    row = conn.execute(
        sa.select(
            sa.func.count(hosts.c.id),
            sa.func.coalesce(sa.func.sum(flavors.c.cpus), 0),
            sa.func.coalesce(sa.func.sum(flavors.c.memory_mb), 0),
        )
        .select_from(hosts)
        .join(flavors, flavors.c.id == hosts.c.flavor_id)
        .join(projects, projects.c.id == hosts.c.project_id)
        .where(where)
    ).one()
    return {"hosts": row[0], "nodes": row[0], "cores": int(row[1]), "ram_mb": int(row[2])}


# --- changing ------------------------------------------------------------------------------------


def add(conn: Connection, values: dict[str, Any]) -> int:
    """Insert a host; its id."""
    return int(conn.execute(sa.insert(hosts).values(**values).returning(hosts.c.id)).scalar_one())


def on_node(conn: Connection, node_id: int) -> dict[str, Any] | None:
    """The host a node carries (id, uuid, name, project_id), if any."""
    q = sa.select(hosts.c.id, hosts.c.uuid, hosts.c.name, hosts.c.project_id).where(
        hosts.c.node_id == node_id
    )
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def rename(conn: Connection, host_id: int, name: str) -> None:
    conn.execute(
        sa.update(hosts).where(hosts.c.id == host_id).values(name=name, updated_at=utcnow())
    )


def set_task(conn: Connection, host_id: int, task: str, *, image: str | None = None) -> None:
    """Record what the tenant asked last (rebuilding, deleting) and, for a rebuild, the image."""
    values: dict[str, Any] = {"task": task, "updated_at": utcnow()}
    if image is not None:
        values["image"] = image
    conn.execute(sa.update(hosts).where(hosts.c.id == host_id).values(**values))


def delete(conn: Connection, host_id: int) -> None:
    conn.execute(sa.delete(hosts).where(hosts.c.id == host_id))


# --- reading -------------------------------------------------------------------------------------

_PS, _POWER = nodes.c.provision_state, nodes.c.power_state
# A host's status (domain/hosts.py declares it as ordered sets; status_of is the same in Python).
host_status = sa.case(
    (nodes.c.id.is_(None), hs.ERROR),  # its node was deleted
    (
        sa.or_(hosts.c.task == hs.TASK_DELETING, _PS.in_(sorted(hs.TEARDOWN_STATES))),
        hs.DELETING,
    ),
    (
        _PS.in_(sorted(hs.DEPLOY_STATES)),
        sa.case((hosts.c.task == hs.TASK_REBUILDING, hs.REBUILDING), else_=hs.BUILDING),
    ),
    (_PS == hs.RUNNING_STATE, sa.case((_POWER == power.POWER_OFF, hs.STOPPED), else_=hs.ACTIVE)),
    (_PS.in_(sorted(hs.FAILED_STATES)), hs.ERROR),
    else_=_PS,
)
_SORT_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "created_at": hosts.c.created_at,
    "name": hosts.c.name,
    "status": host_status,
    "project": projects.c.name,
}
SORT_KEYS = tuple(_SORT_COLUMNS)
# The filters of a host list, as columns: equality with the value given.
_FILTER_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "project": projects.c.name,
    "flavor": flavors.c.name,
    "availability_zone": hosts.c.availability_zone,
    "name": hosts.c.name,
    "status": host_status,
}
FILTERS = tuple(_FILTER_COLUMNS)


def _query(scope: Sequence[int] | None, filters: dict[str, str]) -> sa.Select:
    """Hosts with their project, flavor, node and status, in scope and matching `filters`."""
    q = (
        sa.select(
            hosts,
            projects.c.name.label("project"),
            flavors.c.name.label("flavor"),
            flavors.c.cpus,
            flavors.c.memory_mb,
            flavors.c.local_gb,
            nodes.c.uuid.label("node_uuid"),
            nodes.c.provision_state,
            nodes.c.power_state,
            nodes.c.target_power_state,
            nodes.c.last_error,
            nodes.c.properties,
            host_status.label("status"),
        )
        .join(projects, projects.c.id == hosts.c.project_id)
        .join(flavors, flavors.c.id == hosts.c.flavor_id)
        .outerjoin(nodes, nodes.c.id == hosts.c.node_id)
    )
    if scope is not None:
        q = q.where(hosts.c.project_id.in_(scope))
    for key, value in filters.items():
        q = q.where(_FILTER_COLUMNS[key] == value)
    return q


def page(
    conn: Connection,
    scope: Sequence[int] | None,
    filters: dict[str, str],
    *,
    sort_key: str,
    sort_dir: str,
    marker: str | None,
    limit: int | None,
) -> list[dict[str, Any]]:
    """Up to `limit` hosts after the one whose uuid is `marker`, sorted by `sort_key` (one of
    SORT_KEYS) then id, filtered by `filters` (keys of FILTERS)."""
    col = _SORT_COLUMNS[sort_key]
    if sort_key != "created_at" and conn.dialect.name != "sqlite":
        col = col.collate("C")  # byte order, as SQLite sorts, not the database's locale
    after = None
    if marker:
        at = conn.execute(
            _query(scope, filters).with_only_columns(col, hosts.c.id).where(hosts.c.uuid == marker)
        ).first()
        if at is None:
            raise InvalidInput(f"marker {marker} is not in this list", field="marker")
        after = (at[0], at[1])
    q = keyset(
        _query(scope, filters), col, hosts.c.id, sort_dir=sort_dir, marker=after, limit=limit
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def find(conn: Connection, ident: str, scope: Sequence[int] | None) -> list[dict[str, Any]]:
    """The hosts in scope with this uuid or name, oldest first (names may repeat)."""
    q = _query(scope, {}).where(by_ident(hosts, ident))
    return [dict(r) for r in conn.execute(q.order_by(hosts.c.created_at, hosts.c.id)).mappings()]
