"""`/api/v1/alarms` and the sensors of a node or host (services/monitoring.py).

Alarms: list (newest first; filters state, severity, rule, node, host), acknowledge. Sensors:
the last readings, recent event-log entries and open alarms of one node (`/nodes/{ident}`) or of
the node under one host (`/hosts/{ident}`). A caller who is not the cloud admin sees only nodes
carrying a host of a project they joined; others are 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.services import monitoring

router = APIRouter(prefix="/api/v1", tags=["monitoring"])

Severity = Literal["warning", "critical"]
State = Literal["firing", "acknowledged", "resolved"]


class Alarm(BaseModel):
    uuid: str
    rule: str = Field(
        description="sensor_threshold, bmc_threshold, event_log, bmc_unreachable, "
        "power_failure, provision_failure or stuck"
    )
    condition: str = Field(description="What the alarm is about; one open alarm per node and this.")
    severity: Severity
    state: State
    summary: str
    fired_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    node_uuid: str
    node_name: str | None
    host_uuid: str | None
    host_name: str | None


class AlarmList(BaseModel):
    alarms: list[Alarm]
    next_marker: str | None = Field(None, description="Pass as `marker` for the next page.")


class SensorReading(BaseModel):
    name: str
    kind: str = Field(description="Temperature, Fan, Voltage, Power Supply, ...")
    unit: str
    value: float | None = Field(description="None: unavailable, or a discrete sensor.")
    status: Literal["ok", "warning", "critical", "failed", "unavailable"]


class EventLogEntry(BaseModel):
    record_id: int = Field(description="The BMC's id of the entry.")
    logged_at: datetime | None = Field(description="The BMC's time of the entry.")
    received_at: datetime
    kind: str
    sensor: str
    event: str
    severity: Literal["info", "warning", "critical"]
    asserted: bool = Field(description="False: the entry says the condition ended.")


class Sensors(BaseModel):
    node_uuid: str
    node_name: str | None
    host_uuid: str | None
    host_name: str | None
    read_at: datetime | None = Field(description="When the readings were taken; None: never.")
    readings: list[SensorReading]
    events: list[EventLogEntry] = Field(description="The newest event-log entries (at most 100).")
    alarms: list[Alarm] = Field(description="The node's open alarms.")


@router.get(
    "/alarms",
    summary="Alarms, newest first (filters: state — open, firing, acknowledged, resolved, "
    "repeatable —, severity, rule, node, host)",
    dependencies=[Allow("alarm:read")],
)
async def list_alarms(
    ctx: CtxDep,
    state: Annotated[list[str] | None, Query()] = None,
    severity: Annotated[str | None, Query()] = None,
    rule: Annotated[str | None, Query()] = None,
    node: Annotated[str | None, Query(description="uuid or name")] = None,
    host: Annotated[str | None, Query(description="uuid or name")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    marker: Annotated[str | None, Query(description="uuid of the last alarm seen")] = None,
) -> AlarmList:
    rows = await ctx.run(
        monitoring.list_alarms,
        ctx.svc,
        ctx.caller,
        state=state or [],
        severity=severity,
        rule=rule,
        node=node,
        host=host,
        limit=limit,
        marker=marker,
    )
    return AlarmList(
        alarms=[Alarm(**r) for r in rows],
        next_marker=rows[-1]["uuid"] if len(rows) == limit else None,
    )


@router.post(
    "/alarms/{uuid}/acknowledge",
    summary="Acknowledge a firing alarm (someone is on it); it resolves when its cause clears",
    dependencies=[Allow("alarm:acknowledge")],
)
async def acknowledge(ctx: CtxDep, uuid: str) -> Alarm:
    return Alarm(**await ctx.run(monitoring.acknowledge, ctx.svc, ctx.caller, uuid))


@router.get(
    "/nodes/{ident}/sensors",
    summary="A node's last sensor readings, recent event-log entries and open alarms",
    dependencies=[Allow("monitoring:read")],
)
async def node_sensors(ctx: CtxDep, ident: str) -> Sensors:
    return Sensors(**await ctx.run(monitoring.sensors, ctx.svc, ctx.caller, ident, by_host=False))


@router.get(
    "/hosts/{ident}/sensors",
    summary="The sensor readings, event-log entries and open alarms of the node under a host",
    dependencies=[Allow("monitoring:read")],
)
async def host_sensors(ctx: CtxDep, ident: str) -> Sensors:
    return Sensors(**await ctx.run(monitoring.sensors, ctx.svc, ctx.caller, ident, by_host=True))
