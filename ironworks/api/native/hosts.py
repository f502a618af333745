"""`/api/v1/flavors` and `/api/v1/hosts` (services/flavors.py, services/hosts.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import Field
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, CtxDep
from ironworks.api.native.downloads import SHEET_RESPONSES, Format, sheet_response
from ironworks.api.native.hostnics import NicRequest
from ironworks.api.native.listing import PAGING, page, paging, paging_only
from ironworks.api.native.networks import StrictBody, body_of
from ironworks.services import flavors, hosts

router = APIRouter(prefix="/api/v1")
EXPORT_COLUMNS = (
    "name",
    "uuid",
    "status",
    "status_reason",
    "project",
    "flavor",
    "cpus",
    "memory_mb",
    "local_gb",
    "cpu_arch",
    "image",
    "availability_zone",
    "node_uuid",
    "ip_addresses",
    "created_at",
)
BodyDep = Annotated[dict[str, Any], Body()]


# --- flavors ------------------------------------------------------------------------------------


@router.get(
    "/flavors",
    tags=["flavors"],
    summary="Flavors (all; for a project's users, those their projects may use)",
    dependencies=[Allow("flavor:choose")],
)
async def list_flavors(ctx: CtxDep) -> JSON:
    params = paging_only(dict(ctx.request.query_params))
    items = await ctx.run(flavors.list_flavors, ctx.svc, ctx.caller)
    return JSON(
        page(items, params, ("name", "cpus", "memory_mb", "local_gb", "created_at"), "flavors")
    )


@router.post(
    "/flavors",
    status_code=201,
    tags=["flavors"],
    summary="Create a flavor",
    dependencies=[Allow("flavor:create")],
)
async def create_flavor(ctx: CtxDep, body: BodyDep) -> JSON:
    return JSON(await ctx.run(flavors.create, ctx.svc, ctx.caller, body), status_code=201)


@router.get(
    "/flavors/{ident}",
    tags=["flavors"],
    summary="Show a flavor",
    dependencies=[Allow("flavor:choose")],
)
async def show_flavor(ctx: CtxDep, ident: str) -> JSON:
    return JSON(await ctx.run(flavors.show, ctx.svc, ctx.caller, ident))


@router.patch(
    "/flavors/{ident}",
    tags=["flavors"],
    summary="Edit a flavor",
    dependencies=[Allow("flavor:update")],
)
async def update_flavor(ctx: CtxDep, ident: str, body: BodyDep) -> JSON:
    return JSON(await ctx.run(flavors.update, ctx.svc, ctx.caller, ident, body))


@router.delete(
    "/flavors/{ident}",
    status_code=204,
    tags=["flavors"],
    summary="Delete a flavor",
    dependencies=[Allow("flavor:delete")],
)
async def delete_flavor(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(flavors.delete, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)


@router.put(
    "/flavors/{ident}/access/{project}",
    tags=["flavors"],
    summary="Let a project use a non-public flavor",
    dependencies=[Allow("flavor:update")],
)
async def grant_flavor(ctx: CtxDep, ident: str, project: str) -> JSON:
    return JSON(await ctx.run(flavors.set_access, ctx.svc, ctx.caller, ident, project, True))


@router.delete(
    "/flavors/{ident}/access/{project}",
    tags=["flavors"],
    summary="Take a non-public flavor from a project",
    dependencies=[Allow("flavor:update")],
)
async def revoke_flavor(ctx: CtxDep, ident: str, project: str) -> JSON:
    return JSON(await ctx.run(flavors.set_access, ctx.svc, ctx.caller, ident, project, False))


# --- hosts ---------------------------------------------------------------------------------------

Text = Annotated[str, Field(max_length=65535)]


class HostCreate(StrictBody):
    """What `POST /api/v1/hosts` takes (services/hosts.py checks what the types cannot)."""

    name: str = Field(
        max_length=255, description="With `count` > 1, `{n}` in it is the host's number."
    )
    count: int = Field(1, strict=True, description="How many hosts, all or none (1-100).")
    flavor: str | int = Field(description="The flavor's name or id.")
    image: str = Field(max_length=4096, description="An image id or name, or a URL.")
    project: str | int | None = Field(
        None, description="The project's name or id; left out: the caller's only project."
    )
    availability_zone: str | None = Field(None, max_length=255)
    ssh_key: Text | None = None
    user_data: Text | None = None
    networks: list[NicRequest] | None = Field(
        None,
        max_length=64,
        description="One NIC per item, bound to a physical port (or port group) of the node; "
        "left out: one NIC on the project's only network if it has one; `[]`: none.",
    )


@router.get(
    "/hosts",
    tags=["hosts"],
    summary="Hosts (filters: project, status, flavor, availability_zone, name)",
    dependencies=[Allow("host:read")],
)
async def list_hosts(ctx: CtxDep) -> JSON:
    params = dict(ctx.request.query_params)
    filters = {k: v for k, v in params.items() if k not in PAGING}
    req = paging(params, hosts.SORT_KEYS)
    return JSON(await ctx.run(hosts.list_hosts, ctx.svc, ctx.caller, filters, req))


@router.post(
    "/hosts",
    status_code=202,
    tags=["hosts"],
    summary="Create hosts: `count` at once, all or none",
    dependencies=[Allow("host:create")],
)
async def create_hosts(ctx: CtxDep, body: Annotated[HostCreate, Body()]) -> JSON:
    created = await ctx.run(hosts.create, ctx.svc, ctx.caller, body_of(body))
    return JSON({"hosts": created}, status_code=202)


@router.get(
    "/hosts/export",
    tags=["hosts"],
    response_class=Response,
    summary="The hosts (same filters as the list) as CSV or XLSX",
    responses=SHEET_RESPONSES,
    dependencies=[Allow("host:export")],
)
async def export_hosts(ctx: CtxDep, fmt: Format = "csv") -> Response:
    filters = {
        k: v for k, v in ctx.request.query_params.items() if k != "format" and k not in PAGING
    }
    listed = (await ctx.run(hosts.list_hosts, ctx.svc, ctx.caller, filters))["hosts"]

    rows = [
        [
            h["name"],
            h["uuid"],
            h["status"],
            h["status_reason"],
            h["project"],
            h["flavor"]["name"],
            h["flavor"]["cpus"],
            h["flavor"]["memory_mb"],
            h["flavor"]["local_gb"],
            h["cpu_arch"],
            h["image"],
            h["availability_zone"],
            h["node_uuid"],
            " ".join(h["ip_addresses"]),
            h["created_at"].isoformat() if h["created_at"] else None,
        ]
        for h in listed
    ]
    return await sheet_response(
        fmt, EXPORT_COLUMNS, rows, "hosts", {"X-Host-Count": str(len(listed))}
    )


@router.get(
    "/hosts/{ident}",
    tags=["hosts"],
    summary="A host: status, flavor, node, NICs, disks, audit history",
    dependencies=[Allow("host:read")],
)
async def show_host(ctx: CtxDep, ident: str) -> JSON:
    return JSON(await ctx.run(hosts.show, ctx.svc, ctx.caller, ident))


@router.patch(
    "/hosts/{ident}", tags=["hosts"], summary="Rename a host", dependencies=[Allow("host:update")]
)
async def rename_host(ctx: CtxDep, ident: str, body: BodyDep) -> JSON:
    return JSON(await ctx.run(hosts.rename, ctx.svc, ctx.caller, ident, body))


@router.delete(
    "/hosts/{ident}",
    status_code=202,
    tags=["hosts"],
    summary="Delete a host: its node is torn down and cleaned",
    dependencies=[Allow("host:delete")],
)
async def delete_host(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(hosts.delete, ctx.svc, ctx.caller, ident)
    return Response(status_code=202)


def _power_route(action: str) -> None:
    @router.post(
        f"/hosts/{{ident}}/{action}",
        status_code=202,
        tags=["hosts"],
        summary=f"{action.capitalize()} a host",
        name=f"host_{action}",
        dependencies=[Allow("host:power")],
    )
    async def act(ctx: CtxDep, ident: str) -> Response:
        await ctx.run(hosts.power, ctx.svc, ctx.caller, ident, action)
        return Response(status_code=202)


for _action in ("start", "stop", "reboot", "soft-reboot"):
    _power_route(_action)


@router.post(
    "/hosts/{ident}/rebuild",
    status_code=202,
    tags=["hosts"],
    summary="Rebuild a host on its node, with a new image or the same",
    dependencies=[Allow("host:rebuild")],
)
async def rebuild_host(
    ctx: CtxDep, ident: str, body: Annotated[dict[str, Any] | None, Body()] = None
) -> Response:
    await ctx.run(hosts.rebuild, ctx.svc, ctx.caller, ident, body or {})
    return Response(status_code=202)
