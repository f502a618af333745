"""`/api/v1/nodes/import` and `/api/v1/nodes/export`: batch enrolment from CSV or XLSX files
(`services/imports.py` holds the format and the rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, CtxDep
from ironworks.api.native import uploads
from ironworks.api.native.downloads import SHEET_RESPONSES, Format, file_response
from ironworks.api.native.listing import PAGING, paging
from ironworks.common.errors import InvalidInput
from ironworks.domain.nodes import is_secret_key
from ironworks.services import drivers as driver_svc
from ironworks.services import imports
from ironworks.services import nodes as node_svc
from ironworks.services.sheets import CSV_MIME, XLSX_MIME

router = APIRouter(prefix="/api/v1/nodes", tags=["batch enrolment"])
hardware_router = APIRouter(prefix="/api/v1/hardware-types", tags=["batch enrolment"])

_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file: raw, or as the field `file` of a multipart form.",
        "content": {
            CSV_MIME: {"schema": {"type": "string"}},
            XLSX_MIME: {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}
_ERRORS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "row": {"type": ["integer", "null"]},
            "column": {"type": ["string", "null"]},
            "message": {"type": "string"},
        },
    },
}
_REPORT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "What was enrolled, and with skip_invalid what was left out and why.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "created": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "row": {"type": "integer"},
                                    "name": {"type": "string"},
                                    "uuid": {"type": "string"},
                                },
                            },
                        },
                        "errors": _ERRORS,
                        "skipped": {"type": "integer"},
                        "valid": {
                            "type": "integer",
                            "description": "Rows enrolled (with dry_run: that would be).",
                        },
                    },
                }
            }
        },
    },
    422: {
        "description": "The file has errors; nothing was enrolled. Every error is listed.",
        "content": {
            "application/problem+json": {
                "schema": {
                    "type": "object",
                    "properties": {"detail": {"type": "string"}, "errors": _ERRORS},
                }
            }
        },
    },
}


class NodeSummary(BaseModel):
    """A row of the console's node table."""

    uuid: str
    name: str | None
    provision_state: str
    target_provision_state: str | None = Field(description="Set while a state change runs.")
    power_state: str | None
    target_power_state: str | None = Field(description="Set while a power change runs.")
    maintenance: bool
    instance_uuid: str | None
    resource_class: str | None
    driver: str
    cpu_arch: str | None = Field(description="properties/cpu_arch; null when not given.")
    availability_zone: str = Field(
        description="properties/availability_zone, or the default zone when not given."
    )
    created_at: datetime


class NodeSummaryPage(BaseModel):
    nodes: list[NodeSummary]
    next_marker: str | None = Field(
        None, description="Pass as marker for the next page; absent on the last page."
    )


@router.get(
    "",
    summary="Nodes as the console lists them: filtered, sorted and paged on the server",
    description="Filters: name (a case-insensitive substring), provision_state, power_state, "
    "cpu_arch (properties/cpu_arch), availability_zone (properties/availability_zone; the "
    "default zone also matches nodes that name none) and maintenance. Paged like every "
    "`/api/v1` list (limit, marker, sort_key, sort_dir). Ironic's `/v1/nodes` is unchanged.",
    tags=["nodes"],
    dependencies=[Allow("node:read")],
)
async def list_nodes(
    ctx: CtxDep,
    name: Annotated[str | None, Query(max_length=255, description="Part of the name.")] = None,
    provision_state: str | None = None,
    power_state: str | None = None,
    cpu_arch: Annotated[str | None, Query(max_length=255)] = None,
    availability_zone: Annotated[str | None, Query(max_length=255)] = None,
    maintenance: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    marker: Annotated[str | None, Query(description="uuid of the last node seen")] = None,
    sort_key: Literal[
        "created_at", "name", "provision_state", "power_state", "uuid"
    ] = "created_at",
    sort_dir: Literal["asc", "desc"] = "asc",
) -> NodeSummaryPage:
    unknown = sorted(set(ctx.request.query_params) - PAGING - node_svc.SUMMARY_FILTERS)
    if unknown:
        raise InvalidInput(
            f"cannot filter nodes by {unknown[0]}; use one of "
            f"{', '.join(sorted(node_svc.SUMMARY_FILTERS))}",
            field=unknown[0],
        )
    filters = {
        "name": name,
        "provision_state": provision_state,
        "power_state": power_state,
        "cpu_arch": cpu_arch,
        "availability_zone": availability_zone,
        "maintenance": maintenance,
    }
    req = paging(
        {"limit": str(limit), "sort_key": sort_key, "sort_dir": sort_dir, "marker": marker or ""},
        node_svc.SUMMARY_SORT_KEYS,
    )
    found = await ctx.run(node_svc.console_list, ctx.svc, filters, req)
    return NodeSummaryPage.model_validate(found)


