"""`/v1/chassis`: Ironic's chassis, a group of nodes (services/chassis.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, parse_bool, parse_limit
from ironworks.api.v1 import render
from ironworks.common.errors import InvalidInput
from ironworks.services import chassis as chassis_svc

router = APIRouter(tags=["discovery and inventory"])
JsonObject = Annotated[dict[str, Any], Body()]
JsonPatch = Annotated[list[dict[str, Any]], Body()]


# The fields `?fields=` may name (Ironic's chassis; none is newer than 1.8).
FIELDS = ("uuid", "description", "extra", "created_at", "updated_at", "nodes")


def _fields(ctx: Ctx, raw: str | None) -> tuple[str, ...] | None:
    return render.parse_fields(raw, (*FIELDS, "links"), {}, ctx.version)


def _chassis(
    ctx: Ctx, row: dict[str, Any], fields: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """A chassis as Ironic shows it; with `fields`, only those and the links (as Ironic)."""
    out = {
        "uuid": row["uuid"],
        "description": row["description"],
        "extra": row["extra"],
        "created_at": render.ts(row["created_at"]),
        "updated_at": render.ts(row["updated_at"]),
        "links": [
            {"href": f"{ctx.base}/v1/chassis/{row['uuid']}", "rel": "self"},
            {"href": f"{ctx.base}/chassis/{row['uuid']}", "rel": "bookmark"},
        ],
        "nodes": [
            {"href": f"{ctx.base}/v1/chassis/{row['uuid']}/nodes", "rel": "self"},
            {"href": f"{ctx.base}/chassis/{row['uuid']}/nodes", "rel": "bookmark"},
        ],
    }
    if fields is None:
        return out
    return {k: out[k] for k in (*fields, "links") if k in out}


@router.get("/v1/chassis", summary="List chassis", dependencies=[Allow("node:read")])
@router.get("/v1/chassis/detail", include_in_schema=False, dependencies=[Allow("node:read")])
@offload
def list_chassis(ctx: CtxDep) -> JSON:
    q = ctx.query({"limit", "marker", "fields", "detail", "sort_key", "sort_dir"})
    limit = parse_limit(q.get("limit"), ctx.svc.settings.api.max_limit)
    fields = _fields(ctx, q.get("fields"))
    if fields is not None and parse_bool(q.get("detail"), "detail"):
        raise InvalidInput(
            "Can not specify ?detail=True and fields in the same request.", field="fields"
        )
    rows = chassis_svc.list_chassis(ctx.svc, limit, q.get("marker"))
    body: dict[str, Any] = {"chassis": [_chassis(ctx, r, fields) for r in rows]}
    nxt = ctx.next_link("chassis", rows, limit, {"fields": q["fields"]} if "fields" in q else {})
    if nxt:
        body["next"] = nxt
    return JSON(body)


@router.post(
    "/v1/chassis", status_code=201, summary="Create a chassis", dependencies=[Allow("node:update")]
)
@offload
def create_chassis(ctx: CtxDep, body: JsonObject) -> JSON:
    row = chassis_svc.create_chassis(ctx.svc, body)
    ctx.request.app.state.chassis_cache.cache_clear()
    return JSON(
        _chassis(ctx, row),
        status_code=201,
        headers={"Location": f"{ctx.base}/v1/chassis/{row['uuid']}"},
    )


@router.get("/v1/chassis/{ident}", summary="Show a chassis", dependencies=[Allow("node:read")])
@offload
def get_chassis(ctx: CtxDep, ident: str) -> JSON:
    fields = _fields(ctx, ctx.query({"fields"}).get("fields"))
    return JSON(_chassis(ctx, chassis_svc.get_chassis(ctx.svc, ident), fields))


@router.patch(
    "/v1/chassis/{ident}", summary="Update a chassis", dependencies=[Allow("node:update")]
)
@offload
def patch_chassis(ctx: CtxDep, ident: str, body: JsonPatch) -> JSON:
    return JSON(_chassis(ctx, chassis_svc.patch_chassis(ctx.svc, ident, body)))


@router.delete(
    "/v1/chassis/{ident}",
    status_code=204,
    summary="Delete a chassis",
    dependencies=[Allow("node:update")],
)
@offload
def delete_chassis(ctx: CtxDep, ident: str) -> Response:
    chassis_svc.delete_chassis(ctx.svc, ident)
    ctx.request.app.state.chassis_cache.cache_clear()
    return Response(status_code=204)
