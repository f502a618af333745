"""`/api/v1/floating-ips`: addresses of the external network, 1:1-NATed to a host NIC
(services/floating_ips.py, docs/networking.md "Floating IPs").

Allocate (POST), list and show (GET), associate and disassociate (PATCH `host_nic`: a NIC's id,
or null), release (DELETE; refused with a 409 while associated). Every route is the PRD's
"floating IP management" (`host:floating_ip`: cloud admin, and the joined projects); another
project's floating IP or NIC is a 404. `{ident}` is the floating IP's id or its address.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.api.native.listing import page
from ironworks.api.native.networks import (
    Address,
    Description,
    Ident,
    StrictBody,
    Timestamp,
    body_of,
    query,
)
from ironworks.common.errors import InvalidInput
from ironworks.services import floating_ips

router = APIRouter(prefix="/api/v1", tags=["floating IPs"])
OPERATION = "host:floating_ip"


class FloatingIPCreate(StrictBody):
    project: Ident | None = Field(
        None, description="The owning project; left out: the caller's only project."
    )
    address: Address | None = Field(
        None,
        description="A given address of the external network (cloud admin); left out: the "
        "lowest free one.",
    )
    description: Description | None = None


class FloatingIPUpdate(StrictBody):
    host_nic: Ident | None = Field(
        None,
        description="Associate with this host NIC (its id), of a host of the same project; "
        "null: disassociate.",
    )
    fixed_ip: Address | None = Field(
        None, description="Which address of the NIC; left out: its first IPv4 address."
    )
    description: Description | None = None


class FloatingIP(BaseModel):
    uuid: str
    address: str = Field(description="The address on the external network.")
    subnet: str = Field(description="The id of the external subnet it comes from.")
    network: str = Field(description="The id of the external network.")
    project: str = Field(description="The owning project's name.")
    status: Literal["associated", "unassociated"]
    host_nic: str | None = Field(description="The id of the NIC it maps to.")
    host: str | None = Field(description="The id of that NIC's host.")
    host_name: str | None
    fixed_ip: str | None = Field(description="The NIC's address it maps to (1:1 NAT).")
    description: str | None
    created_at: Timestamp
    updated_at: Timestamp | None


class FloatingIPList(BaseModel):
    floating_ips: list[FloatingIP]
    next_marker: str | None = None


@router.get(
    "/floating-ips",
    operation_id="list_floating_ips",
    summary="Floating IPs of the caller's projects (filter: project)",
    dependencies=[Allow(OPERATION)],
)
async def list_floating_ips(ctx: CtxDep) -> FloatingIPList:
    filters, paging = query(ctx, frozenset({"project"}))
    items = await ctx.run(
        floating_ips.list_floating_ips, ctx.svc, ctx.caller, filters.get("project")
    )
    keys = ("address", "project", "status", "created_at")
    return FloatingIPList(**page(items, paging, keys, "floating_ips"))


@router.post(
    "/floating-ips",
    status_code=201,
    operation_id="create_floating_ip",
    summary="Allocate a floating IP from the external network (within the project's quota)",
    dependencies=[Allow(OPERATION)],
)
async def create_floating_ip(ctx: CtxDep, body: Annotated[FloatingIPCreate, Body()]) -> FloatingIP:
    given = {k: v for k, v in body_of(body).items() if v is not None}
    return FloatingIP(**await ctx.run(floating_ips.allocate, ctx.svc, ctx.caller, given))


@router.get(
    "/floating-ips/{ident}",
    operation_id="show_floating_ip",
    summary="Show a floating IP",
    dependencies=[Allow(OPERATION)],
)
async def show_floating_ip(ctx: CtxDep, ident: str) -> FloatingIP:
    return FloatingIP(**await ctx.run(floating_ips.show, ctx.svc, ctx.caller, ident))


@router.patch(
    "/floating-ips/{ident}",
    operation_id="update_floating_ip",
    summary="Associate a floating IP with a host NIC (host_nic), disassociate it (host_nic: "
    "null), or change its description",
    dependencies=[Allow(OPERATION)],
)
async def update_floating_ip(
    ctx: CtxDep, ident: str, body: Annotated[FloatingIPUpdate, Body()]
) -> FloatingIP:
    given = body_of(body)
    if "fixed_ip" in given and given["fixed_ip"] is None:
        raise InvalidInput("fixed_ip cannot be null: leave it out", field="fixed_ip")
    return FloatingIP(**await ctx.run(floating_ips.update, ctx.svc, ctx.caller, ident, given))


@router.delete(
    "/floating-ips/{ident}",
    status_code=204,
    operation_id="delete_floating_ip",
    summary="Release a floating IP (disassociate it first)",
    dependencies=[Allow(OPERATION)],
)
async def delete_floating_ip(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(floating_ips.release, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)
