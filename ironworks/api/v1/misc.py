"""Version discovery, chassis, drivers, conductors, volume connectors and targets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from ironworks.api.deps import JSON, Ctx, CtxDep, offload, parse_bool, parse_limit
from ironworks.api.v1 import render
from ironworks.domain import versions as v
from ironworks.drivers.base import INTERFACE_KINDS
from ironworks.services import chassis as chassis_svc
from ironworks.services import conductors as conductor_svc
from ironworks.services import drivers as driver_svc
from ironworks.services import volumes as volume_svc

router = APIRouter(tags=["discovery and inventory"])
JsonObject = Annotated[dict[str, Any], Body()]
JsonPatch = Annotated[list[dict[str, Any]], Body()]

V1_RESOURCES = ("chassis", "conductors", "drivers", "nodes", "portgroups", "ports", "volume")


def _version_doc(base: str) -> dict[str, Any]:
    return {
        "id": "v1",
        "links": [{"href": f"{base}/v1/", "rel": "self"}],
        "min_version": v.fmt(v.MIN_VERSION),
        "status": "CURRENT",
        "version": v.fmt(v.MAX_VERSION),
    }


@router.get("/", summary="API versions")
@offload
def root(ctx: CtxDep) -> JSON:
    doc = _version_doc(ctx.base)
    return JSON({
        "name": "OpenStack Ironic API",
        "description": "Ironworks: a bare-metal cloud, speaking the OpenStack Ironic v1 API.",
        "default_version": doc,
        "versions": [doc],
    })  # fmt: skip


@router.get("/v1", summary="The v1 API and its resources")
@router.get("/v1/", include_in_schema=False)
@offload
def v1(ctx: CtxDep) -> JSON:
    body: dict[str, Any] = {
        "id": "v1",
        "links": [{"href": f"{ctx.base}/v1/", "rel": "self"},
                  {"href": f"{ctx.base}/docs", "rel": "describedby", "type": "text/html"}],
        "media_types": {"base": "application/json", "type": "application/vnd.openstack.ironic.v1+json"},
        "version": _version_doc(ctx.base),
    }  # fmt: skip
    for r in V1_RESOURCES:
        body[r] = [
            {"href": f"{ctx.base}/v1/{r}/", "rel": "self"},
            {"href": f"{ctx.base}/{r}/", "rel": "bookmark"},
        ]
    return JSON(body)


# --- chassis -------------------------------------------------------------------------------------


def _chassis(ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": row["uuid"], "description": row["description"], "extra": row["extra"],
        "created_at": render.ts(row["created_at"]), "updated_at": render.ts(row["updated_at"]),
        "links": [{"href": f"{ctx.base}/v1/chassis/{row['uuid']}", "rel": "self"},
                  {"href": f"{ctx.base}/chassis/{row['uuid']}", "rel": "bookmark"}],
        "nodes": [{"href": f"{ctx.base}/v1/chassis/{row['uuid']}/nodes", "rel": "self"},
                  {"href": f"{ctx.base}/chassis/{row['uuid']}/nodes", "rel": "bookmark"}],
    }  # fmt: skip


@router.get("/v1/chassis", summary="List chassis")
@router.get("/v1/chassis/detail", include_in_schema=False)
@offload
def list_chassis(ctx: CtxDep) -> JSON:
    q = ctx.query({"limit", "marker", "fields", "detail", "sort_key", "sort_dir"})
    limit = parse_limit(q.get("limit"), ctx.svc.settings.api.max_limit)
    rows = chassis_svc.list_chassis(ctx.svc, limit, q.get("marker"))
    body: dict[str, Any] = {"chassis": [_chassis(ctx, r) for r in rows]}
    nxt = ctx.next_link("chassis", rows, limit, {})
    if nxt:
        body["next"] = nxt
    return JSON(body)


@router.post("/v1/chassis", status_code=201, summary="Create a chassis")
@offload
def create_chassis(ctx: CtxDep, body: JsonObject) -> JSON:
    row = chassis_svc.create_chassis(ctx.svc, body)
    ctx.request.app.state.chassis_cache.cache_clear()
    return JSON(
        _chassis(ctx, row),
        status_code=201,
        headers={"Location": f"{ctx.base}/v1/chassis/{row['uuid']}"},
    )


@router.get("/v1/chassis/{ident}", summary="Show a chassis")
@offload
def get_chassis(ctx: CtxDep, ident: str) -> JSON:
    return JSON(_chassis(ctx, chassis_svc.get_chassis(ctx.svc, ident)))


@router.patch("/v1/chassis/{ident}", summary="Update a chassis")
@offload
def patch_chassis(ctx: CtxDep, ident: str, body: JsonPatch) -> JSON:
    return JSON(_chassis(ctx, chassis_svc.patch_chassis(ctx.svc, ident, body)))


@router.delete("/v1/chassis/{ident}", status_code=204, summary="Delete a chassis")
@offload
def delete_chassis(ctx: CtxDep, ident: str) -> Response:
    chassis_svc.delete_chassis(ctx.svc, ident)
    ctx.request.app.state.chassis_cache.cache_clear()
    return Response(status_code=204)


# --- drivers -------------------------------------------------------------------------------------


def _driver(ctx: Ctx, d: dict[str, Any], detail: bool) -> dict[str, Any]:
    name = d["name"]
    out: dict[str, Any] = {
        "name": name, "hosts": d["hosts"], "type": "dynamic",
        "links": [{"href": f"{ctx.base}/v1/drivers/{name}", "rel": "self"},
                  {"href": f"{ctx.base}/drivers/{name}", "rel": "bookmark"}],
        "properties": [{"href": f"{ctx.base}/v1/drivers/{name}/properties", "rel": "self"},
                       {"href": f"{ctx.base}/drivers/{name}/properties", "rel": "bookmark"}],
    }  # fmt: skip
    if detail:
        hw = d["hw"]
        for kind in INTERFACE_KINDS:
            out[f"default_{kind}_interface"] = hw.default(kind)
            out[f"enabled_{kind}_interfaces"] = hw.names(kind)
    return out


@router.get("/v1/drivers", summary="List hardware types")
@offload
def list_drivers(ctx: CtxDep) -> JSON:
    q = ctx.query({"type", "detail", "fields"})
    if q.get("type") == "classic":
        return JSON({"drivers": []})
    detail = bool(parse_bool(q.get("detail"), "detail"))
    return JSON({"drivers": [_driver(ctx, d, detail) for d in driver_svc.list_drivers(ctx.svc)]})


@router.get("/v1/drivers/{name}", summary="Show a hardware type")
@offload
def get_driver(ctx: CtxDep, name: str) -> JSON:
    return JSON(_driver(ctx, driver_svc.get_driver(ctx.svc, name), True))


@router.get("/v1/drivers/{name}/properties", summary="driver_info properties of a hardware type")
@offload
def driver_properties(ctx: CtxDep, name: str) -> JSON:
    hw = driver_svc.get_driver(ctx.svc, name)["hw"]
    out = {}
    for p in hw.properties().values():
        out[p.name] = p.description + (" Required." if p.required else "")
    return JSON(out)


# --- conductors ----------------------------------------------------------------------------------


def _conductor(ctx: Ctx, c: dict[str, Any], detail: bool) -> dict[str, Any]:
    h = c["hostname"]
    out: dict[str, Any] = {
        "hostname": h, "conductor_group": c["conductor_group"], "alive": c["alive"],
        "links": [{"href": f"{ctx.base}/v1/conductors/{h}", "rel": "self"},
                  {"href": f"{ctx.base}/conductors/{h}", "rel": "bookmark"}],
    }  # fmt: skip
    if detail:
        out.update(
            created_at=render.ts(c["created_at"]),
            updated_at=render.ts(c["updated_at"]),
            drivers=c["drivers"],
        )
    return out


@router.get("/v1/conductors", summary="List conductors")
@offload
def list_conductors(ctx: CtxDep) -> JSON:
    v.require("conductors", ctx.version)
    q = ctx.query({"detail", "fields", "limit", "marker", "sort_key", "sort_dir"})
    detail = bool(parse_bool(q.get("detail"), "detail"))
    return JSON(
        {"conductors": [_conductor(ctx, c, detail) for c in conductor_svc.list_conductors(ctx.svc)]}
    )


@router.get("/v1/conductors/{hostname}", summary="Show a conductor")
@offload
def get_conductor(ctx: CtxDep, hostname: str) -> JSON:
    v.require("conductors", ctx.version)
    return JSON(_conductor(ctx, conductor_svc.get_conductor(ctx.svc, hostname), True))


# --- volume --------------------------------------------------------------------------------------


def _volume(ctx: Ctx, which: str, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: val for k, val in row.items() if k not in ("id", "node_id")}
    out["created_at"], out["updated_at"] = (
        render.ts(row["created_at"]),
        render.ts(row["updated_at"]),
    )
    out["links"] = [{"href": f"{ctx.base}/v1/volume/{which}/{row['uuid']}", "rel": "self"},
                    {"href": f"{ctx.base}/volume/{which}/{row['uuid']}", "rel": "bookmark"}]  # fmt: skip
    return out


@router.get("/v1/volume", summary="Volume resources")
@offload
def volume_root(ctx: CtxDep) -> JSON:
    v.require("volume", ctx.version)
    body: dict[str, Any] = {"links": [{"href": f"{ctx.base}/v1/volume/", "rel": "self"}]}
    for which in ("connectors", "targets"):
        body[which] = [{"href": f"{ctx.base}/v1/volume/{which}", "rel": "self"}]
    return JSON(body)


def _register_volume(which: str) -> None:
    @router.get(f"/v1/volume/{which}", summary=f"List volume {which}", name=f"list_volume_{which}")
    @router.get(
        f"/v1/volume/{which}/detail", include_in_schema=False, name=f"list_volume_{which}_detail"
    )
    def list_all(ctx: CtxDep) -> JSON:
        v.require("volume", ctx.version)
        q = ctx.query({"node", "detail", "fields", "limit", "marker", "sort_key", "sort_dir"})
        limit = parse_limit(q.get("limit"), ctx.svc.settings.api.max_limit)
        rows = volume_svc.list_volume(ctx.svc, which, q.get("node"), limit)
        return JSON({which: [_volume(ctx, which, r) for r in rows]})

    @router.post(
        f"/v1/volume/{which}",
        status_code=201,
        summary=f"Create a volume {which[:-1]}",
        name=f"create_volume_{which}",
    )
    def create(ctx: CtxDep, body: JsonObject) -> JSON:
        v.require("volume", ctx.version)
        row = volume_svc.create_volume(ctx.svc, which, body)
        return JSON(_volume(ctx, which, row), status_code=201,
                    headers={"Location": f"{ctx.base}/v1/volume/{which}/{row['uuid']}"})  # fmt: skip

    @router.get(
        f"/v1/volume/{which}/{{ident}}",
        summary=f"Show a volume {which[:-1]}",
        name=f"get_volume_{which}",
    )
    def show(ctx: CtxDep, ident: str) -> JSON:
        v.require("volume", ctx.version)
        return JSON(_volume(ctx, which, volume_svc.get_volume(ctx.svc, which, ident)))

    @router.delete(
        f"/v1/volume/{which}/{{ident}}",
        status_code=204,
        summary=f"Delete a volume {which[:-1]}",
        name=f"delete_volume_{which}",
    )
    def delete(ctx: CtxDep, ident: str) -> Response:
        v.require("volume", ctx.version)
        volume_svc.delete_volume(ctx.svc, which, ident)
        return Response(status_code=204)

    @router.get(
        f"/v1/nodes/{{node}}/volume/{which}",
        summary=f"The node's volume {which}",
        name=f"node_volume_{which}",
    )
    def of_node(ctx: CtxDep, node: str) -> JSON:
        v.require("volume", ctx.version)
        rows = volume_svc.list_volume(ctx.svc, which, node, ctx.svc.settings.api.max_limit)
        return JSON({which: [_volume(ctx, which, r) for r in rows]})


_register_volume("connectors")
_register_volume("targets")
