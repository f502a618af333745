"""`/api/v1/physical-networks`, `/networks`, `/subnets`: tenant networking (services/networks.py,
docs/networking.md).

Every body is a typed model that refuses unknown fields (a 400 naming the field); the services
check what the types cannot (CIDRs, pools, VLAN ranges, who may set what). A physical network
is the network scheme's configuration: creating, editing and deleting one is
`network_scheme:update`, the cloud admin's. Networks and subnets are scoped to the caller's
projects in the services (`network:*`, `subnet:*` are JOINED). Subnets live at `/subnets` and
name their network in the body, as in Neutron; `GET /subnets?network=N` lists one network's.
Lists page and sort like every `/api/v1` list (`listing.py`) and take the filters named below.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.api.native.listing import PAGING, page
from ironworks.common.errors import InvalidInput
from ironworks.domain.network import NetworkScheme, NetworkType
from ironworks.services import networks

router = APIRouter(prefix="/api/v1", tags=["networks"])


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# the database hands back naive UTC times (SQLite): answered with their zone, as RFC 3339 asks
Timestamp = Annotated[datetime, AfterValidator(_utc)]
Name = Annotated[str, Field(min_length=1, max_length=255)]
Ident = Annotated[str, Field(min_length=1, max_length=255, description="A name or an id.")]
Description = Annotated[str, Field(max_length=4096)]
Address = Annotated[str, Field(min_length=1, max_length=64)]
Role = Literal["tenant", "provisioning", "cleaning", "external"]
Ranges = Annotated[
    str,
    Field(max_length=1024, description="VLAN ids for new networks, e.g. `100-199,300`."),
]


class StrictBody(BaseModel):
    """A request body: a field the model does not name is a 400 naming it."""

    model_config = ConfigDict(extra="forbid")


def body_of(model: BaseModel) -> dict[str, Any]:
    """What the client sent (fields left out stay out; an explicit null stays null)."""
    return model.model_dump(mode="json", exclude_unset=True)


def query(ctx: Any, filters: frozenset[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(filters, paging parameters) of the query string; an unknown parameter is a 400."""
    params = dict(ctx.request.query_params)
    unknown = sorted(set(params) - PAGING - filters)
    if unknown:
        allowed = ", ".join(sorted(PAGING | filters))
        raise InvalidInput(
            f"unknown parameter {unknown[0]}; this list takes {allowed}", field=unknown[0]
        )
    return {k: v for k, v in params.items() if k in filters}, {
        k: v for k, v in params.items() if k in PAGING
    }


def flag(params: dict[str, Any], key: str) -> None:
    """A query string's true/false, made a bool in place."""
    if key in params:
        value = str(params[key]).lower()
        if value not in ("true", "false"):
            raise InvalidInput(f"{key} must be true or false", field=key)
        params[key] = value == "true"


# --- physical networks ---------------------------------------------------------------------------


class PhysicalNetworkCreate(StrictBody):
    name: str = Field(
        min_length=1,
        max_length=64,
        description="The fabric's name, as node ports name it in `physical_network`; fixed.",
    )
    scheme: NetworkScheme = Field(
        NetworkScheme.DYNAMIC, description="Who configures the switch ports."
    )
    segmentation_ranges: Ranges | None = None
    description: Description | None = None


class PhysicalNetworkUpdate(StrictBody):
    scheme: NetworkScheme | None = None
    segmentation_ranges: Ranges | None = None
    description: Description | None = None


class PhysicalNetwork(BaseModel):
    uuid: str
    name: str
    scheme: NetworkScheme
    segmentation_ranges: str
    description: str | None
    created_at: Timestamp
    updated_at: Timestamp | None


class PhysicalNetworkList(BaseModel):
    physical_networks: list[PhysicalNetwork]
    next_marker: str | None = None


@router.get(
    "/physical-networks",
    operation_id="list_physical_networks",
    summary="Physical networks (fabrics), their schemes and VLAN ranges",
    dependencies=[Allow("network_scheme:read")],
)
async def list_physical_networks(ctx: CtxDep) -> PhysicalNetworkList:
    _, paging = query(ctx, frozenset())
    items = await ctx.run(networks.list_physical_networks, ctx.svc, ctx.caller)
    return PhysicalNetworkList(
        **page(items, paging, ("name", "scheme", "created_at"), "physical_networks")
    )


