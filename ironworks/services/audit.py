"""The audit log: one event per mutating request (and per refused one), queryable and exportable.

Who (user, project), what (action = the policy operation, e.g. `node:power`), on what (target
type, id, name), how it ended (success, failure, denied; the HTTP status and, for failures, the
message; the verb of a provision or power request, e.g. "deploy", "power off"), when, from
where (source address) and under which request id. Node events always name the node by uuid:
the services say which node they acted on (`Caller.acted_on`), and an event of a request that
never got that far (refused, invalid) has the node the URL named looked up. The queries are in
`db/audit.py`; lists filter, sort and page like every list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ironworks.common.errors import InvalidInput
from ironworks.common.ids import is_uuid_like
from ironworks.db import audit as audit_db
from ironworks.db.audit import FIELDS, FILTERS, SORT_KEYS, record, settle
from ironworks.db.engine import commit_hook
from ironworks.services.context import Services

__all__ = [
    "FIELDS",
    "FILTERS",
    "SORT_KEYS",
    "AuditHook",
    "list_events",
    "record",
    "record_now",
    "ride_along",
    "settle_now",
]


def _write(conn: sa.Connection, event: dict[str, Any]) -> str:
    """Record `event`, its node made its uuid when the URL named it (a refused or failed
    request never reached the service that would have said which node it was)."""
    ident = event.get("target_id")
    if event.get("target_type") == "node" and ident and not is_uuid_like(ident):
        found = audit_db.node_named(conn, ident)
        if found is not None:
            event = {**event, "target_id": found[0], "target_name": found[1]}
    return record(conn, **event)


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
            event = {**self.event(), "outcome": "success", "status_code": self.expected}
            self.uuid = _write(conn, event)

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
            _write(conn, event)
    finally:
        commit_hook.reset(token)


def list_events(
    svc: Services,
    *,
    filters: dict[str, str],
    project_ids: set[int] | None = None,
    limit: int = 100,
    marker: str | None = None,
    sort_key: str = "created_at",
    sort_dir: str = "desc",
    since: Any = None,
    until: Any = None,
) -> list[dict[str, Any]]:
    """Newest first unless sorted otherwise. `project_ids` (None: all) limits the events to
    those projects."""
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise InvalidInput(
            f"cannot filter audit events by {unknown[0]}; use one of {', '.join(FILTERS)}",
            field=unknown[0],
        )
    with svc.db.read() as conn:
        return audit_db.list_events(
            conn,
            filters=filters,
            project_ids=project_ids,
            sort_key=sort_key,
            sort_dir=sort_dir,
            limit=limit,
            marker=marker,
            since=since,
            until=until,
        )