@router.post(
    "/import",
    summary="Enrol nodes from a CSV or XLSX file",
    description="Validates every row first. Without skip_invalid nothing is enrolled unless the "
    "whole file is valid (422 with every error); with it, the valid rows are enrolled and the "
    "others reported. Columns: name, driver, bmc_address, bmc_port, bmc_username, bmc_password, "
    "macs, cpu_arch, resource_class, cpus, memory_mb, local_gb, property:<key>, "
    "driver_info:<key>. With dry_run the file is checked the same way, nothing is enrolled and "
    "the errors come in the report (200), as the console's preview shows them.",
    openapi_extra=_FILE_BODY,
    responses=_REPORT,
    dependencies=[Allow("node:import")],
)
async def import_nodes(
    ctx: CtxDep,
    skip_invalid: Annotated[
        bool, Query(description="Enrol the valid rows and report the others.")
    ] = False,
    dry_run: Annotated[
        bool, Query(description="Check the file and report its errors (200); enrol nothing.")
    ] = False,
) -> JSON:
    if dry_run:  # audited as what it is: a check that changed nothing
        ctx.request.scope.setdefault("state", {})["verb"] = "dry run"
    data, name = await uploads.read_file(ctx.request)
    # a thousand rows take a moment: never on the event loop, even with embedded SQLite
    report = await run_in_threadpool(
        imports.import_nodes,
        ctx.svc,
        data,
        ctx.caller,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        source=name,
    )
    return JSON(report)


@router.get(
    "/export",
    summary="Every node as CSV or XLSX, in the import format (passwords left empty)",
    response_class=Response,
    responses=SHEET_RESPONSES,
    dependencies=[Allow("node:export")],
)
async def export_nodes(
    ctx: CtxDep,
    fmt: Format = "csv",
) -> Response:
    data, count = await run_in_threadpool(imports.export_nodes, ctx.svc, fmt)
    return file_response(data, fmt, "nodes", {"X-Node-Count": str(count)})


class HardwareProperty(BaseModel):
    name: str = Field(description="The driver_info key.")
    description: str
    required: bool = Field(description="Enrolment is refused without it.")
    secret: bool = Field(description="Sealed at rest, masked when shown: a password field.")


class HardwareProperties(BaseModel):
    hardware_type: str
    properties: list[HardwareProperty]


@hardware_router.get(
    "/{name}/properties",
    summary="The driver_info properties a hardware type declares, with which are required and "
    "which are secret (the register form is built from them)",
    dependencies=[Allow("node:read")],
)
async def hardware_properties(ctx: CtxDep, name: str) -> HardwareProperties:
    hw = (await ctx.run(driver_svc.get_driver, ctx.svc, name))["hw"]
    secret = hw.secret_keys()
    return HardwareProperties(
        hardware_type=name,
        properties=[
            HardwareProperty(
                name=p.name,
                description=p.description,
                required=p.required,
                secret=is_secret_key(p.name, secret),
            )
            for p in hw.properties().values()
        ],
    )