@router.post(
    "/physical-networks",
    status_code=201,
    operation_id="create_physical_network",
    summary="Add a physical network and choose its scheme",
    dependencies=[Allow("network_scheme:update")],
)
async def create_physical_network(
    ctx: CtxDep, body: Annotated[PhysicalNetworkCreate, Body()]
) -> PhysicalNetwork:
    out = await ctx.run(networks.create_physical_network, ctx.svc, ctx.caller, body_of(body))
    return PhysicalNetwork(**out)


@router.get(
    "/physical-networks/{ident}",
    operation_id="show_physical_network",
    summary="Show a physical network",
    dependencies=[Allow("network_scheme:read")],
)
async def show_physical_network(ctx: CtxDep, ident: str) -> PhysicalNetwork:
    out = await ctx.run(networks.show_physical_network, ctx.svc, ctx.caller, ident)
    return PhysicalNetwork(**out)


@router.patch(
    "/physical-networks/{ident}",
    operation_id="update_physical_network",
    summary="Change a physical network's scheme, VLAN ranges or description",
    dependencies=[Allow("network_scheme:update")],
)
async def update_physical_network(
    ctx: CtxDep, ident: str, body: Annotated[PhysicalNetworkUpdate, Body()]
) -> PhysicalNetwork:
    out = await ctx.run(networks.update_physical_network, ctx.svc, ctx.caller, ident, body_of(body))
    return PhysicalNetwork(**out)


