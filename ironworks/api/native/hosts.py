"""`/api/v1/flavors` and `/api/v1/hosts` (services/flavors.py, services/hosts.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field, StrictBool, StrictInt
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.api.native.audit import AuditEvent
from ironworks.api.native.downloads import SHEET_RESPONSES, Format, sheet_response
from ironworks.api.native.hostnics import HostNic, NicRequest
from ironworks.api.native.listing import PAGING, page, paging, paging_only
from ironworks.api.native.networks import StrictBody, Timestamp, body_of
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
NO_BODY = {"description": "Accepted; the work goes on in the background (no body)."}


# --- flavors ------------------------------------------------------------------------------------

# the service keeps its rules (names stripped, who may see what); the models carry the types
FlavorName = Annotated[str, Field(min_length=1, max_length=255)]
Size = Annotated[StrictInt, Field(le=2**31 - 1)]  # INTEGER columns
Arch = Literal["x86_64", "aarch64"]


class FlavorEdit(StrictBody):
    name: FlavorName | None = None
    description: Annotated[str, Field(max_length=65535)] | None = None
    cpus: Annotated[Size, Field(ge=1)] | None = None
    memory_mb: Annotated[Size, Field(ge=1)] | None = None
    local_gb: Annotated[Size, Field(ge=0)] | None = None
    cpu_arch: Arch | None = Field(None, description="null: any architecture.")
    resource_class: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    capabilities: dict[str, str] | None = Field(
        None, description='Node capabilities it needs, e.g. `{"boot_mode": "uefi"}`.'
    )
    is_public: StrictBool | None = Field(None, description="false: only the granted projects.")


class FlavorCreate(FlavorEdit):
    name: FlavorName
    cpus: Annotated[Size, Field(ge=1)]
    memory_mb: Annotated[Size, Field(ge=1)]
    local_gb: Annotated[Size, Field(ge=0)]
    projects: list[str | int] | None = Field(
        None, max_length=1000, description="Names or ids of the projects a private one is for."
    )


class Flavor(BaseModel):
    uuid: str
    name: str
    description: str | None
    cpus: int
    memory_mb: int
    local_gb: int
    cpu_arch: str | None
    resource_class: str | None
    capabilities: dict[str, Any] | None
    is_public: bool
    created_at: Timestamp
    updated_at: Timestamp | None
    projects: list[str] | None = Field(
        None, description="The projects granted a private flavor (shown to the cloud admin)."
    )


class FlavorList(BaseModel):
    flavors: list[Flavor]
    next_marker: str | None = None


@router.get(
    "/flavors",
    tags=["flavors"],
    summary="Flavors (all; for a project's users, those their projects may use)",
    response_model_exclude_unset=True,  # next_marker, projects: only when there are
    dependencies=[Allow("flavor:choose")],
)
async def list_flavors(ctx: CtxDep) -> FlavorList:
    params = paging_only(dict(ctx.request.query_params))
    items = await ctx.run(flavors.list_flavors, ctx.svc, ctx.caller)
    keys = ("name", "cpus", "memory_mb", "local_gb", "created_at")
    return FlavorList.model_validate(page(items, params, keys, "flavors"))


@router.post(
    "/flavors",
    status_code=201,
    tags=["flavors"],
    summary="Create a flavor",
    response_model_exclude_unset=True,
    dependencies=[Allow("flavor:create")],
)
async def create_flavor(ctx: CtxDep, body: Annotated[FlavorCreate, Body()]) -> Flavor:
    return Flavor.model_validate(await ctx.run(flavors.create, ctx.svc, ctx.caller, body_of(body)))


@router.get(
    "/flavors/{ident}",
    tags=["flavors"],
    summary="Show a flavor",
    response_model_exclude_unset=True,
    dependencies=[Allow("flavor:choose")],
)
async def show_flavor(ctx: CtxDep, ident: str) -> Flavor:
    return Flavor.model_validate(await ctx.run(flavors.show, ctx.svc, ctx.caller, ident))


@router.patch(
    "/flavors/{ident}",
    tags=["flavors"],
    summary="Edit a flavor",
    response_model_exclude_unset=True,
    dependencies=[Allow("flavor:update")],
)
async def update_flavor(ctx: CtxDep, ident: str, body: Annotated[FlavorEdit, Body()]) -> Flavor:
    out = await ctx.run(flavors.update, ctx.svc, ctx.caller, ident, body_of(body))
    return Flavor.model_validate(out)


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
    response_model_exclude_unset=True,
    dependencies=[Allow("flavor:update")],
)
async def grant_flavor(ctx: CtxDep, ident: str, project: str) -> Flavor:
    out = await ctx.run(flavors.set_access, ctx.svc, ctx.caller, ident, project, True)
    return Flavor.model_validate(out)


@router.delete(
    "/flavors/{ident}/access/{project}",
    tags=["flavors"],
    summary="Take a non-public flavor from a project",
    response_model_exclude_unset=True,
    dependencies=[Allow("flavor:update")],
)
async def revoke_flavor(ctx: CtxDep, ident: str, project: str) -> Flavor:
    out = await ctx.run(flavors.set_access, ctx.svc, ctx.caller, ident, project, False)
    return Flavor.model_validate(out)


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


class HostRename(StrictBody):
    name: str = Field(
        min_length=1, max_length=63, description="1-63 letters, digits, '.', '_' or '-'."
    )


class HostRebuild(StrictBody):
    image: str | None = Field(
        None, max_length=4096, description="An image id or name, or a URL; left out: the same."
    )


class HostFlavor(BaseModel):
    name: str
    cpus: int
    memory_mb: int
    local_gb: int


class Host(BaseModel):
    uuid: str
    name: str
    status: str
    status_reason: str | None = Field(description="Why it is in error.")
    project: str
    availability_zone: str | None
    flavor: HostFlavor
    cpu_arch: str | None
    cpu_model: str | None
    image: str | None
    node_uuid: str | None
    power_state: str | None
    ip_addresses: list[str]
    created_at: Timestamp | None
    updated_at: Timestamp | None


class HostList(BaseModel):
    hosts: list[Host]
    next_marker: str | None = None


class HostDetail(Host):
    nics: list[HostNic]
    disks: list[dict[str, Any]] = Field(description="The node's disks, as inspection found them.")
    audit: list[AuditEvent] = Field(description="Its latest 100 audit events, newest first.")


class CreatedHost(BaseModel):
    uuid: str
    name: str
    node_uuid: str


class CreatedHosts(BaseModel):
    hosts: list[CreatedHost]


@router.get(
    "/hosts",
    tags=["hosts"],
    summary="Hosts (filters: project, status, flavor, availability_zone, name)",
    response_model_exclude_unset=True,  # next_marker only while more remain
    dependencies=[Allow("host:read")],
)
async def list_hosts(ctx: CtxDep) -> HostList:
    params = dict(ctx.request.query_params)
    filters = {k: v for k, v in params.items() if k not in PAGING}
    req = paging(params, hosts.SORT_KEYS)
    return HostList.model_validate(
        await ctx.run(hosts.list_hosts, ctx.svc, ctx.caller, filters, req)
    )


@router.post(
    "/hosts",
    status_code=202,
    tags=["hosts"],
    summary="Create hosts: `count` at once, all or none",
    dependencies=[Allow("host:create")],
)
async def create_hosts(ctx: CtxDep, body: Annotated[HostCreate, Body()]) -> CreatedHosts:
    created = await ctx.run(hosts.create, ctx.svc, ctx.caller, body_of(body))
    return CreatedHosts.model_validate({"hosts": created})


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
async def show_host(ctx: CtxDep, ident: str) -> HostDetail:
    return HostDetail.model_validate(await ctx.run(hosts.show, ctx.svc, ctx.caller, ident))


@router.patch(
    "/hosts/{ident}", tags=["hosts"], summary="Rename a host", dependencies=[Allow("host:update")]
)
async def rename_host(ctx: CtxDep, ident: str, body: Annotated[HostRename, Body()]) -> HostDetail:
    out = await ctx.run(hosts.rename, ctx.svc, ctx.caller, ident, body_of(body))
    return HostDetail.model_validate(out)


@router.delete(
    "/hosts/{ident}",
    status_code=202,
    tags=["hosts"],
    summary="Delete a host: its node is torn down and cleaned",
    response_class=Response,
    responses={202: NO_BODY},
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
        name=f"host_{action.replace('-', '_')}",
        response_class=Response,
        responses={202: NO_BODY},
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
    response_class=Response,
    responses={202: NO_BODY},
    dependencies=[Allow("host:rebuild")],
)
async def rebuild_host(
    ctx: CtxDep, ident: str, body: Annotated[HostRebuild | None, Body()] = None
) -> Response:
    await ctx.run(hosts.rebuild, ctx.svc, ctx.caller, ident, body_of(body) if body else {})
    return Response(status_code=202)
