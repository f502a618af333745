"""`/v1/volume`: volume connectors and targets, and a node's own lists of them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, parse_bool, parse_limit
from ironworks.api.v1 import render
from ironworks.common.errors import InvalidInput
from ironworks.domain import versions as v
from ironworks.services import volumes as volume_svc

router = APIRouter(tags=["discovery and inventory"])
JsonObject = Annotated[dict[str, Any], Body()]
JsonBody = Annotated[Any, Body()]

# Every field of a connector or target, and what a list shows without ?detail=True (Ironic's).
FIELDS = {
    "connectors": (
        "uuid",
        "node_uuid",
        "type",
        "connector_id",
        "extra",
        "created_at",
        "updated_at",
    ),
    "targets": (
        "uuid",
        "node_uuid",
        "volume_type",
        "properties",
        "boot_index",
        "volume_id",
        "extra",
        "created_at",
        "updated_at",
    ),
}
SHORT = {
    "connectors": ("uuid", "node_uuid", "type", "connector_id"),
    "targets": ("uuid", "node_uuid", "volume_type", "boot_index", "volume_id"),
}


def _volume(
    ctx: Ctx, which: str, row: dict[str, Any], fields: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """A connector or target as Ironic shows it; with `fields`, only those and the links."""
    out = {f: render.ts(row[f]) if f.endswith("_at") else row[f] for f in fields or FIELDS[which]}
    out["links"] = [
        {"href": f"{ctx.base}/v1/volume/{which}/{row['uuid']}", "rel": "self"},
        {"href": f"{ctx.base}/volume/{which}/{row['uuid']}", "rel": "bookmark"},
    ]
    return out


def _fields(ctx: Ctx, which: str, raw: str | None) -> tuple[str, ...] | None:
    fields = render.parse_fields(raw, (*FIELDS[which], "links"), {}, ctx.version)
    return None if fields is None else tuple(f for f in fields if f != "links")


def _listed(ctx: Ctx, which: str, q: dict[str, str], detail_path: bool) -> tuple[str, ...]:
    """The fields a list shows: `fields`, everything with detail, else Ironic's short form."""
    fields = _fields(ctx, which, q.get("fields"))
    detail = detail_path or bool(parse_bool(q.get("detail"), "detail"))
    if fields is not None and detail:
        raise InvalidInput(
            "Can not specify ?detail=True and fields in the same request.", field="fields"
        )
    return fields or (FIELDS[which] if detail else SHORT[which])


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
        shown = _listed(ctx, which, q, ctx.request.url.path.rstrip("/").endswith("/detail"))
        limit = parse_limit(q.get("limit"), ctx.svc.settings.api.max_limit)
        rows = volume_svc.list_volume(ctx.svc, which, q.get("node"), limit)
        return JSON({which: [_volume(ctx, which, r, shown) for r in rows]})

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
        fields = _fields(ctx, which, ctx.query({"fields"}).get("fields"))
        return JSON(_volume(ctx, which, volume_svc.get_volume(ctx.svc, which, ident), fields))

    @router.patch(
        f"/v1/volume/{which}/{{ident}}",
        summary=f"Change a volume {which[:-1]} (JSON patch; its node powered off)",
        name=f"patch_volume_{which}",
        dependencies=[Allow("node:update")],
    )
    def patch(ctx: CtxDep, ident: str, body: JsonBody) -> JSON:
        v.require("volume", ctx.version)
        return JSON(_volume(ctx, which, volume_svc.patch_volume(ctx.svc, which, ident, body)))

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
        q = ctx.query({"detail", "fields", "limit", "marker", "sort_key", "sort_dir"})
        shown = _listed(ctx, which, q, False)
        rows = volume_svc.list_volume(ctx.svc, which, node, ctx.svc.settings.api.max_limit)
        return JSON({which: [_volume(ctx, which, r, shown) for r in rows]})


_register_volume("connectors")
_register_volume("targets")
