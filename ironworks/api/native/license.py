"""`/api/v1/license`: the installed license and the nodes it allows (services/licensing.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.api.native.networks import StrictBody
from ironworks.services import licensing

router = APIRouter(prefix="/api/v1/license", tags=["license"])


class LicenseDocument(StrictBody):
    """The license file as the vendor signed it (domain/license.py verifies it)."""

    license: dict[str, Any] = Field(
        description="The signed fields (id, customer, edition, max_nodes, issued, expires), "
        "kept as they are: the signature covers every one of them."
    )
    signature: str = Field(max_length=1024, description="Ed25519, base64.")


class LicenseInfo(BaseModel):
    id: str
    customer: str
    edition: str = Field(description="standard, enterprise or evaluation.")
    max_nodes: int
    issued: date
    expires: date


class LicenseStatus(BaseModel):
    state: Literal["evaluation", "valid", "expired"]
    nodes_used: int
    nodes_awaiting_acceptance: int = Field(
        description="Discovered machines not yet accepted (they do not count yet)."
    )
    nodes_allowed: int
    days_left: int | None = Field(None, description="Until it expires (a license installed).")
    license: LicenseInfo | None


@router.get(
    "",
    summary="The license: state (evaluation, valid, expired), nodes used and allowed",
    response_model_exclude_unset=True,  # days_left only with a license installed
    dependencies=[Allow("license:read")],
)
async def show_license(ctx: CtxDep) -> LicenseStatus:
    return LicenseStatus.model_validate(await ctx.run(licensing.show, ctx.svc))


@router.put(
    "",
    summary="Install a license file (the JSON document the vendor signed)",
    response_model_exclude_unset=True,
    dependencies=[Allow("license:update")],
)
async def install_license(
    ctx: CtxDep, document: Annotated[LicenseDocument, Body()]
) -> LicenseStatus:
    out = await ctx.run(licensing.install, ctx.svc, ctx.caller, document.model_dump())
    return LicenseStatus.model_validate(out)
