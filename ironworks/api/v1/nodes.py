"""`/v1/nodes`: Ironic's node API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, offload_hardware, parse_bool, parse_limit
from ironworks.api.v1 import render
from ironworks.common.errors import InvalidInput, NotAcceptable
from ironworks.domain import states
from ironworks.domain import versions as v
from ironworks.services import conductors, consoles, hostnics, operations
from ironworks.services import nodes as node_svc
from ironworks.services import traits as trait_svc

router = APIRouter(prefix="/v1/nodes", tags=["nodes"])

JsonObject = Annotated[dict[str, Any], Body()]
JsonPatch = Annotated[list[dict[str, Any]], Body()]

LIST_FILTERS = v.NODE_FILTER_VERSIONS
LIST_PARAMS = {*LIST_FILTERS, "fields", "detail", "limit", "marker", "sort_key", "sort_dir"}


def renderer(ctx: Ctx) -> render.NodeRenderer:
    app_state = ctx.request.app.state
    cmap: conductors.ConductorMap = app_state.conductor_map
    return render.NodeRenderer(
        ctx.base, ctx.version, conductor_of=cmap.owner, chassis_uuids=app_state.chassis_cache()
    )


def _status(code: int, location: str | None = None) -> Response:
    headers = {"Location": location} if location else None
    return Response(status_code=code, headers=headers)


def _list(ctx: Ctx, detail_path: bool) -> dict[str, Any]:
    q = ctx.query(LIST_PARAMS - ({"fields", "detail"} if detail_path else set()))
    filters: dict[str, Any] = {}
    for key, needed in LIST_FILTERS.items():
        if key in q:
            if ctx.version < needed:
                raise NotAcceptable(
                    f"Request not acceptable. The minimal required API version should be {v.fmt(needed)}"
                )
            raw = q[key]
            if key in ("associated", "maintenance", "retired", "include_children"):
                filters[key] = parse_bool(raw, key)
            elif key == "provision_state":
                if raw not in states.ALL_STATES:
                    raise InvalidInput(
                        f"provision_state {raw!r} is not a state", field="provision_state"
                    )
                filters[key] = raw
            else:
                filters[key] = raw
    conductor = filters.pop("conductor", None)
    if "parent_node" not in filters and "include_children" not in filters:
        filters["include_children"] = False
    detail = detail_path
    if "detail" in q:
        if ctx.version < v.DETAIL_PARAM:
            raise InvalidInput(
                f"Invalid query parameter ?detail={q['detail']} for this API version",
                field="detail",
            )
        detail = bool(parse_bool(q["detail"], "detail"))
    fields = render.parse_fields(
        q.get("fields"), render.node_fields(ctx.version), v.NODE_FIELD_VERSIONS, ctx.version
    )
    if fields is not None and detail:
        raise InvalidInput(
            "Can not specify ?detail=True and fields in the same request.", field="fields"
        )
    if fields is None and not detail:
        fields = render.NODE_DEFAULT_LIST_FIELDS
    limit = parse_limit(q.get("limit"), ctx.svc.settings.api.max_limit)
    sort_key, sort_dir = q.get("sort_key", "id"), q.get("sort_dir", "asc")
    if sort_key in v.NODE_FIELD_VERSIONS and ctx.version < v.NODE_FIELD_VERSIONS[sort_key]:
        raise NotAcceptable("Request not acceptable.")
    columns = None if fields is None else {f for f in fields if f in node_svc.COLUMNS}
    rows = node_svc.list_nodes(
        ctx.svc,
        filters=filters,
        sort_key=sort_key,
        sort_dir=sort_dir,
        marker=q.get("marker"),
        limit=limit,
        columns=columns,
    )
    r = renderer(ctx)
    if conductor is not None:
        rows = [n for n in rows if r.conductor_of(n) == conductor]
    items = [r.render(n, fields) for n in rows]
    body: dict[str, Any] = {"nodes": items}
    # Every filter of this request goes into `next`: a page two that forgot the filter
    # would list other nodes (Ironic carries only some of them; clients follow `next` as is).
    params: dict[str, Any] = {"sort_key": sort_key, "sort_dir": sort_dir}
    params.update({k: q[k] for k in LIST_FILTERS if k in q})
    if "detail" in q:
        params["detail"] = q["detail"]
    if q.get("fields") or (not detail and not detail_path):
        params["fields"] = ",".join(fields or ())
    if "instance_uuid" not in filters:
        nxt = ctx.next_link("nodes/detail" if detail_path else "nodes", rows, limit, params)
        if nxt:
            body["next"] = nxt
    return body


@router.get("", summary="List nodes", dependencies=[Allow("node:read")])
@offload
def list_nodes(ctx: CtxDep) -> JSON:
    return JSON(_list(ctx, detail_path=False))


@router.get("/detail", summary="List nodes with every field", dependencies=[Allow("node:read")])
@offload
def list_nodes_detail(ctx: CtxDep) -> JSON:
    return JSON(_list(ctx, detail_path=True))


@router.post("", status_code=201, summary="Enrol a node", dependencies=[Allow("node:create")])
@offload
def create_node(ctx: CtxDep, body: JsonObject) -> JSON:
    node = node_svc.create_node(ctx.svc, body, ctx.caller)
    out = renderer(ctx).render(node)
    return JSON(out, status_code=201, headers={"Location": f"{ctx.base}/v1/nodes/{node['uuid']}"})


@router.get("/{ident}", summary="Show a node", dependencies=[Allow("node:read")])
@offload
def get_node(ctx: CtxDep, ident: str) -> JSON:
    q = ctx.query({"fields"})
    node = node_svc.get_node(ctx.svc, ident)
    fields = render.parse_fields(
        q.get("fields"), render.node_fields(ctx.version), v.NODE_FIELD_VERSIONS, ctx.version
    )
    return JSON(renderer(ctx).render(node, fields))


@router.patch("/{ident}", summary="Update a node (JSON patch)", dependencies=[Allow("node:update")])
@offload
def patch_node(ctx: CtxDep, ident: str, body: JsonPatch) -> JSON:
    ctx.query({"reset_interfaces"})
    node = node_svc.patch_node(ctx.svc, ident, body, ctx.caller)
    return JSON(renderer(ctx).render(node))


@router.delete(
    "/{ident}", status_code=204, summary="Delete a node", dependencies=[Allow("node:delete")]
)
@offload
def delete_node(ctx: CtxDep, ident: str) -> Response:
    node_svc.delete_node(ctx.svc, ident, ctx.caller)
    return _status(204)


# --- states --------------------------------------------------------------------------------------


@router.get(
    "/{ident}/states", summary="Power, provision and RAID state", dependencies=[Allow("node:read")]
)
@offload
def get_states(ctx: CtxDep, ident: str) -> JSON:
    return JSON(renderer(ctx).states_view(node_svc.get_node(ctx.svc, ident)))


@router.put(
    "/{ident}/states/provision",
    status_code=202,
    summary="Ask for a provision verb",
    dependencies=[Allow("node:update", verb="target")],
)
@offload
def set_provision(ctx: CtxDep, ident: str, body: JsonObject) -> Response:
    known = {
        "target",
        "configdrive",
        "clean_steps",
        "deploy_steps",
        "rescue_password",
        "disable_ramdisk",
        "service_steps",
        "runbook",
    }
    unknown = sorted(set(body) - known)
    if unknown:
        raise InvalidInput(f"Unexpected arguments: {', '.join(unknown)}", field=unknown[0])
    verb = body.get("target")
    needed = states.VERB_MIN_VERSION.get(verb) if isinstance(verb, str) else None
    if needed and ctx.version < needed:
        raise NotAcceptable(
            f"Request not acceptable. The verb {verb} needs API version {v.fmt(needed)}"
        )
    operations.request_provision(ctx.svc, ident, body, ctx.caller)
    return _status(202, f"{ctx.base}/v1/nodes/{ident}/states")


@router.put(
    "/{ident}/states/power",
    status_code=202,
    summary="Change power state",
    dependencies=[Allow("node:power", verb="target")],
)
@offload
def set_power(ctx: CtxDep, ident: str, body: JsonObject) -> Response:
    unknown = sorted(set(body) - {"target", "timeout"})
    if unknown:
        raise InvalidInput(f"Unexpected arguments: {', '.join(unknown)}", field=unknown[0])
    operations.request_power(ctx.svc, ident, body, ctx.caller)
    return _status(202, f"{ctx.base}/v1/nodes/{ident}/states")


@router.put(
    "/{ident}/states/raid",
    status_code=204,
    summary="Set the target RAID configuration",
    dependencies=[Allow("node:update")],
)
@offload
def set_raid(ctx: CtxDep, ident: str, body: JsonObject) -> Response:
    if ctx.version < v.ENDPOINT_VERSIONS["raid"]:
        raise NotAcceptable(
            f"Request not acceptable. RAID needs API version {v.fmt(v.ENDPOINT_VERSIONS['raid'])}"
        )
    operations.set_raid_config(ctx.svc, ident, body)
    return _status(204)


@router.get(
    "/{ident}/states/console",
    summary="Console connection information",
    dependencies=[Allow("node:read")],
)
@offload_hardware
def get_console(ctx: CtxDep, ident: str) -> JSON:
    return JSON(consoles.node_console(ctx.svc, ctx.caller, ident, ctx.base))


@router.put(
    "/{ident}/states/console",
    status_code=202,
    summary="Enable or disable the console",
    dependencies=[Allow("node:update")],
)
@offload_hardware
def set_console(ctx: CtxDep, ident: str, body: JsonObject) -> Response:
    operations.set_console(ctx.svc, ident, body.get("enabled"), ctx.caller)
    return _status(202, f"{ctx.base}/v1/nodes/{ident}/states/console")


# --- maintenance, management, validation ---------------------------------------------------------


@router.put(
    "/{ident}/maintenance",
    status_code=202,
    summary="Set maintenance",
    dependencies=[Allow("node:maintenance")],
)
@offload
def set_maintenance(
    ctx: CtxDep, ident: str, body: Annotated[dict[str, Any] | None, Body()] = None
) -> Response:
    reason = (body or {}).get("reason") or ctx.request.query_params.get("reason")
    node_svc.set_maintenance(ctx.svc, ident, True, reason, ctx.caller)
    return _status(202)


@router.delete(
    "/{ident}/maintenance",
    status_code=202,
    summary="Clear maintenance",
    dependencies=[Allow("node:maintenance")],
)
@offload
def clear_maintenance(ctx: CtxDep, ident: str) -> Response:
    node_svc.set_maintenance(ctx.svc, ident, False, None, ctx.caller)
    return _status(202)


@router.get(
    "/{ident}/management/boot_device",
    summary="Current boot device",
    dependencies=[Allow("node:read")],
)
@offload_hardware
def get_boot_device(ctx: CtxDep, ident: str) -> JSON:
    return JSON(operations.get_boot_device(ctx.svc, ident))


@router.put(
    "/{ident}/management/boot_device",
    status_code=204,
    summary="Set the boot device",
    dependencies=[Allow("node:update")],
)
@offload_hardware
def set_boot_device(ctx: CtxDep, ident: str, body: JsonObject) -> Response:
    operations.set_boot_device(ctx.svc, ident, body)
    return _status(204)


@router.get(
    "/{ident}/management/boot_device/supported",
    summary="Boot devices the driver supports",
    dependencies=[Allow("node:read")],
)
@offload_hardware
def supported_boot_devices(ctx: CtxDep, ident: str) -> JSON:
    return JSON({"supported_boot_devices": operations.supported_boot_devices(ctx.svc, ident)})


@router.put(
    "/{ident}/management/inject_nmi",
    status_code=204,
    summary="Inject an NMI",
    dependencies=[Allow("node:update")],
)
@offload_hardware
def inject_nmi(
    ctx: CtxDep, ident: str, body: Annotated[dict[str, Any] | None, Body()] = None
) -> Response:
    v.require("inject_nmi", ctx.version)
    operations.inject_nmi(ctx.svc, ident)
    return _status(204)


@router.get(
    "/{ident}/management/sensors",
    summary="Sensor readings (Ironworks extension)",
    dependencies=[Allow("node:read")],
)
@offload_hardware
def sensors(ctx: CtxDep, ident: str) -> JSON:
    return JSON(operations.sensors(ctx.svc, ident))


@router.get(
    "/{ident}/validate",
    summary="Validate every interface of the node",
    dependencies=[Allow("node:read")],
)
@offload_hardware
def validate(ctx: CtxDep, ident: str) -> JSON:
    return JSON(operations.validate(ctx.svc, ident))


# --- VIFs, ports, history ------------------------------------------------------------------------


@router.get("/{ident}/vifs", summary="VIFs attached to the node", dependencies=[Allow("node:read")])
@offload
def list_vifs(ctx: CtxDep, ident: str) -> JSON:
    v.require("vifs", ctx.version)
    return JSON({"vifs": hostnics.list_vifs(ctx.svc, ident)})


@router.post(
    "/{ident}/vifs", status_code=204, summary="Attach a VIF", dependencies=[Allow("node:update")]
)
@offload
def attach_vif(ctx: CtxDep, ident: str, body: JsonObject) -> Response:
    v.require("vifs", ctx.version)
    if body.get("port_uuid") and body.get("portgroup_uuid"):
        raise InvalidInput("give port_uuid or portgroup_uuid, not both", field="port_uuid")
    hostnics.attach_vif(ctx.svc, ident, body, ctx.caller)
    return _status(204)


@router.delete(
    "/{ident}/vifs/{vif}",
    status_code=204,
    summary="Detach a VIF",
    dependencies=[Allow("node:update")],
)
@offload
def detach_vif(ctx: CtxDep, ident: str, vif: str) -> Response:
    v.require("vifs", ctx.version)
    hostnics.detach_vif(ctx.svc, ident, vif, ctx.caller)
    return _status(204)


@router.get(
    "/{ident}/history",
    summary="The node's history: state, power and error events",
    dependencies=[Allow("node:read")],
)
@offload
def history(ctx: CtxDep, ident: str) -> JSON:
    v.require("history", ctx.version)
    q = ctx.query({"detail", "marker", "limit", "sort_key", "sort_dir"})
    limit = parse_limit(q.get("limit"), ctx.svc.settings.api.max_limit)
    node = node_svc.get_node(ctx.svc, ident)
    rows = operations.history(ctx.svc, node["uuid"], limit=limit, marker=q.get("marker"))
    detail = bool(parse_bool(q.get("detail"), "detail"))
    body: dict[str, Any] = {
        "history": [
            render.history_event(r, ctx.base, node["uuid"], ctx.version, detail) for r in rows
        ]
    }
    nxt = ctx.next_link(f"nodes/{node['uuid']}/history", rows, limit, {"detail": q.get("detail")})
    if nxt:
        body["next"] = nxt
    return JSON(body)


@router.get(
    "/{ident}/history/{event}", summary="One history event", dependencies=[Allow("node:read")]
)
@offload
def history_event(ctx: CtxDep, ident: str, event: str) -> JSON:
    v.require("history", ctx.version)
    node = node_svc.get_node(ctx.svc, ident)
    row = operations.history_event(ctx.svc, node["uuid"], event)
    return JSON(render.history_event(row, ctx.base, node["uuid"], ctx.version, True))


@router.get("/{ident}/traits", summary="Traits of the node", dependencies=[Allow("node:read")])
@offload
def traits(ctx: CtxDep, ident: str) -> JSON:
    v.require("traits", ctx.version)
    return JSON({"traits": trait_svc.list_traits(ctx.svc, ident)})


@router.put(
    "/{ident}/traits",
    status_code=204,
    summary="Replace the traits of the node",
    dependencies=[Allow("node:update")],
)
@offload
def set_traits(ctx: CtxDep, ident: str, body: JsonObject) -> Response:
    v.require("traits", ctx.version)
    trait_svc.set_traits(ctx.svc, ident, body)
    return _status(204)


@router.put(
    "/{ident}/traits/{trait}",
    status_code=204,
    summary="Add one trait to the node",
    dependencies=[Allow("node:update")],
)
@offload
def add_trait(ctx: CtxDep, ident: str, trait: str) -> Response:
    v.require("traits", ctx.version)
    trait_svc.add_trait(ctx.svc, ident, trait)
    return _status(204, f"{ctx.base}/v1/nodes/{ident}/traits/{trait}")


@router.delete(
    "/{ident}/traits",
    status_code=204,
    summary="Remove every trait of the node",
    dependencies=[Allow("node:update")],
)
@offload
def remove_traits(ctx: CtxDep, ident: str) -> Response:
    v.require("traits", ctx.version)
    trait_svc.remove_trait(ctx.svc, ident, None)
    return _status(204)


@router.delete(
    "/{ident}/traits/{trait}",
    status_code=204,
    summary="Remove one trait of the node",
    dependencies=[Allow("node:update")],
)
@offload
def remove_trait(ctx: CtxDep, ident: str, trait: str) -> Response:
    v.require("traits", ctx.version)
    trait_svc.remove_trait(ctx.svc, ident, trait)
    return _status(204)
