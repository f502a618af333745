"""`/api/v1/switches`: the switches Ironworks drives or writes commands for (services/switches.py).
Cloud admin only, reads included (`switch:*`).

`password` and `secret` are write-only: every answer shows `******` in their place (null when
none is stored). An update that sends `******` back keeps the stored value; null or "" clears it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.api.native.listing import page
from ironworks.api.native.networks import (
    Description,
    Ident,
    StrictBody,
    Timestamp,
    body_of,
    query,
)
from ironworks.drivers.switches import DRIVERS
from ironworks.services import switches

router = APIRouter(prefix="/api/v1/switches", tags=["networks"])

SwitchName = Annotated[
    str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
Vendor = Annotated[
    str, Field(min_length=1, max_length=32, description=f"One of {', '.join(sorted(DRIVERS))}.")
]
Text = Annotated[str, Field(min_length=1, max_length=255)]
Secret = Annotated[str, Field(max_length=1024)]
Port = Annotated[int, Field(ge=1, le=65535, description="The management TCP port (SSH: 22).")]


class SwitchCreate(StrictBody):
    name: SwitchName
    vendor: Vendor
    address: Text = Field(description="The management address (host name or IP).")
    port: Port = 22
    username: Text
    password: Secret | None = Field(None, description="Sealed at rest, never shown.")
    secret: Secret | None = Field(None, description="The enable secret, if the vendor has one.")
    physical_network: Ident
    description: Description | None = None


class SwitchUpdate(StrictBody):
    name: SwitchName | None = None
    vendor: Vendor | None = None
    address: Text | None = None
    port: Port | None = None
    username: Text | None = None
    password: Secret | None = Field(None, description="`******`: keep; null or empty: clear.")
    secret: Secret | None = Field(None, description="`******`: keep; null or empty: clear.")
    physical_network: Ident | None = None
    description: Description | None = None


class Switch(BaseModel):
    uuid: str
    name: str
    vendor: str
    address: str
    port: int
    username: str
    password: str | None = Field(description="`******` when set: never the value.")
    secret: str | None = Field(description="`******` when set: never the value.")
    physical_network: str
    description: str | None
    created_at: Timestamp
    updated_at: Timestamp | None


class SwitchList(BaseModel):
    switches: list[Switch]
    next_marker: str | None = None


@router.get(
    "",
    operation_id="list_switches",
    summary="Switches (filter: physical_network)",
    dependencies=[Allow("switch:read")],
)
async def list_switches(ctx: CtxDep) -> SwitchList:
    filters, paging = query(ctx, frozenset({"physical_network"}))
    items = await ctx.run(
        switches.list_switches, ctx.svc, ctx.caller, filters.get("physical_network")
    )
    keys = ("name", "vendor", "address", "physical_network", "created_at")
    return SwitchList(**page(items, paging, keys, "switches"))


@router.post(
    "",
    status_code=201,
    operation_id="create_switch",
    summary="Add a switch: vendor, management address, credentials, physical network",
    dependencies=[Allow("switch:create")],
)
async def create_switch(ctx: CtxDep, body: Annotated[SwitchCreate, Body()]) -> Switch:
    return Switch(**await ctx.run(switches.create, ctx.svc, ctx.caller, body_of(body)))


@router.get(
    "/{ident}",
    operation_id="show_switch",
    summary="Show a switch (its credentials masked)",
    dependencies=[Allow("switch:read")],
)
async def show_switch(ctx: CtxDep, ident: str) -> Switch:
    return Switch(**await ctx.run(switches.show, ctx.svc, ctx.caller, ident))


@router.patch(
    "/{ident}",
    operation_id="update_switch",
    summary="Edit a switch",
    dependencies=[Allow("switch:update")],
)
async def update_switch(ctx: CtxDep, ident: str, body: Annotated[SwitchUpdate, Body()]) -> Switch:
    out = await ctx.run(switches.update, ctx.svc, ctx.caller, ident, body_of(body))
    return Switch(**out)


@router.delete(
    "/{ident}",
    status_code=204,
    operation_id="delete_switch",
    summary="Delete a switch",
    dependencies=[Allow("switch:delete")],
)
async def delete_switch(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(switches.delete, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)
