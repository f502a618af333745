"""`/api/v1/audit-events`: the audit log, filtered, sorted (newest first unless asked
otherwise) and paged like every list; and its export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.api.native.downloads import SHEET_RESPONSES, Format, sheet_response
from ironworks.api.native.networks import Timestamp
from ironworks.common.errors import InvalidInput
from ironworks.services import audit

router = APIRouter(prefix="/api/v1/audit-events", tags=["audit"])
EXPORT_LIMIT = 100_000


class AuditEvent(BaseModel):
    """One request that changed something (or tried to), or a conductor's own action."""

    uuid: str
    created_at: Timestamp
    user_name: str | None
    project_name: str | None
    action: str = Field(description="The permission operation, e.g. `host:create`.")
    target_type: str | None
    target_id: str | None
    target_name: str | None
    outcome: str = Field(description="`success`, `failure` or `denied`.")
    status_code: int | None
    detail: str | None
    request_id: str | None
    source: str | None
    method: str | None
    path: str | None


class AuditEventList(BaseModel):
    audit_events: list[AuditEvent]
    next_marker: str | None = None


def _scope(ctx: Any) -> set[int] | None:
    """None: every event (cloud admin, or noauth); else the caller's projects'."""
    p = ctx.caller.principal
    return None if p is None or p.is_admin else set(p.projects)


def _filters(ctx: Any) -> dict[str, str]:
    known = {*audit.FILTERS, "limit", "marker", "format", "sort_key", "sort_dir"}
    params = dict(ctx.request.query_params)
    unknown = sorted(set(params) - known)
    if unknown:
        raise InvalidInput(
            f"cannot filter audit events by {unknown[0]}; use one of {', '.join(audit.FILTERS)}",
            field=unknown[0],
        )
    return {k: v for k, v in params.items() if k in audit.FILTERS}


def _order(ctx: Any) -> dict[str, str]:
    """Newest first; a sort_key given sorts ascending unless sort_dir says otherwise."""
    params = ctx.request.query_params
    key = params.get("sort_key")
    return {
        "sort_key": key or "created_at",
        "sort_dir": params.get("sort_dir", "asc" if key else "desc"),
    }


@router.get(
    "",
    summary="Audit events, newest first unless sorted (filters: user_name, action, target_type, "
    "target_id, outcome, request_id; sort_key: created_at, user_name, project_name, action, "
    "target_type, target_id, target_name, outcome, status_code)",
    response_model_exclude_unset=True,  # next_marker only when the page is full
    dependencies=[Allow("audit:read")],
)
async def list_events(
    ctx: CtxDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    marker: Annotated[str | None, Query(description="uuid of the last event seen")] = None,
) -> AuditEventList:
    events = await ctx.run(
        audit.list_events,
        ctx.svc,
        filters=_filters(ctx),
        project_ids=_scope(ctx),
        limit=limit,
        marker=marker,
        **_order(ctx),
    )
    out: dict[str, Any] = {"audit_events": events}
    if len(events) == limit:
        out["next_marker"] = events[-1]["uuid"]
    return AuditEventList.model_validate(out)


@router.get(
    "/export",
    summary="The same events as CSV or XLSX",
    response_class=Response,
    responses=SHEET_RESPONSES,
    dependencies=[Allow("audit:export")],
)
async def export_events(ctx: CtxDep, fmt: Format = "csv") -> Response:
    events = await ctx.run(
        audit.list_events,
        ctx.svc,
        filters=_filters(ctx),
        project_ids=_scope(ctx),
        limit=EXPORT_LIMIT,
        **_order(ctx),
    )

    rows = [
        [e[f] if not hasattr(e[f], "isoformat") else e[f].isoformat() for f in audit.FIELDS]
        for e in events
    ]
    return await sheet_response(
        fmt, audit.FIELDS, rows, "audit-events", {"X-Event-Count": str(len(events))}, "audit"
    )
