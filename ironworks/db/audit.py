"""Writing audit events (the table's only writer; queries live in services/audit.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ironworks.common.ids import new_uuid
from ironworks.db.engine import utcnow
from ironworks.db.schema import audit_events


def record(conn: sa.Connection, **event: Any) -> None:
    """One event in the caller's transaction: the change and its audit line commit together."""
    conn.execute(sa.insert(audit_events).values(uuid=new_uuid(), created_at=utcnow(), **event))
