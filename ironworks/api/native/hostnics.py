"""`/api/v1/hosts/{id}/nics`: a host's NICs, attached and detached on an active host
(services/hosts.py finds the host, services/hostnics.py does the work; docs/networking.md).

`host:vnic` ("virtual NIC management": the cloud admin, and the users of the host's project)
guards all three; the host is looked up in the caller's projects, so another project's host is
a 404. Bodies are typed and refuse unknown fields (a 400 naming the field).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.api.native.networks import Address, Ident, StrictBody, Timestamp, body_of
from ironworks.services import hosts

router = APIRouter(prefix="/api/v1", tags=["hosts"])


class NicRequest(StrictBody):
    """One NIC: its network, and an address of one of its subnets if a fixed one is wanted."""

    network: Ident = Field(description="The network's name or id: the project's own or shared.")
    fixed_ip: Address | None = Field(
        None,
        description="An address of one of the network's subnets; left out: the lowest free "
        "address of each IP version the network has subnets for.",
    )


class FixedIP(BaseModel):
    address: str
    subnet: str = Field(description="The subnet's uuid.")
    ip_version: int


class HostNic(BaseModel):
    uuid: str
    vif_id: str = Field(description="The id Ironic's VIF API shows it by (its uuid, unless an "
                        "Ironic client attached it).")  # fmt: skip
    network: str | None = Field(description="The network's uuid.")
    network_name: str | None
    mac: str | None = Field(description="The MAC of the port or port group it is bound to.")
    port_uuid: str | None
    portgroup_uuid: str | None
    fixed_ips: list[FixedIP]
    created_at: Timestamp


class HostNicList(BaseModel):
    nics: list[HostNic]


@router.get(
    "/hosts/{ident}/nics",
    operation_id="list_host_nics",
    summary="A host's NICs: network, MAC, bound port, addresses",
    dependencies=[Allow("host:vnic")],
)
async def list_nics(ctx: CtxDep, ident: str) -> HostNicList:
    nics = await ctx.run(hosts.list_nics, ctx.svc, ctx.caller, ident)
    return HostNicList(nics=[HostNic(**n) for n in nics])


@router.post(
    "/hosts/{ident}/nics",
    status_code=201,
    operation_id="attach_host_nic",
    summary="Attach a NIC to an active host (a free physical port of its node)",
    dependencies=[Allow("host:vnic")],
)
async def attach_nic(ctx: CtxDep, ident: str, body: Annotated[NicRequest, Body()]) -> HostNic:
    out = await ctx.run(hosts.attach_nic, ctx.svc, ctx.caller, ident, body_of(body))
    return HostNic(**out)


@router.delete(
    "/hosts/{ident}/nics/{nic}",
    status_code=204,
    operation_id="detach_host_nic",
    summary="Detach a NIC from an active host; its addresses are released",
    dependencies=[Allow("host:vnic")],
)
async def detach_nic(ctx: CtxDep, ident: str, nic: str) -> Response:
    await ctx.run(hosts.detach_nic, ctx.svc, ctx.caller, ident, nic)
    return Response(status_code=204)
