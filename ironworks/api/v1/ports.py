"""`/v1/ports`, `/v1/portgroups` and the node's own lists of them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, parse_bool, parse_limit
from ironworks.api.v1 import render
from ironworks.common.errors import NotAcceptable
from ironworks.domain import versions as v
from ironworks.services import ports as port_svc

router = APIRouter(tags=["ports"])
JsonObject = Annotated[dict[str, Any], Body()]
JsonPatch = Annotated[list[dict[str, Any]], Body()]

_KINDS = {
    "ports": (port_svc.PORT, render.port, render.PORT_FIELDS, v.PORT_FIELD_VERSIONS),
    "portgroups": (
        port_svc.PORTGROUP,
        render.portgroup,
        render.PORTGROUP_FIELDS,
        v.PORTGROUP_FIELD_VERSIONS,
    ),
}


def _check_body(version: v.Version, table: dict[str, v.Version], fields: set[str]) -> None:
    for f in sorted(fields):
        if f in table and version < table[f]:
            raise NotAcceptable(f"field {f} needs API version {v.fmt(table[f])} or later")


def _list(
    ctx: Ctx,
    which: str,
    *,
    node: str | None = None,
    portgroup: str | None = None,
    detail_path: bool = False,
) -> dict[str, Any]:
    if which == "portgroups":
        v.require("portgroups", ctx.version)
    kind, draw, all_fields, table = _KINDS[which]
    q = ctx.query(
        {
            "node",
            "node_uuid",
            "portgroup",
            "address",
            "fields",
            "detail",
            "limit",
            "marker",
            "sort_key",
            "sort_dir",
            "shard",
            "conductor_groups",
        }
    )
    detail = detail_path or bool(parse_bool(q.get("detail"), "detail"))
    visible = tuple(f for f in all_fields if v.visible(f, table, ctx.version))
    fields = render.parse_fields(q.get("fields"), visible, table, ctx.version)
    if fields is None and not detail:
        fields = ("uuid", "address") if which == "ports" else ("uuid", "address", "name")
    limit = parse_limit(q.get("limit"), ctx.svc.settings.api.max_limit)
    rows = port_svc.list_(
        ctx.svc,
        kind,
        node=node or q.get("node") or q.get("node_uuid"),
        portgroup=portgroup or q.get("portgroup"),
        address=q.get("address"),
        sort_key=q.get("sort_key", "id"),
        sort_dir=q.get("sort_dir", "asc"),
        marker=q.get("marker"),
        limit=limit,
    )
    body: dict[str, Any] = {which: [draw(r, ctx.base, ctx.version, fields) for r in rows]}
    params = {"sort_key": q.get("sort_key", "id"), "sort_dir": q.get("sort_dir", "asc")}
    params.update({k: q[k] for k in ("node", "node_uuid", "portgroup", "address") if k in q})
    if q.get("fields"):
        params["fields"] = q["fields"]
    if "detail" in q:
        params["detail"] = q["detail"]
    nxt = ctx.next_link(f"{which}/detail" if detail_path else which, rows, limit, params)
    if nxt:
        body["next"] = nxt
    return body


def _register(which: str) -> None:
    """Register the routes of `which` (ports or portgroups), in this order: the collection,
    one item, a node's lists."""
    _register_collection(which)
    _register_item(which)
    _register_node_lists(which)


