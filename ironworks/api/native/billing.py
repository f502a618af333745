"""`/api/v1/billing/prices` and `/api/v1/usage`: flavor prices and the usage report with its cost
(services/prices.py, services/usage.py; docs/operations.md, "Usage and prices").

Money and hours are decimals, sent as JSON strings ("12.50") so no client reads them as floats.
Setting a price is `billing:update`, the cloud admin's (the PRD's "set billing items"); reading
prices is `billing:read` (everyone, the flavors they may use); the usage report and its export
are `usage:read` (JOINED: a project's users see their projects, a department admin their
department).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from ironworks.api.access import Allow
from ironworks.api.deps import CtxDep
from ironworks.api.native.downloads import SHEET_RESPONSES, Format, sheet_response
from ironworks.api.native.networks import StrictBody, Timestamp, query
from ironworks.services import prices, usage

router = APIRouter(prefix="/api/v1", tags=["billing"])

Money = Annotated[Decimal, Field(description="A decimal, as a JSON string.")]
Hours = Annotated[Decimal, Field(description="Hours to four places (half up), as a JSON string.")]


# --- prices --------------------------------------------------------------------------------------


class PriceSet(StrictBody):
    flavor: str = Field(min_length=1, max_length=255, description="The flavor's name or id.")
    price: str = Field(
        min_length=1,
        max_length=40,
        description='Per hour, a decimal as text (at most 6 decimals), e.g. "12.50".',
    )
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. CNY or USD.")
    unit: Literal["hour"] = "hour"
    effective_from: datetime | None = Field(
        None,
        description="When the price takes effect: now (left out) or later, never earlier. "
        "Naive times are UTC.",
    )


class Price(BaseModel):
    uuid: str
    flavor: str
    flavor_uuid: str
    price: Money
    currency: str
    unit: Literal["hour"]
    effective_from: Timestamp
    in_force: bool = Field(description="The price charged now for this flavor.")
    created_at: Timestamp
    created_by: str | None


class PriceList(BaseModel):
    prices: list[Price]


@router.get(
    "/billing/prices",
    operation_id="list_prices",
    summary="Flavor prices per hour, with their history and the ones scheduled (filter: flavor)",
    dependencies=[Allow("billing:read")],
)
async def list_prices(ctx: CtxDep) -> PriceList:
    filters, _ = query(ctx, frozenset({"flavor"}))
    items = await ctx.run(prices.list_prices, ctx.svc, ctx.caller, filters.get("flavor"))
    return PriceList(prices=[Price(**p) for p in items])


@router.post(
    "/billing/prices",
    status_code=201,
    operation_id="set_price",
    summary="Set a flavor's price per hour, from now or from a later instant",
    dependencies=[Allow("billing:update")],
)
async def set_price(ctx: CtxDep, body: PriceSet) -> Price:
    return Price(
        **await ctx.run(prices.set_price, ctx.svc, ctx.caller, body.model_dump(exclude_unset=True))
    )


# --- usage ---------------------------------------------------------------------------------------


class HostUsage(BaseModel):
    host: str
    host_uuid: str
    project: str
    department: str
    flavor: str
    seconds: int = Field(description="Seconds accrued in the period: the exact figure.")
    hours: Hours
    currency: str | None = Field(description="None: no price was in force for these seconds.")
    cost: Money | None = Field(description="Rounded half up to the cent; None with no price.")


class FlavorUsage(BaseModel):
    flavor: str
    hosts: int
    seconds: int
    hours: Hours
    currency: str | None
    cost: Money | None = Field(description="The sum of the host lines' costs.")


class CurrencyTotal(BaseModel):
    currency: str
    seconds: int
    hours: Hours
    cost: Money


class UsageReport(BaseModel):
    start: Timestamp
    end: Timestamp
    project: str | None
    department: str | None
    hosts: list[HostUsage]
    flavors: list[FlavorUsage]
    totals: list[CurrencyTotal]


_REPORT_PARAMS = frozenset({"project", "department", "start", "end"})
StartQ = Annotated[
    datetime | None,
    Query(description="The period's first instant, ISO 8601 (naive: UTC). Required."),
]
EndQ = Annotated[datetime | None, Query(description="The period's end (excluded); left out: now.")]
ProjectQ = Annotated[str | None, Query(description="A project's name or id.")]
DepartmentQ = Annotated[str | None, Query(description="A department's name or id.")]


async def _report(
    ctx: Any,
    start: datetime | None,
    end: datetime | None,
    project: str | None,
    department: str | None,
) -> dict[str, Any]:
    return await ctx.run(
        usage.report,
        ctx.svc,
        ctx.caller,
        start=start,
        end=end,
        project=project,
        department=department,
    )


@router.get(
    "/usage",
    operation_id="usage_report",
    summary="Usage and its cost per host and per flavor over a period (filters: project, "
    "department)",
    dependencies=[Allow("usage:read")],
)
async def usage_report(
    ctx: CtxDep,
    start: StartQ = None,
    end: EndQ = None,
    project: ProjectQ = None,
    department: DepartmentQ = None,
) -> UsageReport:
    query(ctx, _REPORT_PARAMS)
    return UsageReport(**await _report(ctx, start, end, project, department))


@router.get(
    "/usage/export",
    operation_id="export_usage",
    summary="The usage report's host lines as CSV or XLSX",
    response_class=Response,
    responses=SHEET_RESPONSES,
    dependencies=[Allow("usage:read")],
)
async def export_usage(
    ctx: CtxDep,
    start: StartQ = None,
    end: EndQ = None,
    project: ProjectQ = None,
    department: DepartmentQ = None,
    fmt: Format = "csv",
) -> Response:
    query(ctx, _REPORT_PARAMS | {"format"})
    found = await _report(ctx, start, end, project, department)
    return await sheet_response(fmt, usage.EXPORT_COLUMNS, usage.export_rows(found), "usage")
