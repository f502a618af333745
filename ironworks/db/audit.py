"""The audit log's table: writing events (the table's only writer) and reading them.

Lists page by keyset on (sort column, id), newest first unless asked otherwise; a marker is the
uuid of the last event of the previous page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ironworks.common.errors import InvalidInput
from ironworks.common.ids import new_uuid
from ironworks.db.engine import utcnow
from ironworks.db.pagination import keyset
from ironworks.db.schema import audit_events, nodes

_COLUMNS = [c.name for c in audit_events.columns if c.name != "id"]
_INSERT = sa.insert(audit_events)  # one compiled statement, every column bound: cached
FIELDS = (
    "uuid",
    "created_at",
    "user_name",
    "project_name",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "outcome",
    "status_code",
    "detail",
    "request_id",
    "source",
    "method",
    "path",
)
FILTERS = (
    "user_name",
    "project_name",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "request_id",
)
SORT_KEYS = (
    "created_at",
    "user_name",
    "project_name",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "outcome",
    "status_code",
)


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


def node_named(conn: sa.Connection, name: str) -> tuple[str, str] | None:
    """(uuid, name) of the node called `name`, for an event whose URL named it."""
    row = conn.execute(sa.select(nodes.c.uuid, nodes.c.name).where(nodes.c.name == name)).first()
    return None if row is None else (row.uuid, row.name)


def list_events(
    conn: sa.Connection,
    *,
    filters: dict[str, str],
    project_ids: set[int] | None,
    sort_key: str,
    sort_dir: str,
    limit: int,
    marker: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[dict[str, Any]]:
    """The events matching `filters` (column = value), of `project_ids` (None: all), in
    [since, until), sorted by `sort_key` then id, after the event `marker`."""
    if sort_key not in SORT_KEYS:
        raise InvalidInput(f"sort_key must be one of {', '.join(SORT_KEYS)}", field="sort_key")
    if sort_dir not in ("asc", "desc"):
        raise InvalidInput("sort_dir must be asc or desc", field="sort_dir")
    col = audit_events.c[sort_key]
    q = sa.select(*(audit_events.c[f] for f in FIELDS), audit_events.c.id)
    for key, value in filters.items():
        q = q.where(audit_events.c[key] == value)
    if project_ids is not None:
        q = q.where(audit_events.c.project_id.in_(sorted(project_ids)))
    if since is not None:
        q = q.where(audit_events.c.created_at >= since)
    if until is not None:
        q = q.where(audit_events.c.created_at < until)
    mark = None
    if marker:
        found = conn.execute(
            sa.select(col, audit_events.c.id).where(audit_events.c.uuid == marker)
        ).first()
        if found is None:
            raise InvalidInput(f"marker {marker} is not an audit event id", field="marker")
        mark = (found[0], found[1])
    q = keyset(q, col, audit_events.c.id, sort_dir=sort_dir, marker=mark, limit=limit)
    return [{f: r[f] for f in FIELDS} for r in conn.execute(q).mappings()]