def _register_collection(which: str) -> None:
    """GET /v1/{which} and /v1/{which}/detail, POST /v1/{which}."""
    kind, draw, _, table = _KINDS[which]

    @router.get(
        f"/v1/{which}",
        summary=f"List {which}",
        name=f"list_{which}",
        dependencies=[Allow("node:read")],
    )
    @offload
    def list_all(ctx: CtxDep) -> JSON:
        return JSON(_list(ctx, which))

    @router.get(
        f"/v1/{which}/detail",
        summary=f"List {which} with every field",
        name=f"list_{which}_detail",
        dependencies=[Allow("node:read")],
    )
    def list_detail(ctx: CtxDep) -> JSON:
        return JSON(_list(ctx, which, detail_path=True))

    @router.post(
        f"/v1/{which}",
        status_code=201,
        summary=f"Create a {kind.word.lower()}",
        name=f"create_{which}",
        dependencies=[Allow(f"{which[:-1]}:create")],
    )
    def create(ctx: CtxDep, body: JsonObject) -> JSON:
        if which == "portgroups":
            v.require("portgroups", ctx.version)
        if "node_ident" in body and "node_uuid" not in body:
            body = {
                **{k: val for k, val in body.items() if k != "node_ident"},
                "node_uuid": body["node_ident"],
            }
        _check_body(ctx.version, table, set(body))
        row = port_svc.create(ctx.svc, kind, body, ctx.caller)
        return JSON(
            draw(row, ctx.base, ctx.version),
            status_code=201,
            headers={"Location": f"{ctx.base}/v1/{which}/{row['uuid']}"},
        )


def _register_item(which: str) -> None:
    """GET, PATCH and DELETE /v1/{which}/{ident}."""
    kind, draw, all_fields, table = _KINDS[which]

    @router.get(
        f"/v1/{which}/{{ident}}",
        summary=f"Show a {kind.word.lower()}",
        name=f"get_{which}",
        dependencies=[Allow("node:read")],
    )
    def show(ctx: CtxDep, ident: str) -> JSON:
        q = ctx.query({"fields"})
        visible = tuple(f for f in all_fields if v.visible(f, table, ctx.version))
        fields = render.parse_fields(q.get("fields"), visible, table, ctx.version)
        return JSON(draw(port_svc.get(ctx.svc, kind, ident), ctx.base, ctx.version, fields))

    @router.patch(
        f"/v1/{which}/{{ident}}",
        summary=f"Update a {kind.word.lower()}",
        name=f"patch_{which}",
        dependencies=[Allow(f"{which[:-1]}:update")],
    )
    def patch(ctx: CtxDep, ident: str, body: JsonPatch) -> JSON:
        _check_body(
            ctx.version,
            table,
            {str(op.get("path", "/")).split("/")[1] for op in body if isinstance(op, dict)},
        )
        return JSON(
            draw(port_svc.patch(ctx.svc, kind, ident, body, ctx.caller), ctx.base, ctx.version)
        )

    @router.delete(
        f"/v1/{which}/{{ident}}",
        status_code=204,
        summary=f"Delete a {kind.word.lower()}",
        name=f"delete_{which}",
        dependencies=[Allow(f"{which[:-1]}:delete")],
    )
    def delete(ctx: CtxDep, ident: str) -> Response:
        port_svc.delete(ctx.svc, kind, ident, ctx.caller)
        return Response(status_code=204)


def _register_node_lists(which: str) -> None:
    """GET /v1/nodes/{node}/{which} and its /detail."""

    @router.get(
        f"/v1/nodes/{{node}}/{which}",
        summary=f"The node's {which}",
        name=f"node_{which}",
        dependencies=[Allow("node:read")],
    )
    @offload
    def of_node(ctx: CtxDep, node: str) -> JSON:
        return JSON(_list(ctx, which, node=node))

    @router.get(
        f"/v1/nodes/{{node}}/{which}/detail",
        summary=f"The node's {which}, every field",
        name=f"node_{which}_detail",
        dependencies=[Allow("node:read")],
    )
    def of_node_detail(ctx: CtxDep, node: str) -> JSON:
        return JSON(_list(ctx, which, node=node, detail_path=True))


_register("ports")
_register("portgroups")


@router.get(
    "/v1/portgroups/{ident}/ports",
    summary="Ports in a portgroup",
    dependencies=[Allow("node:read")],
)
@offload
def portgroup_ports(ctx: CtxDep, ident: str) -> JSON:
    return JSON(_list(ctx, "ports", portgroup=ident))


@router.get(
    "/v1/portgroups/{ident}/ports/detail",
    summary="Ports in a portgroup, every field",
    dependencies=[Allow("node:read")],
)
@offload
def portgroup_ports_detail(ctx: CtxDep, ident: str) -> JSON:
    return JSON(_list(ctx, "ports", portgroup=ident, detail_path=True))
