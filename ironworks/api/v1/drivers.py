"""`/v1/drivers`: the hardware types, their interfaces and driver_info properties."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, parse_bool
from ironworks.api.v1 import render
from ironworks.common.errors import InvalidInput
from ironworks.domain import versions as v
from ironworks.domain.nodes import INTERFACE_KINDS
from ironworks.services import drivers as driver_svc

router = APIRouter(tags=["discovery and inventory"])


def _driver(ctx: Ctx, d: dict[str, Any], detail: bool) -> dict[str, Any]:
    name = d["name"]
    out: dict[str, Any] = {
        "name": name,
        "hosts": d["hosts"],
        "type": "dynamic",
        "links": [
            {"href": f"{ctx.base}/v1/drivers/{name}", "rel": "self"},
            {"href": f"{ctx.base}/drivers/{name}", "rel": "bookmark"},
        ],
        "properties": [
            {"href": f"{ctx.base}/v1/drivers/{name}/properties", "rel": "self"},
            {"href": f"{ctx.base}/drivers/{name}/properties", "rel": "bookmark"},
        ],
    }
    if detail:
        hw = d["hw"]
        for kind in INTERFACE_KINDS:
            out[f"default_{kind}_interface"] = hw.default(kind)
            out[f"enabled_{kind}_interfaces"] = hw.names(kind)
    return out


FIELDS = (
    "name",
    "hosts",
    "type",
    "links",
    "properties",
    *(f"default_{k}_interface" for k in INTERFACE_KINDS),
    *(f"enabled_{k}_interfaces" for k in INTERFACE_KINDS),
)


def _fields(ctx: Ctx, raw: str | None) -> tuple[str, ...] | None:
    return render.parse_fields(raw, FIELDS, {}, ctx.version)


@router.get("/v1/drivers", summary="List hardware types", dependencies=[Allow("node:read")])
@offload
def list_drivers(ctx: CtxDep) -> JSON:
    q = ctx.query({"type", "detail", "fields"})
    if q.get("type") == "classic":
        return JSON({"drivers": []})
    detail = bool(parse_bool(q.get("detail"), "detail"))
    fields = _fields(ctx, q.get("fields"))
    if fields is not None and detail:
        raise InvalidInput(
            "Can not specify ?detail=True and fields in the same request.", field="fields"
        )
    rows = driver_svc.list_drivers(ctx.svc)
    if fields:
        return JSON({"drivers": [render.only(_driver(ctx, d, True), fields) for d in rows]})
    return JSON({"drivers": [_driver(ctx, d, detail) for d in rows]})


@router.get("/v1/drivers/{name}", summary="Show a hardware type", dependencies=[Allow("node:read")])
@offload
def get_driver(ctx: CtxDep, name: str) -> JSON:
    fields = _fields(ctx, ctx.query({"fields"}).get("fields"))
    return JSON(render.only(_driver(ctx, driver_svc.get_driver(ctx.svc, name), True), fields))


@router.get(
    "/v1/drivers/{name}/properties",
    summary="driver_info properties of a hardware type",
    dependencies=[Allow("node:read")],
)
@offload
def driver_properties(ctx: CtxDep, name: str) -> JSON:
    hw = driver_svc.get_driver(ctx.svc, name)["hw"]
    out = {}
    for p in hw.properties().values():
        out[p.name] = p.description + (" Required." if p.required else "")
    return JSON(out)


@router.get(
    "/v1/drivers/{name}/raid/logical_disk_properties",
    summary="What a logical disk of target_raid_config may say, for this hardware type",
    dependencies=[Allow("node:read")],
)
@offload
def raid_logical_disk_properties(ctx: CtxDep, name: str) -> JSON:
    v.require("raid", ctx.version)
    return JSON(driver_svc.logical_disk_properties(ctx.svc, name))
