"""Conductors: one row per conductor process, written by the conductor at start, on every
heartbeat and at a clean stop; read by the API to list them, and to build the hash ring that
says which conductor owns a node.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.schema import conductors

# --- reads for the API ---------------------------------------------------------------------------


def list_all(conn: Connection) -> list[dict[str, Any]]:
    """Every conductor that ever registered, by hostname (dead ones too: `online` and
    `updated_at` tell)."""
    q = sa.select(conductors).order_by(conductors.c.hostname)
    return [dict(r) for r in conn.execute(q).mappings()]
