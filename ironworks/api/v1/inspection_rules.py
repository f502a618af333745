"""`/v1/inspection_rules`: Ironic's inspection rules (API 1.96+), kept by
services/inspection_rules.py and run by the conductor at the end of each inspection."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, parse_bool, parse_limit
from ironworks.api.v1 import render
from ironworks.common.errors import InvalidInput, MethodNotAllowed, NotFound
from ironworks.domain import inspection_rules as rules
from ironworks.domain import versions as v
from ironworks.services import inspection_rules as rule_svc

router = APIRouter(tags=["inspection rules"])

_TOO_OLD = {
    405: {
        "description": "Inspection rules need API version "
        f"{v.fmt(v.ENDPOINT_VERSIONS['inspection_rules'])} or later."
    }
}
JsonBody = Annotated[Any, Body()]

FIELDS = (
    "uuid",
    "description",
    "priority",
    "phase",
    "sensitive",
    "conditions",
    "actions",
    "created_at",
    "updated_at",
)
# What a list shows without ?detail=true (Ironic's short form).
SHORT = ("uuid", "description", "priority", "phase", "sensitive")
LIST_PARAMS = {"detail", "phase", "fields", "marker", "limit", "sort_key", "sort_dir"}


def _available(ctx: Ctx, *, read: bool) -> None:
    """Below 1.96 inspection rules do not exist: 404 for reads, 405 for changes (as Ironic)."""
    if ctx.version < v.ENDPOINT_VERSIONS["inspection_rules"]:
        msg = "The API version does not allow inspection rules"
        raise NotFound(msg) if read else MethodNotAllowed(msg)


def _render(ctx: Ctx, row: dict[str, Any], fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    chosen = fields or FIELDS
    out: dict[str, Any] = {}
    for f in chosen:
        if f == "links":
            continue
        val = row[f]
        if f.endswith("_at"):
            val = render.ts(val)
        elif f in ("conditions", "actions") and row["sensitive"]:
            val = rules.masked(val)  # a sensitive rule's arguments stay in the database
        out[f] = val
    out["links"] = [
        {"href": f"{ctx.base}/v1/inspection_rules/{row['uuid']}", "rel": "self"},
        {"href": f"{ctx.base}/inspection_rules/{row['uuid']}", "rel": "bookmark"},
    ]
    return out


def _fields(ctx: Ctx, raw: str | None) -> tuple[str, ...] | None:
    return render.parse_fields(raw, (*FIELDS, "links"), {}, ctx.version)


@router.get(
    "/v1/inspection_rules", summary="List inspection rules", dependencies=[Allow("node:read")]
)
@offload
def list_rules(ctx: CtxDep) -> JSON:
    _available(ctx, read=True)
    q = ctx.query(LIST_PARAMS)
    fields = _fields(ctx, q.get("fields"))
    detail = parse_bool(q.get("detail"), "detail")
    if fields is not None and detail:
        raise InvalidInput(
            "Can not specify ?detail=True and fields in the same request.", field="fields"
        )
    limit = parse_limit(q.get("limit"), ctx.svc.settings.api.max_limit)
    rows = rule_svc.list_rules(
        ctx.svc,
        phase=q.get("phase"),
        sort_key=q.get("sort_key", "id"),
        sort_dir=q.get("sort_dir", "asc"),
        marker=q.get("marker"),
        limit=limit,
    )
    shown = fields or (FIELDS if detail else SHORT)
    body: dict[str, Any] = {"inspection_rules": [_render(ctx, r, shown) for r in rows]}
    params = {k: q[k] for k in LIST_PARAMS - {"marker", "limit"} if k in q}
    nxt = ctx.next_link("inspection_rules", rows, limit, params)
    if nxt:
        body["next"] = nxt
    return JSON(body)


@router.post(
    "/v1/inspection_rules",
    status_code=201,
    summary="Create an inspection rule",
    responses=_TOO_OLD,
    dependencies=[Allow("node:update")],
)
@offload
def create_rule(ctx: CtxDep, body: JsonBody) -> JSON:
    _available(ctx, read=False)
    row = rule_svc.create(ctx.svc, body, ctx.caller)
    return JSON(
        _render(ctx, row),
        status_code=201,
        headers={"Location": f"{ctx.base}/v1/inspection_rules/{row['uuid']}"},
    )


@router.get(
    "/v1/inspection_rules/{ident}",
    summary="Show an inspection rule",
    dependencies=[Allow("node:read")],
)
@offload
def get_rule(ctx: CtxDep, ident: str) -> JSON:
    _available(ctx, read=True)
    fields = _fields(ctx, ctx.query({"fields"}).get("fields"))
    return JSON(_render(ctx, rule_svc.get(ctx.svc, ident), fields))


@router.patch(
    "/v1/inspection_rules/{ident}",
    summary="Change an inspection rule (JSON patch)",
    responses=_TOO_OLD,
    dependencies=[Allow("node:update")],
)
@offload
def patch_rule(ctx: CtxDep, ident: str, body: JsonBody) -> JSON:
    _available(ctx, read=False)
    return JSON(_render(ctx, rule_svc.patch(ctx.svc, ident, body, ctx.caller)))


@router.delete(
    "/v1/inspection_rules/{ident}",
    status_code=204,
    summary="Delete an inspection rule",
    responses=_TOO_OLD,
    dependencies=[Allow("node:update")],
)
@offload
def delete_rule(ctx: CtxDep, ident: str) -> Response:
    _available(ctx, read=False)
    rule_svc.delete(ctx.svc, ident, ctx.caller)
    return Response(status_code=204)


@router.delete(
    "/v1/inspection_rules",
    status_code=204,
    summary="Delete every inspection rule",
    responses=_TOO_OLD,
    dependencies=[Allow("node:update")],
)
@offload
def delete_all_rules(ctx: CtxDep) -> Response:
    _available(ctx, read=False)
    rule_svc.delete_all(ctx.svc, ctx.caller)
    return Response(status_code=204)
