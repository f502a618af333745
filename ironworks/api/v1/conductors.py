"""`/v1/conductors`: the conductors alive or gone, their groups and hardware types."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, parse_bool
from ironworks.api.v1 import render
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


@router.get("/v1/conductors", summary="List conductors", dependencies=[Allow("node:read")])
@offload
def list_conductors(ctx: CtxDep) -> JSON:
    v.require("conductors", ctx.version)
    q = ctx.query({"detail", "fields", "limit", "marker", "sort_key", "sort_dir"})
    detail = bool(parse_bool(q.get("detail"), "detail"))
    return JSON(
        {"conductors": [_conductor(ctx, c, detail) for c in conductor_svc.list_conductors(ctx.svc)]}
    )


@router.get(
    "/v1/conductors/{hostname}", summary="Show a conductor", dependencies=[Allow("node:read")]
)
@offload
def get_conductor(ctx: CtxDep, hostname: str) -> JSON:
    v.require("conductors", ctx.version)
    return JSON(_conductor(ctx, conductor_svc.get_conductor(ctx.svc, hostname), True))
