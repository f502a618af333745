"""Chassis: a grouping of nodes (Ironic's), with a description and free-form `extra`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.engine import utcnow
from ironworks.db.schema import chassis, nodes


def get(conn: Connection, uuid: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(chassis).where(chassis.c.uuid == uuid.lower())).mappings().first()
    return dict(row) if row else None


def page(conn: Connection, limit: int, after_id: int | None) -> list[dict[str, Any]]:
    """Up to `limit` chassis by id, after the one with id `after_id`."""
    q = sa.select(chassis).order_by(chassis.c.id).limit(limit)
    if after_id is not None:
        q = q.where(chassis.c.id > after_id)
    return [dict(r) for r in conn.execute(q).mappings()]


def add(conn: Connection, uuid: str, description: str | None, extra: dict[str, Any]) -> None:
    conn.execute(
        sa.insert(chassis).values(
            uuid=uuid.lower(), description=description, extra=extra, created_at=utcnow()
        )
    )


def update(
    conn: Connection, chassis_id: int, description: str | None, extra: dict[str, Any]
) -> None:
    conn.execute(
        sa.update(chassis)
        .where(chassis.c.id == chassis_id)
        .values(description=description, extra=extra, updated_at=utcnow())
    )


def delete(conn: Connection, chassis_id: int) -> None:
    conn.execute(sa.delete(chassis).where(chassis.c.id == chassis_id))


def count_nodes(conn: Connection, chassis_id: int) -> int:
    """The nodes in the chassis (a chassis with nodes cannot be deleted)."""
    q = sa.select(sa.func.count()).where(nodes.c.chassis_id == chassis_id)
    return int(conn.execute(q).scalar_one())


def uuids(conn: Connection) -> dict[int, str]:
    """Every chassis' uuid by its id (to render nodes' chassis_uuid)."""
    return {cid: uuid for cid, uuid in conn.execute(sa.select(chassis.c.id, chassis.c.uuid))}
