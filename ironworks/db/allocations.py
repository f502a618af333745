"""Allocations (Ironic's): their rows, and the node's side of holding one.

An allocation holds a node through `allocations.node_id` (unique) and the node's
`instance_uuid` and `allocation_uuid` (both the allocation's uuid), always written together:
the node is taken by the shared claim (db/scheduling.py), `hold` records it, `release` undoes
both sides in one transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.common.errors import InvalidInput
from ironworks.common.ids import is_uuid_like
from ironworks.db.engine import utcnow
from ironworks.db.pagination import paginate
from ironworks.db.schema import allocations, nodes

SORT_KEYS = frozenset(
    {"id", "uuid", "name", "state", "resource_class", "owner", "created_at", "updated_at"}
)
_WITH_NODE = sa.select(allocations, nodes.c.uuid.label("node_uuid")).outerjoin(
    nodes, nodes.c.id == allocations.c.node_id
)


def add(conn: Connection, values: dict[str, Any]) -> int:
    """INSERT an allocation; its id (IntegrityError on a taken uuid or name)."""
    q = sa.insert(allocations).values(created_at=utcnow(), **values).returning(allocations.c.id)
    return int(conn.execute(q).scalar_one())


def get(conn: Connection, ident: str | int) -> dict[str, Any] | None:
    """An allocation with its node's uuid, by id, uuid, or otherwise name."""
    if isinstance(ident, int):
        where = allocations.c.id == ident
    elif is_uuid_like(ident):
        where = allocations.c.uuid == ident.lower()
    else:
        where = allocations.c.name == ident
    row = conn.execute(_WITH_NODE.where(where)).mappings().first()
    return dict(row) if row else None


def of_node(conn: Connection, node_id: int) -> dict[str, Any] | None:
    row = conn.execute(_WITH_NODE.where(allocations.c.node_id == node_id)).mappings().first()
    return dict(row) if row else None


def page(
    conn: Connection,
    filters: dict[str, Any],
    *,
    sort_key: str,
    sort_dir: str,
    marker: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Allocations whose columns equal `filters` (node_id, resource_class, state, owner), one
    page after the `marker` allocation."""
    q = _WITH_NODE
    for key, value in filters.items():
        q = q.where(allocations.c[key] == value)
    marker_row = None
    if marker:
        marker_row = get(conn, marker) if is_uuid_like(marker) else None
        if marker_row is None:
            raise InvalidInput(f"marker {marker} is not an allocation", field="marker")
    q = paginate(
        q,
        allocations,
        sort_key=sort_key,
        sort_dir=sort_dir,
        allowed_keys=SORT_KEYS,
        marker=marker_row,
        limit=limit,
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def finish(
    conn: Connection, allocation_id: int, state: str, *, node_id: int | None, error: str | None
) -> None:
    """The end of processing: `active` with its node, or `error` with why."""
    conn.execute(
        sa.update(allocations)
        .where(allocations.c.id == allocation_id)
        .values(state=state, node_id=node_id, last_error=error, updated_at=utcnow())
    )


def update(conn: Connection, allocation_id: int, values: dict[str, Any]) -> None:
    conn.execute(
        sa.update(allocations)
        .where(allocations.c.id == allocation_id)
        .values(updated_at=utcnow(), **values)
    )


def hold_active(conn: Connection, node_id: int, uuid: str, traits: list[str]) -> None:
    """Backfill: an active node (already carrying `uuid` or no instance) now held by the
    allocation `uuid`, its instance_info's traits the allocation's (as Ironic)."""
    info = conn.execute(sa.select(nodes.c.instance_info).where(nodes.c.id == node_id)).scalar_one()
    conn.execute(
        sa.update(nodes)
        .where(nodes.c.id == node_id)
        .values(
            instance_uuid=uuid,
            allocation_uuid=uuid,
            instance_info={**(info or {}), "traits": traits},
            updated_at=utcnow(),
        )
    )


def delete(conn: Connection, allocation: dict[str, Any]) -> None:
    """Delete the allocation and free its node: the node's allocation_uuid and instance_uuid
    are cleared in the same transaction (Ironic's rule)."""
    conn.execute(
        sa.update(nodes)
        .where(nodes.c.allocation_uuid == allocation["uuid"])
        .values(allocation_uuid=None, instance_uuid=None, updated_at=utcnow())
    )
    conn.execute(sa.delete(allocations).where(allocations.c.id == allocation["id"]))


def delete_of_node(conn: Connection, node_id: int) -> None:
    """The node was torn down: its allocation goes (the caller clears the node's columns)."""
    conn.execute(sa.delete(allocations).where(allocations.c.node_id == node_id))


def node_refs(conn: Connection, idents: list[str]) -> dict[str, str]:
    """The uuid of each node named by uuid or name in `idents` that exists, by ident."""
    uuids = [i.lower() for i in idents if is_uuid_like(i)]
    names = [i for i in idents if not is_uuid_like(i)]
    q = sa.select(nodes.c.uuid, nodes.c.name).where(
        sa.or_(nodes.c.uuid.in_(uuids), nodes.c.name.in_(names))
    )
    found: dict[str, str] = {}
    for uuid, name in conn.execute(q):
        found[uuid] = uuid
        if name is not None:
            found[name] = uuid
    out: dict[str, str] = {}
    for ident in idents:
        key = ident.lower() if is_uuid_like(ident) else ident
        if key in found:
            out[ident] = found[key]
    return out


def locked_node(conn: Connection, node_id: int) -> dict[str, Any]:
    """The node of an allocation, its row locked until the transaction ends (PostgreSQL;
    SQLite has one writer), so its state cannot change under a backfill or a removal."""
    q = sa.select(nodes).where(nodes.c.id == node_id).with_for_update()
    return dict(conn.execute(q).mappings().one())
