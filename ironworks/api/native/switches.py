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


# A node's switch ports, and the post-configured scheme's confirmation -------------------------

node_router = APIRouter(prefix="/api/v1/nodes", tags=["networks"])


class PendingSwitch(BaseModel):
    switch: str
    vendor: str
    address: str
    commands: list[str] = Field(
        description="What to type at the switch's prompt, in order (enter configuration, the "
        "changes, leave, save)."
    )


class Confirmation(BaseModel):
    by: str | None
    at: str


class PendingNetwork(BaseModel):
    step: str = Field(description="The port plan step: inspect, clean, deploy, active, ...")
    since: str | None
    confirmed: Confirmation | None
    switches: list[PendingSwitch]


class NodePort(BaseModel):
    port: str
    address: str
    physical_network: str | None
    switch: str | None
    switch_port: str | None
    vlan: int | None = Field(description="null: the switch's default VLAN, or not known.")
    lag: int | None
    network: str | None
    known: bool = Field(description="False: Ironworks has not placed this port (yet).")


class NodeNetwork(BaseModel):
    node: str
    provision_state: str
    waiting: bool = Field(description="True while the node waits for a confirmation.")
    pending: PendingNetwork | None
    ports: list[NodePort]


class NetworkConfirm(StrictBody):
    step: str | None = Field(
        None,
        max_length=16,
        description="The step whose commands were applied (as shown in `pending.step`); a "
        "confirmation for another step is refused with a 409.",
    )


@node_router.get(
    "/{ident}/network",
    operation_id="show_node_network",
    summary="Where a node's switch ports are, and the switch commands it waits for",
    dependencies=[Allow("node:read")],
)
async def show_node_network(ctx: CtxDep, ident: str) -> NodeNetwork:
    return NodeNetwork(**await ctx.run(switches.node_network, ctx.svc, ctx.caller, ident))


@node_router.post(
    "/{ident}/network/confirm",
    operation_id="confirm_node_network",
    summary="Confirm that the shown switch commands were applied (post-configured scheme)",
    description="Only in 'inspect confirm', 'clean confirm' or 'deploy network "
    "wait' (409 otherwise); the node goes on with its step.",
    status_code=202,
    dependencies=[Allow("network_scheme:update")],
)
async def confirm_node_network(
    ctx: CtxDep, ident: str, body: Annotated[NetworkConfirm | None, Body()] = None
) -> NodeNetwork:
    step = body.step if body is not None else None
    out = await ctx.run(switches.confirm_network, ctx.svc, ctx.caller, ident, step)
    return NodeNetwork(**out)
