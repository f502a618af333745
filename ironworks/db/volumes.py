"""Volume connectors and targets of a node (Ironic's boot-from-volume records).

The functions take `which`, "connectors" or "targets"; a row comes back with its node's uuid as
`node_uuid`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.engine import utcnow
from ironworks.db.schema import nodes, volume_connectors, volume_targets

_TABLES = {"connectors": volume_connectors, "targets": volume_targets}


def _joined(which: str) -> sa.Select:
    t = _TABLES[which]
    return sa.select(t, nodes.c.uuid.label("node_uuid")).join(nodes, nodes.c.id == t.c.node_id)


def _plain(row: Any) -> dict[str, Any]:
    return {str(k): v for k, v in row.items()}  # "type" comes back as a quoted_name


def get(conn: Connection, which: str, uuid: str) -> dict[str, Any] | None:
    t = _TABLES[which]
    row = conn.execute(_joined(which).where(t.c.uuid == uuid.lower())).mappings().first()
    return _plain(row) if row else None


def page(conn: Connection, which: str, node_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` rows by id, of one node or of all."""
    t = _TABLES[which]
    q = _joined(which)
    if node_id is not None:
        q = q.where(t.c.node_id == node_id)
    return [_plain(r) for r in conn.execute(q.order_by(t.c.id).limit(limit)).mappings()]


def add(conn: Connection, which: str, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(_TABLES[which]).values(**values, created_at=utcnow()))


def delete(conn: Connection, which: str, row_id: int) -> None:
    t = _TABLES[which]
    conn.execute(sa.delete(t).where(t.c.id == row_id))


def update(conn: Connection, which: str, row_id: int, values: dict[str, Any]) -> None:
    """Change a connector or target (IntegrityError on a taken identifier or boot index)."""
    t = _TABLES[which]
    conn.execute(sa.update(t).where(t.c.id == row_id).values(**values, updated_at=utcnow()))


def locked_node(conn: Connection, node_id: int) -> dict[str, Any]:
    """The node of a connector or target, its row locked until the transaction ends (so its
    power state cannot change under a change of its volumes)."""
    q = sa.select(nodes).where(nodes.c.id == node_id).with_for_update()
    return dict(conn.execute(q).mappings().one())
