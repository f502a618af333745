"""`/v1/allocations` and `/v1/nodes/{node}/allocation`: Ironic's allocations (API 1.52+),
processed by services/allocations.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, parse_limit
from ironworks.api.v1 import render
from ironworks.common.errors import MethodNotAllowed, NotAcceptable, NotFound
from ironworks.domain import versions as v
from ironworks.services import allocations as alloc_svc

router = APIRouter(tags=["allocations"])

# A change asked below 1.52 is a 405, as in Ironic (the body is Ironic's error, filled in by
# app._openapi like every error answer)
_TOO_OLD = {
    405: {
        "description": "Allocations need API version "
        f"{v.fmt(v.ENDPOINT_VERSIONS['allocations'])} or later."
    }
}
JsonBody = Annotated[Any, Body()]

FIELDS = (
    "candidate_nodes",
    "created_at",
    "extra",
    "last_error",
    "name",
    "node_uuid",
    "owner",
    "resource_class",
    "state",
    "traits",
    "updated_at",
    "uuid",
)
FIELD_VERSIONS: dict[str, v.Version] = {"owner": v.ALLOCATION_OWNER}
LIST_PARAMS = {"node", "resource_class", "state", "owner", "marker", "limit"}
LIST_PARAMS |= {"sort_key", "sort_dir", "fields"}


def _available(ctx: Ctx, *, read: bool) -> None:
    """Below 1.52 allocations do not exist: 404 for reads, 405 for changes (as Ironic)."""
    if ctx.version < v.ENDPOINT_VERSIONS["allocations"]:
        msg = "The API version does not allow allocations"
        raise NotFound(msg) if read else MethodNotAllowed(msg)


def _render(ctx: Ctx, row: dict[str, Any], fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    chosen = fields or [f for f in FIELDS if v.visible(f, FIELD_VERSIONS, ctx.version)]
    out = {f: render.ts(row[f]) if f.endswith("_at") else row[f] for f in chosen}
    out["links"] = [
        {"href": f"{ctx.base}/v1/allocations/{row['uuid']}", "rel": "self"},
        {"href": f"{ctx.base}/allocations/{row['uuid']}", "rel": "bookmark"},
    ]
    return out


def _fields(ctx: Ctx, raw: str | None) -> tuple[str, ...] | None:
    return render.parse_fields(raw, (*FIELDS, "links"), FIELD_VERSIONS, ctx.version)


@router.get("/v1/allocations", summary="List allocations", dependencies=[Allow("node:read")])
@offload
def list_allocations(ctx: CtxDep) -> JSON:
    _available(ctx, read=True)
    q = ctx.query(LIST_PARAMS)
    if "owner" in q and ctx.version < v.ALLOCATION_OWNER:
        raise NotAcceptable(
            f"Request not acceptable. The minimal required API version should be "
            f"{v.fmt(v.ALLOCATION_OWNER)} for field owner"
        )
    fields = _fields(ctx, q.get("fields"))
    limit = parse_limit(q.get("limit"), ctx.svc.settings.api.max_limit)
    sort_key, sort_dir = q.get("sort_key", "id"), q.get("sort_dir", "asc")
    filters = {k: q.get(k) for k in ("node", "resource_class", "state", "owner")}
    rows = alloc_svc.list_allocations(
        ctx.svc, filters, sort_key=sort_key, sort_dir=sort_dir, marker=q.get("marker"), limit=limit
    )
    body: dict[str, Any] = {"allocations": [_render(ctx, r, fields) for r in rows]}
    params = {k: q[k] for k in LIST_PARAMS - {"marker", "limit"} if k in q}
    nxt = ctx.next_link("allocations", rows, limit, params)
    if nxt:
        body["next"] = nxt
    return JSON(body)


@router.post(
    "/v1/allocations",
    status_code=201,
    summary="Allocate a node",
    responses=_TOO_OLD,
    dependencies=[Allow("node:update")],
)
@offload
def create_allocation(ctx: CtxDep, body: JsonBody) -> JSON:
    _available(ctx, read=False)
    row = alloc_svc.create(ctx.svc, body, ctx.caller)
    return JSON(
        _render(ctx, row),
        status_code=201,
        headers={"Location": f"{ctx.base}/v1/allocations/{row['uuid']}"},
    )


@router.get(
    "/v1/allocations/{ident}", summary="Show an allocation", dependencies=[Allow("node:read")]
)
@offload
def get_allocation(ctx: CtxDep, ident: str) -> JSON:
    _available(ctx, read=True)
    fields = _fields(ctx, ctx.query({"fields"}).get("fields"))
    return JSON(_render(ctx, alloc_svc.get(ctx.svc, ident), fields))


@router.patch(
    "/v1/allocations/{ident}",
    summary="Change an allocation's name or extra (JSON patch)",
    responses=_TOO_OLD,
    dependencies=[Allow("node:update")],
)
@offload
def patch_allocation(ctx: CtxDep, ident: str, body: JsonBody) -> JSON:
    _available(ctx, read=False)
    if ctx.version < v.ALLOCATION_UPDATE:
        raise MethodNotAllowed("The API version does not allow updating allocations")
    return JSON(_render(ctx, alloc_svc.patch(ctx.svc, ident, body, ctx.caller)))


@router.delete(
    "/v1/allocations/{ident}",
    status_code=204,
    summary="Delete an allocation, freeing its node",
    responses=_TOO_OLD,
    dependencies=[Allow("node:update")],
)
@offload
def delete_allocation(ctx: CtxDep, ident: str) -> Response:
    _available(ctx, read=False)
    alloc_svc.delete(ctx.svc, ident, ctx.caller)
    return Response(status_code=204)


@router.get(
    "/v1/nodes/{ident}/allocation",
    summary="The allocation holding a node",
    dependencies=[Allow("node:read")],
)
@offload
def node_allocation(ctx: CtxDep, ident: str) -> JSON:
    _available(ctx, read=True)
    fields = _fields(ctx, ctx.query({"fields"}).get("fields"))
    return JSON(_render(ctx, alloc_svc.of_node(ctx.svc, ident), fields))


@router.delete(
    "/v1/nodes/{ident}/allocation",
    status_code=204,
    summary="Delete the allocation holding a node",
    # below 1.52 the node's sub-resource does not exist at all (404, as Ironic's node
    # controller answers for a sub-resource of a later version), not a 405
    responses={404: {"description": "No such node, no allocation, or API version below 1.52."}},
    dependencies=[Allow("node:update")],
)
@offload
def delete_node_allocation(ctx: CtxDep, ident: str) -> Response:
    _available(ctx, read=True)
    alloc_svc.delete_of_node(ctx.svc, ident, ctx.caller)
    return Response(status_code=204)
