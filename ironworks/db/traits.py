"""A node's traits: the JSON list in `nodes.traits`, read under a row lock and written whole.

Adding one trait is a read-modify-write of that list, so `locked` reads it `FOR UPDATE` (on
PostgreSQL; SQLite serialises writers already): two concurrent additions both land.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.engine import utcnow
from ironworks.db.schema import nodes


def locked(conn: Connection, node_id: int) -> list[str]:
    """The node's traits, its row locked until the transaction ends."""
    stmt = sa.select(nodes.c.traits).where(nodes.c.id == node_id).with_for_update()
    return list(conn.execute(stmt).scalar_one() or [])


def store(conn: Connection, node_id: int, traits: list[str]) -> None:
    """Replace the node's traits."""
    conn.execute(
        sa.update(nodes).where(nodes.c.id == node_id).values(traits=traits, updated_at=utcnow())
    )
