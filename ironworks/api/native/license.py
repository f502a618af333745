"""`/api/v1/license`: the installed license and the nodes it allows (services/licensing.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from ironworks.api.access import Allow
from ironworks.api.deps import JSON, CtxDep
from ironworks.services import licensing

router = APIRouter(prefix="/api/v1/license", tags=["license"])


@router.get(
    "",
    summary="The license: state (evaluation, valid, expired), nodes used and allowed",
    dependencies=[Allow("license:read")],
)
async def show_license(ctx: CtxDep) -> JSON:
    return JSON(await ctx.run(licensing.show, ctx.svc))


@router.put(
    "",
    summary="Install a license file (the JSON document the vendor signed)",
    dependencies=[Allow("license:update")],
)
async def install_license(ctx: CtxDep, document: Annotated[dict[str, Any], Body()]) -> JSON:
    return JSON(await ctx.run(licensing.install, ctx.svc, ctx.caller, document))
