"""Version discovery: `/` and `/v1`, the API's versions and the v1 resources (public, as in
Ironic: clients ask before they log in)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ironworks.api.access import Public
from ironworks.api.deps import JSON, CtxDep, offload
from ironworks.domain import versions as v

router = APIRouter(tags=["discovery and inventory"])

V1_RESOURCES = (
    "allocations",
    "chassis",
    "conductors",
    "drivers",
    "inspection_rules",
    "nodes",
    "portgroups",
    "ports",
    "volume",
)


def _version_doc(base: str) -> dict[str, Any]:
    return {
        "id": "v1",
        "links": [{"href": f"{base}/v1/", "rel": "self"}],
        "min_version": v.fmt(v.MIN_VERSION),
        "status": "CURRENT",
        "version": v.fmt(v.MAX_VERSION),
    }


@router.get("/", summary="API versions", dependencies=[Public()])
@offload
def root(ctx: CtxDep) -> JSON:
    doc = _version_doc(ctx.base)
    return JSON(
        {
            "name": "OpenStack Ironic API",
            "description": "Ironworks: a bare-metal cloud, speaking the OpenStack Ironic v1 API.",
            "default_version": doc,
            "versions": [doc],
        }
    )


@router.get("/v1", summary="The v1 API and its resources", dependencies=[Public()])
@router.get("/v1/", include_in_schema=False, dependencies=[Public()])
@offload
def v1(ctx: CtxDep) -> JSON:
    body: dict[str, Any] = {
        "id": "v1",
        "links": [
            {"href": f"{ctx.base}/v1/", "rel": "self"},
            {"href": f"{ctx.base}/docs", "rel": "describedby", "type": "text/html"},
        ],
        "media_types": {
            "base": "application/json",
            "type": "application/vnd.openstack.ironic.v1+json",
        },
        "version": _version_doc(ctx.base),
    }
    for r in V1_RESOURCES:
        body[r] = [
            {"href": f"{ctx.base}/v1/{r}/", "rel": "self"},
            {"href": f"{ctx.base}/{r}/", "rel": "bookmark"},
        ]
    return JSON(body)