@router.delete(
    "/physical-networks/{ident}",
    status_code=204,
    operation_id="delete_physical_network",
    summary="Delete a physical network no network or switch uses",
    dependencies=[Allow("network_scheme:update")],
)
async def delete_physical_network(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(networks.delete_physical_network, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)


# --- networks ------------------------------------------------------------------------------------


class NetworkCreate(StrictBody):
    name: Name
    network_type: NetworkType | None = Field(
        None, description="`vlan` (the default) or `flat` (cloud admin)."
    )
    segmentation_id: int | None = Field(
        None, ge=1, le=4094, description="The VLAN id (cloud admin); left out: the next free one."
    )
    physical_network: Ident | None = Field(
        None, description="Left out: the only physical network there is."
    )
    project: Ident | None = Field(
        None,
        description="The owner; left out: the caller's only project (the cloud's for a "
        "cloud admin).",
    )
    shared: bool | None = Field(None, description="Every project may attach to it (cloud admin).")
    external: bool | None = Field(None, description="Floating IPs come from it (cloud admin).")
    role: Role | None = Field(None, description="One of the cloud's own networks (cloud admin).")
    description: Description | None = None


class NetworkUpdate(StrictBody):
    name: Name | None = None
    description: Description | None = None
    shared: bool | None = None
    external: bool | None = None
    role: Role | None = None


class Network(BaseModel):
    uuid: str
    name: str
    network_type: NetworkType
    segmentation_id: int | None
    physical_network: str
    project: str | None = Field(description="The owning project's name; null: the cloud's.")
    shared: bool
    external: bool
    role: Role
    description: str | None
    subnets: list[str] = Field(description="The ids of its subnets.")
    created_at: Timestamp
    updated_at: Timestamp | None


class NetworkList(BaseModel):
    networks: list[Network]
    next_marker: str | None = None


NETWORK_FILTERS = frozenset({"project", "physical_network", "role", "shared", "external"})


@router.get(
    "/networks",
    operation_id="list_networks",
    summary="Networks: the caller's projects' and the shared and external ones "
    "(filters: project, physical_network, role, shared, external)",
    dependencies=[Allow("network:read")],
)
async def list_networks(ctx: CtxDep) -> NetworkList:
    filters, paging = query(ctx, NETWORK_FILTERS)
    flag(filters, "shared")
    flag(filters, "external")
    items = await ctx.run(networks.list_networks, ctx.svc, ctx.caller, filters)
    keys = ("name", "segmentation_id", "project", "physical_network", "created_at")
    return NetworkList(**page(items, paging, keys, "networks"))


@router.post(
    "/networks",
    status_code=201,
    operation_id="create_network",
    summary="Create a network (a VLAN id is allocated from its physical network's ranges)",
    dependencies=[Allow("network:create")],
)
async def create_network(ctx: CtxDep, body: Annotated[NetworkCreate, Body()]) -> Network:
    given = {k: v for k, v in body_of(body).items() if v is not None}
    return Network(**await ctx.run(networks.create_network, ctx.svc, ctx.caller, given))


@router.get(
    "/networks/{ident}",
    operation_id="show_network",
    summary="Show a network",
    dependencies=[Allow("network:read")],
)
async def show_network(ctx: CtxDep, ident: str) -> Network:
    return Network(**await ctx.run(networks.show_network, ctx.svc, ctx.caller, ident))


@router.patch(
    "/networks/{ident}",
    operation_id="update_network",
    summary="Rename a network, change its description (cloud admin: shared, external, role)",
    dependencies=[Allow("network:update")],
)
async def update_network(
    ctx: CtxDep, ident: str, body: Annotated[NetworkUpdate, Body()]
) -> Network:
    given = body_of(body)
    for key in ("name", "shared", "external", "role"):
        if key in given and given[key] is None:
            raise InvalidInput(f"{key} cannot be null", field=key)
    return Network(**await ctx.run(networks.update_network, ctx.svc, ctx.caller, ident, given))


@router.delete(
    "/networks/{ident}",
    status_code=204,
    operation_id="delete_network",
    summary="Delete a network and its subnets (none of its addresses handed out)",
    dependencies=[Allow("network:delete")],
)
async def delete_network(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(networks.delete_network, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)


# --- subnets -------------------------------------------------------------------------------------


class AllocationPool(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: Address
    end: Address


class SubnetCreate(StrictBody):
    network: Ident
    cidr: str = Field(min_length=1, max_length=64, description="e.g. 10.20.0.0/24, 2001:db8::/64")
    name: Name | None = None
    gateway_ip: Address | None = Field(
        None, description="Left out: the first usable address; null: no gateway."
    )
    allocation_pools: list[AllocationPool] | None = Field(
        None, max_length=64, description="Left out: the whole subnet but the gateway."
    )
    dns_nameservers: list[Address] | None = Field(None, max_length=16)


class SubnetUpdate(StrictBody):
    name: Name | None = None
    gateway_ip: Address | None = Field(None, description="null: no gateway.")
    allocation_pools: list[AllocationPool] | None = Field(None, max_length=64)
    dns_nameservers: list[Address] | None = Field(None, max_length=16)


class Subnet(BaseModel):
    uuid: str
    name: str | None
    network: str = Field(description="The network's id.")
    cidr: str
    ip_version: int
    gateway_ip: str | None
    allocation_pools: list[AllocationPool]
    dns_nameservers: list[str]
    created_at: Timestamp
    updated_at: Timestamp | None


class SubnetList(BaseModel):
    subnets: list[Subnet]
    next_marker: str | None = None


@router.get(
    "/subnets",
    operation_id="list_subnets",
    summary="Subnets of the networks the caller sees (filter: network)",
    dependencies=[Allow("subnet:read")],
)
async def list_subnets(ctx: CtxDep) -> SubnetList:
    filters, paging = query(ctx, frozenset({"network"}))
    items = await ctx.run(networks.list_subnets, ctx.svc, ctx.caller, filters.get("network"))
    return SubnetList(**page(items, paging, ("name", "cidr", "network", "created_at"), "subnets"))


@router.post(
    "/subnets",
    status_code=201,
    operation_id="create_subnet",
    summary="Add a subnet (IPv4 or IPv6) to a network",
    dependencies=[Allow("subnet:create")],
)
async def create_subnet(ctx: CtxDep, body: Annotated[SubnetCreate, Body()]) -> Subnet:
    return Subnet(**await ctx.run(networks.create_subnet, ctx.svc, ctx.caller, body_of(body)))


@router.get(
    "/subnets/{ident}",
    operation_id="show_subnet",
    summary="Show a subnet",
    dependencies=[Allow("subnet:read")],
)
async def show_subnet(ctx: CtxDep, ident: str) -> Subnet:
    return Subnet(**await ctx.run(networks.show_subnet, ctx.svc, ctx.caller, ident))


@router.patch(
    "/subnets/{ident}",
    operation_id="update_subnet",
    summary="Change a subnet's name, gateway, allocation pools or DNS servers",
    dependencies=[Allow("subnet:update")],
)
async def update_subnet(ctx: CtxDep, ident: str, body: Annotated[SubnetUpdate, Body()]) -> Subnet:
    out = await ctx.run(networks.update_subnet, ctx.svc, ctx.caller, ident, body_of(body))
    return Subnet(**out)


@router.delete(
    "/subnets/{ident}",
    status_code=204,
    operation_id="delete_subnet",
    summary="Delete a subnet none of whose addresses is handed out",
    dependencies=[Allow("subnet:delete")],
)
async def delete_subnet(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(networks.delete_subnet, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)
