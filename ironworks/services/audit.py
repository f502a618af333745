"""The audit log: one event per mutating request (and per refused one), queryable and exportable.

Who (user, project), what (action = the policy operation, e.g. `node:power`), on what (target
type, id, name), how it ended (success, failure, denied; the HTTP status and, for failures, the
message), when, from where (source address) and under which request id.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ironworks.common.errors import InvalidInput
from ironworks.db.audit import record
from ironworks.db.schema import audit_events
from ironworks.services.context import Services

FIELDS = ("uuid", "created_at", "user_name", "project_name", "action", "target_type", "target_id",
          "target_name", "outcome", "status_code", "detail", "request_id", "source", "method",
          "path")  # fmt: skip
FILTERS = ("user_name", "project_name", "action", "target_type", "target_id", "outcome",
           "request_id")  # fmt: skip


__all__ = ["FIELDS", "FILTERS", "list_events", "record", "record_now"]


def record_now(svc: Services, **event: Any) -> None:
    with svc.db.write(durable=False) as conn:
        record(conn, **event)


def list_events(
    svc: Services,
    *,
    filters: dict[str, str],
    project_ids: set[int] | None = None,
    limit: int = 100,
    marker: str | None = None,
    since: Any = None,
    until: Any = None,
) -> list[dict[str, Any]]:
    """Newest first. `project_ids` (None: all) limits the events to those projects."""
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise InvalidInput(f"cannot filter audit events by {unknown[0]}; use one of "
                           f"{', '.join(FILTERS)}", field=unknown[0])  # fmt: skip
    q = sa.select(*(audit_events.c[f] for f in FIELDS), audit_events.c.id)
    for key, value in filters.items():
        q = q.where(audit_events.c[key] == value)
    if project_ids is not None:
        q = q.where(audit_events.c.project_id.in_(sorted(project_ids)))
    if since is not None:
        q = q.where(audit_events.c.created_at >= since)
    if until is not None:
        q = q.where(audit_events.c.created_at < until)
    with svc.db.read() as conn:
        if marker:
            mark = conn.execute(
                sa.select(audit_events.c.id).where(audit_events.c.uuid == marker)
            ).scalar()
            if mark is None:
                raise InvalidInput(f"marker {marker} is not an audit event id", field="marker")
            q = q.where(audit_events.c.id < mark)
        rows = conn.execute(q.order_by(audit_events.c.id.desc()).limit(limit)).mappings().all()
    return [{f: r[f] for f in FIELDS} for r in rows]
