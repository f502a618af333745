"""The one claim of a free node, shared by the host scheduler (services/hosts.py) and Ironic's
allocations (services/allocations.py).

A node is free when it is available, not in maintenance, not retired, unlocked and holds no
instance and no allocation. The candidates are read without locks (who fits is decided in
Python by the caller); a node is then taken by a compare-and-set on `nodes.instance_uuid` that
repeats every condition of "free". On PostgreSQL two transactions updating the same row
serialise on its row lock and the second re-checks the conditions against the committed row, so
it finds the node taken and moves on; SQLite has one writer. Either way a node that changed
since the candidates were read is skipped, never given twice, and the unique
`nodes.instance_uuid` backs it up.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.engine import utcnow
from ironworks.db.schema import nodes
from ironworks.domain import states

# What makes a node free; the claim checks it again in its UPDATE.
_FREE = (
    nodes.c.provision_state == states.AVAILABLE,
    nodes.c.instance_uuid.is_(None),
    nodes.c.allocation_uuid.is_(None),
    nodes.c.reservation.is_(None),
    nodes.c.retired.is_(False),
    nodes.c.maintenance.is_(False),
)


def free_nodes(conn: Connection) -> list[dict[str, Any]]:
    """Every node a new host or allocation may be given (which of them fits is the caller's)."""
    q = sa.select(nodes).where(*_FREE).order_by(nodes.c.id)
    return [dict(r) for r in conn.execute(q).mappings()]


def claim_node(conn: Connection, node_id: int, instance_uuid: str, **values: Any) -> bool:
    """Give the node to `instance_uuid` (with `values`, e.g. instance_info) if it is still
    free (compare-and-set); False if it is not."""
    q = (
        sa.update(nodes)
        .where(nodes.c.id == node_id, *_FREE)
        .values(instance_uuid=instance_uuid, updated_at=utcnow(), **values)
    )
    return bool(conn.execute(q).rowcount)
