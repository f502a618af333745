"""`/api/v1/availability-zones`: the zones hosts may be placed in (services/zones.py)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.services import zones

router = APIRouter(prefix="/api/v1/availability-zones", tags=["availability zones"])


class AvailabilityZone(BaseModel):
    name: str = Field(description="What hosts name in availability_zone.")
    nodes: int = Field(description="Nodes in the zone, in any state.")
    architectures: dict[str, int] = Field(
        description="Nodes by cpu_arch (`unknown`: the node's properties name none)."
    )
    provision_states: dict[str, int] = Field(description="Nodes by provision state.")


class AvailabilityZoneList(BaseModel):
    availability_zones: list[AvailabilityZone]


@router.get(
    "",
    summary="Availability zones, with their nodes counted by architecture and provision state",
    dependencies=[Allow("availability_zone:read")],
)
async def list_zones(ctx: CtxDep) -> AvailabilityZoneList:
    listed = await ctx.run(zones.list_zones, ctx.svc)
    return AvailabilityZoneList(availability_zones=[AvailabilityZone(**z) for z in listed])
