"""The audit log: one event per mutating request (and per refused one), queryable and exportable.

Who (user, project), what (action = the policy operation, e.g. `node:power`), on what (target
type, id, name), how it ended (success, failure, denied; the HTTP status and, for failures, the
message), when, from where (source address) and under which request id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ironworks.common.errors import InvalidInput
from ironworks.db.audit import record, settle
from ironworks.db.engine import commit_hook
from ironworks.db.schema import audit_events
from ironworks.services.context import Services

FIELDS = ("uuid", "created_at", "user_name", "project_name", "action", "target_type", "target_id",
          "target_name", "outcome", "status_code", "detail", "request_id", "source", "method",
          "path")  # fmt: skip
FILTERS = ("user_name", "project_name", "action", "target_type", "target_id", "outcome",
           "request_id")  # fmt: skip


__all__ = ["FIELDS", "FILTERS", "AuditHook", "list_events", "record", "record_now", "ride_along",
           "settle_now"]  # fmt: skip


class AuditHook:
    """Writes a request's audit event inside its first committing write transaction, so the
    change and its audit line commit together (`db.engine.commit_hook`). `event()` says who,
    what and on what at that moment; `expected` is the status the request answers if it
    succeeds (the API corrects the event with `settle_now` when the answer differs)."""

    def __init__(self, event: Callable[[], dict[str, Any]], expected: int) -> None:
        self.event = event
        self.expected = expected
        self.uuid: str | None = None
        self.done = False

    def before_commit(self, conn: sa.Connection) -> None:
        if not self.done:
            self.uuid = record(conn, outcome="success", status_code=self.expected, **self.event())

    def committed(self) -> None:
        if self.uuid is not None:
            self.done = True


def ride_along(event: Callable[[], dict[str, Any]], expected: int) -> AuditHook:
    """Make the current request's writes carry its audit event (a context variable)."""
    hook = AuditHook(event, expected)
    commit_hook.set(hook)
    return hook


def settle_now(svc: Services, uuid: str | None, outcome: dict[str, Any]) -> None:
    if uuid is None:
        return
    token = commit_hook.set(None)
    try:
        with svc.db.write(durable=False) as conn:
            settle(conn, uuid, **outcome)
    finally:
        commit_hook.reset(token)


def record_now(svc: Services, **event: Any) -> None:
    """One event in a transaction of its own (a request that changed nothing)."""
    token = commit_hook.set(None)  # this write is the audit line itself
    try:
        with svc.db.write(durable=False) as conn:
            record(conn, **event)
    finally:
        commit_hook.reset(token)


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
