"""A node's BIOS settings (`/v1/nodes/{node}/bios`, API 1.40; the registry fields, `detail` and
`fields` from 1.74), its firmware components (`/firmware`, 1.86) and its virtual media
(`/vmedia`, 1.89), processed by services/node_hardware.py. BIOS settings and firmware versions are
read from the cache the conductor fills; virtual media is a synchronous BMC call."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, Ctx, CtxDep, offload, offload_hardware, parse_bool
from ironworks.api.v1 import render
from ironworks.common.errors import InvalidInput, NotAcceptable
from ironworks.domain import versions as v
from ironworks.services import node_hardware as hw_svc

router = APIRouter(prefix="/v1/nodes", tags=["nodes"])

BASIC_FIELDS = ("name", "value")
REGISTRY_FIELDS = (
    "attribute_type",
    "allowable_values",
    "lower_bound",
    "max_length",
    "min_length",
    "read_only",
    "reset_required",
    "unique",
    "upper_bound",
)
ALL_FIELDS = (*BASIC_FIELDS, *REGISTRY_FIELDS, "created_at", "updated_at", "links")
FIRMWARE_FIELDS = (
    "component",
    "initial_version",
    "current_version",
    "last_version_flashed",
    "created_at",
    "updated_at",
)


class Link(BaseModel):
    href: str
    rel: str


class BIOSSetting(BaseModel):
    """One BIOS setting as the BMC last reported it; the registry fields from API 1.74 (with
    `fields=`, only the fields asked for and the links)."""

    name: str | None = None
    value: str | None = None
    attribute_type: str | None = None
    allowable_values: list[str] | None = None
    lower_bound: int | None = None
    max_length: int | None = None
    min_length: int | None = None
    read_only: bool | None = None
    reset_required: bool | None = None
    unique: bool | None = None
    upper_bound: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    links: list[Link] = []


class BIOSSettingList(BaseModel):
    bios: list[BIOSSetting]


class FirmwareComponent(BaseModel):
    component: str = Field(description='"bios" or "bmc"')
    initial_version: str
    current_version: str | None
    last_version_flashed: str | None
    created_at: str | None
    updated_at: str | None


class FirmwareList(BaseModel):
    firmware: list[FirmwareComponent]


class VirtualMediaAttach(BaseModel):
    """Ironic's vmedia attach body. The BMC downloads `image_url` itself: Ironworks accepts
    `image_download_source` http only (the default here; Ironic's default is local)."""

    model_config = ConfigDict(extra="forbid")

    device_type: Literal["cdrom", "floppy", "disk"]
    image_url: str = Field(min_length=1, max_length=2048)
    image_download_source: Literal["http", "local", "swift"] | None = None


class VirtualMediaDetach(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_types: str | list[str] | None = None


def _links(ctx: Ctx, node_uuid: str, name: str) -> list[dict[str, str]]:
    path = f"nodes/{node_uuid}/bios/{name}"
    return [
        {"href": f"{ctx.base}/v1/{path}", "rel": "self"},
        {"href": f"{ctx.base}/{path}", "rel": "bookmark"},
    ]


def _setting(
    ctx: Ctx, node_uuid: str, row: dict[str, Any], fields: tuple[str, ...]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f == "links":
            out["links"] = _links(ctx, node_uuid, row["name"])
        elif f.endswith("_at"):
            out[f] = render.ts(row[f])
        else:
            out[f] = row[f]
    return out


def _bios_fields(ctx: Ctx, q: dict[str, str]) -> tuple[str, ...]:
    """Ironic's rule: name and value (with the registry from 1.74 on `detail`), or `fields`."""
    detail_raw, fields_raw = q.get("detail"), q.get("fields")
    if (detail_raw is not None or fields_raw is not None) and ctx.version < v.BIOS_REGISTRY:
        which = "detail" if detail_raw is not None else "fields"
        raise NotAcceptable(
            f"Request not acceptable. The minimal required API version should be "
            f"{v.fmt(v.BIOS_REGISTRY)} for {which}"
        )
    detail = parse_bool(detail_raw, "detail")
    if detail and fields_raw is not None:
        raise InvalidInput(
            "Can not specify ?detail=True and fields in the same request.", field="fields"
        )
    if fields_raw is not None:
        wanted = tuple(dict.fromkeys(f.strip() for f in fields_raw.split(",") if f.strip()))
        bad = [f for f in wanted if f not in ALL_FIELDS]
        if bad:
            raise InvalidInput(f'Field(s) "{", ".join(bad)}" are not valid', field="fields")
        return (*wanted, "links") if "links" not in wanted else wanted
    base = (*BASIC_FIELDS, *REGISTRY_FIELDS) if detail else BASIC_FIELDS
    return (*base, "created_at", "updated_at", "links")


@router.get(
    "/{ident}/bios",
    summary="A node's BIOS settings (as last read from its BMC)",
    response_model=None,
    responses={200: {"model": BIOSSettingList}},
    dependencies=[Allow("node:read")],
)
@offload
def list_bios(ctx: CtxDep, ident: str) -> JSON:
    v.require("bios", ctx.version)
    fields = _bios_fields(ctx, ctx.query({"detail", "fields"}))
    node, rows = hw_svc.bios_settings(ctx.svc, ident)
    return JSON({"bios": [_setting(ctx, node["uuid"], r, fields) for r in rows]})


@router.get(
    "/{ident}/bios/{setting}",
    summary="One BIOS setting of a node",
    response_model=None,
    responses={200: {"model": dict[str, BIOSSetting]}},
    dependencies=[Allow("node:read")],
)
@offload
def get_bios(ctx: CtxDep, ident: str, setting: str) -> JSON:
    v.require("bios", ctx.version)
    ctx.query(set())
    node, row = hw_svc.bios_setting(ctx.svc, ident, setting)
    shown = (*BASIC_FIELDS, *REGISTRY_FIELDS) if ctx.version >= v.BIOS_REGISTRY else BASIC_FIELDS
    fields = (*shown, "created_at", "updated_at", "links")
    return JSON({setting: _setting(ctx, node["uuid"], row, fields)})


@router.get(
    "/{ident}/firmware",
    summary="A node's firmware components (as last read from its BMC)",
    response_model=None,
    responses={200: {"model": FirmwareList}},
    dependencies=[Allow("node:read")],
)
@offload
def list_firmware(ctx: CtxDep, ident: str) -> JSON:
    v.require("firmware", ctx.version)
    ctx.query(set())
    rows = hw_svc.firmware_components(ctx.svc, ident)
    return JSON(
        {
            "firmware": [
                {f: render.ts(r[f]) if f.endswith("_at") else r[f] for f in FIRMWARE_FIELDS}
                for r in rows
            ]
        }
    )


@router.post(
    "/{ident}/vmedia",
    status_code=204,
    summary="Attach virtual media (the BMC downloads the image)",
    dependencies=[Allow("node:vmedia")],
)
@offload_hardware
def attach_vmedia(ctx: CtxDep, ident: str, body: VirtualMediaAttach) -> Response:
    v.require("vmedia", ctx.version)
    hw_svc.attach_vmedia(ctx.svc, ident, body.model_dump(exclude_none=True), ctx.caller)
    return Response(status_code=204)


@router.delete(
    "/{ident}/vmedia",
    status_code=204,
    summary="Detach virtual media (all device types unless device_types names some)",
    dependencies=[Allow("node:vmedia")],
)
@offload_hardware
def detach_vmedia(
    ctx: CtxDep,
    ident: str,
    body: Annotated[VirtualMediaDetach | None, Body()] = None,
) -> Response:
    v.require("vmedia", ctx.version)
    q = ctx.query({"device_types"})
    kinds: Any = q.get("device_types")
    if body is not None and body.device_types is not None:
        kinds = body.device_types
    hw_svc.detach_vmedia(ctx.svc, ident, kinds, ctx.caller)
    return Response(status_code=204)
