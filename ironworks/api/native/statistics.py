"""`/api/v1/statistics`: the resource pool, the nodes by state, the hosts per department and
project (services/statistics.py)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.services import statistics

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])


class Figure(BaseModel):
    total: int = Field(description="Of every node.")
    allocated: int = Field(description="Of nodes with a host (an instance) on them.")
    free: int = Field(description="Of nodes without one: total - allocated.")
    available: int = Field(
        description="Of the free nodes a new host could land on now (provision state "
        "`available`, not in maintenance)."
    )


class Resources(BaseModel):
    nodes: Figure = Field(description="Nodes.")
    cpus: Figure = Field(description="CPU cores (the nodes' `properties/cpus`).")
    memory_mb: Figure = Field(description="Memory in MiB (`properties/memory_mb`).")
    local_gb: Figure = Field(description="Local disk in GiB (`properties/local_gb`).")


class NamedResources(Resources):
    name: str = Field(description="The zone, architecture or resource class (`unknown`: none).")


class Pool(BaseModel):
    total: Resources
    availability_zones: list[NamedResources]
    architectures: list[NamedResources]
    resource_classes: list[NamedResources]


class NodeStates(BaseModel):
    total: int
    provision_states: dict[str, int]
    power_states: dict[str, int] = Field(description="`none`: the power state is not known.")
    maintenance: int = Field(description="Nodes in maintenance.")


class ProjectHosts(BaseModel):
    uuid: str
    name: str
    hosts: int


class DepartmentHosts(BaseModel):
    uuid: str
    name: str
    hosts: int
    projects: list[ProjectHosts]


class HostCounts(BaseModel):
    total: int
    departments: list[DepartmentHosts]


class Statistics(BaseModel):
    pool: Pool | None = Field(description="The resource pool; cloud admins only (else null).")
    nodes: NodeStates | None = Field(description="Nodes by state; cloud admins only (else null).")
    hosts: HostCounts = Field(
        description="Hosts per department and project: every project for a cloud admin, the "
        "caller's own projects for anyone else."
    )


@router.get(
    "",
    summary="Resource-pool figures, nodes by state, hosts per department and project",
    dependencies=[Allow("monitoring:read")],
)
async def get_statistics(ctx: CtxDep) -> Statistics:
    return Statistics(**await ctx.run(statistics.statistics, ctx.svc, ctx.caller))
