"""`/v1/conductors`: the conductors alive or gone, their groups and hardware types."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, parse_bool
from ironworks.api.v1 import render
from ironworks.common.errors import InvalidInput
from ironworks.domain import versions as v
from ironworks.services import conductors as conductor_svc

router = APIRouter(tags=["discovery and inventory"])


def _conductor(ctx: Ctx, c: dict[str, Any], detail: bool) -> dict[str, Any]:
    h = c["hostname"]
    out: dict[str, Any] = {
        "hostname": h,
        "conductor_group": c["conductor_group"],
        "alive": c["alive"],
        "links": [
            {"href": f"{ctx.base}/v1/conductors/{h}", "rel": "self"},
            {"href": f"{ctx.base}/conductors/{h}", "rel": "bookmark"},
        ],
    }
    if detail:
        out.update(
            created_at=render.ts(c["created_at"]),
            updated_at=render.ts(c["updated_at"]),
            drivers=c["drivers"],
        )
    return out


FIELDS = ("hostname", "conductor_group", "alive", "drivers", "created_at", "updated_at", "links")


def _fields(ctx: Ctx, raw: str | None) -> tuple[str, ...] | None:
    return render.parse_fields(raw, FIELDS, {}, ctx.version)


@router.get("/v1/conductors", summary="List conductors", dependencies=[Allow("node:read")])
@offload
def list_conductors(ctx: CtxDep) -> JSON:
    v.require("conductors", ctx.version)
    q = ctx.query({"detail", "fields", "limit", "marker", "sort_key", "sort_dir"})
    detail = bool(parse_bool(q.get("detail"), "detail"))
    fields = _fields(ctx, q.get("fields"))
    if fields is not None and detail:
        raise InvalidInput(
            "Can not specify ?detail=True and fields in the same request.", field="fields"
        )
    rows = conductor_svc.list_conductors(ctx.svc)
    return JSON(
        {"conductors": [render.only(_conductor(ctx, c, True), fields) for c in rows]}
        if fields
        else {"conductors": [_conductor(ctx, c, detail) for c in rows]}
    )


@router.get(
    "/v1/conductors/{hostname}", summary="Show a conductor", dependencies=[Allow("node:read")]
)
@offload
def get_conductor(ctx: CtxDep, hostname: str) -> JSON:
    v.require("conductors", ctx.version)
    fields = _fields(ctx, ctx.query({"fields"}).get("fields"))
    row = conductor_svc.get_conductor(ctx.svc, hostname)
    return JSON(render.only(_conductor(ctx, row, True), fields))
