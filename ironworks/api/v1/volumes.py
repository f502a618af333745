"""`/v1/volume`: volume connectors and targets, and a node's own lists of them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, parse_limit
from ironworks.api.v1 import render
from ironworks.domain import versions as v
from ironworks.services import volumes as volume_svc

router = APIRouter(tags=["discovery and inventory"])
JsonObject = Annotated[dict[str, Any], Body()]


def _volume(ctx: Ctx, which: str, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: val for k, val in row.items() if k not in ("id", "node_id")}
    out["created_at"], out["updated_at"] = (
        render.ts(row["created_at"]),
        render.ts(row["updated_at"]),
    )
    out["links"] = [
        {"href": f"{ctx.base}/v1/volume/{which}/{row['uuid']}", "rel": "self"},
        {"href": f"{ctx.base}/volume/{which}/{row['uuid']}", "rel": "bookmark"},
    ]
    return out


@router.get("/v1/volume", summary="Volume resources", dependencies=[Allow("node:read")])
@offload
def volume_root(ctx: CtxDep) -> JSON:
    v.require("volume", ctx.version)
    body: dict[str, Any] = {"links": [{"href": f"{ctx.base}/v1/volume/", "rel": "self"}]}
    for which in ("connectors", "targets"):
        body[which] = [{"href": f"{ctx.base}/v1/volume/{which}", "rel": "self"}]
    return JSON(body)


def _register_volume(which: str) -> None:
    @router.get(
        f"/v1/volume/{which}",
        summary=f"List volume {which}",
        name=f"list_volume_{which}",
        dependencies=[Allow("node:read")],
    )
    @router.get(
        f"/v1/volume/{which}/detail",
        include_in_schema=False,
        name=f"list_volume_{which}_detail",
        dependencies=[Allow("node:read")],
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
        dependencies=[Allow("node:update")],
    )
    def create(ctx: CtxDep, body: JsonObject) -> JSON:
        v.require("volume", ctx.version)
        row = volume_svc.create_volume(ctx.svc, which, body)
        return JSON(
            _volume(ctx, which, row),
            status_code=201,
            headers={"Location": f"{ctx.base}/v1/volume/{which}/{row['uuid']}"},
        )

    @router.get(
        f"/v1/volume/{which}/{{ident}}",
        summary=f"Show a volume {which[:-1]}",
        name=f"get_volume_{which}",
        dependencies=[Allow("node:read")],
    )
    def show(ctx: CtxDep, ident: str) -> JSON:
        v.require("volume", ctx.version)
        return JSON(_volume(ctx, which, volume_svc.get_volume(ctx.svc, which, ident)))

    @router.delete(
        f"/v1/volume/{which}/{{ident}}",
        status_code=204,
        summary=f"Delete a volume {which[:-1]}",
        name=f"delete_volume_{which}",
        dependencies=[Allow("node:update")],
    )
    def delete(ctx: CtxDep, ident: str) -> Response:
        v.require("volume", ctx.version)
        volume_svc.delete_volume(ctx.svc, which, ident)
        return Response(status_code=204)

    @router.get(
        f"/v1/nodes/{{node}}/volume/{which}",
        summary=f"The node's volume {which}",
        name=f"node_volume_{which}",
        dependencies=[Allow("node:read")],
    )
    def of_node(ctx: CtxDep, node: str) -> JSON:
        v.require("volume", ctx.version)
        rows = volume_svc.list_volume(ctx.svc, which, node, ctx.svc.settings.api.max_limit)
        return JSON({which: [_volume(ctx, which, r) for r in rows]})


_register_volume("connectors")
_register_volume("targets")
