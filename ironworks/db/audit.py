"""Writing audit events (the table's only writer; queries live in services/audit.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ironworks.common.ids import new_uuid
from ironworks.db.engine import utcnow
from ironworks.db.schema import audit_events

_COLUMNS = [c.name for c in audit_events.columns if c.name != "id"]
_INSERT = sa.insert(audit_events)  # one compiled statement, every column bound: cached


def record(conn: sa.Connection, **event: Any) -> str:
    """One event in the caller's transaction: the change and its audit line commit together."""
    row = dict.fromkeys(_COLUMNS)
    row.update(event)
    row["uuid"] = row["uuid"] or new_uuid()
    row["created_at"] = utcnow()
    conn.execute(_INSERT, row)
    return str(row["uuid"])


def settle(conn: sa.Connection, uuid: str, **outcome: Any) -> None:
    """Correct an event written with the change once the request's answer is known."""
    conn.execute(sa.update(audit_events).where(audit_events.c.uuid == uuid).values(**outcome))
