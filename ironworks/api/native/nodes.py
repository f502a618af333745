"""`/api/v1/nodes/import` and `/api/v1/nodes/export`: batch enrolment from CSV or XLSX files
(`services/imports.py` holds the format and the rules)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, CtxDep
from ironworks.api.native import uploads
from ironworks.api.native.downloads import SHEET_RESPONSES, Format, file_response
from ironworks.domain.nodes import is_secret_key
from ironworks.services import drivers as driver_svc
from ironworks.services import imports
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
