"""Usage metering (PRD billing, phase 2): what hosts accrued, and the report of it with its cost.

The rule: a host accrues from the request that creates it until the request that deletes it,
except while its tenant has it stopped. Create and start open a usage record; stop and delete
close it; rebuild closes it and opens the next one at the same second (the report shows the
rebuild as a boundary). Reboot is no boundary. The node is the tenant's from the moment it is
claimed (nobody else can use it while it builds, and a host in error holds its node until it is
deleted), so building and error time count; a stopped host holds its node too, but like a
stopped cloud host it is not charged. Power changes made by the cloud admin through the node API
are the admin's, not the tenant's, and move no record.

Every boundary is written in the transaction of the host request that causes it (`begin` and
`end` take that transaction's connection): the request and its record commit together or not
at all, so a crash loses none, and nothing lives in memory, so a restart changes nothing. The
time comes from `Services.clock` (tests move it), to the second.

The report (`report`) sums the records over a period, clipped to it (an open record counts up
to now), and costs them with the prices in force (domain/billing.py says how, and how it
rounds). Scope: a project's report for whoever sees the project; a department's for its admins
and the cloud admin; with neither, every project the caller sees.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ironworks.common.errors import InvalidInput
from ironworks.db import usage as usage_db
from ironworks.domain import billing
from ironworks.services.context import Caller, Services
from ironworks.services.tenancy import department_row, project_row

OPENED_BY = ("create", "start", "rebuild")
CLOSED_BY = ("stop", "rebuild", "delete")
EXPORT_COLUMNS = (
    "project",
    "department",
    "host",
    "host_uuid",
    "flavor",
    "seconds",
    "hours",
    "currency",
    "cost",
    "period_start",
    "period_end",
)


def now(svc: Services) -> datetime:
    return billing.to_second(svc.clock())


# --- boundaries, inside the caller's transaction -------------------------------------------------


def begin(svc: Services, conn: sa.Connection, host_uuid: str, why: str) -> None:
    """Open the host's record at now, unless one is open (a start of a running host)."""
    assert why in OPENED_BY
    if usage_db.is_open(conn, host_uuid):
        return
    facts = usage_db.host_facts(conn, host_uuid)
    if facts is not None:
        usage_db.begin(conn, facts, now(svc), why)


def end(svc: Services, conn: sa.Connection, host_uuid: str, why: str) -> None:
    """Close the host's open record at now, if there is one (a stop of a stopped host)."""
    assert why in CLOSED_BY
    usage_db.end(conn, host_uuid, now(svc), why)


def rebuilt(svc: Services, conn: sa.Connection, host_uuid: str) -> None:
    end(svc, conn, host_uuid, "rebuild")
    begin(svc, conn, host_uuid, "rebuild")


# --- the report ----------------------------------------------------------------------------------


def _instant(value: datetime, field: str) -> datetime:
    try:
        return billing.to_second(value)
    except OverflowError:  # year 9999 with a zone west of UTC, year 1 east of it
        raise InvalidInput(f"{field} is out of range", field=field) from None


def _period(
    svc: Services, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    if start is None:
        raise InvalidInput(
            "start is required: the period's first instant (ISO 8601)", field="start"
        )
    start = _instant(start, "start")
    end = now(svc) if end is None else _instant(end, "end")
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    return start, end


def _prices_by_flavor(
    conn: sa.Connection, flavor_uuids: set[str]
) -> dict[str, list[billing.Price]]:
    out: dict[str, list[billing.Price]] = defaultdict(list)
    for row in usage_db.prices(conn, flavor_uuids):
        out[row["flavor_uuid"]].append(
            billing.Price(
                billing.to_second(row["effective_from"]), Decimal(row["price"]), row["currency"]
            )
        )
    return out


def report(
    svc: Services,
    caller: Caller,
    *,
    start: datetime | None,
    end: datetime | None = None,
    project: str | None = None,
    department: str | None = None,
) -> dict[str, Any]:
    """Hours and cost per host and per flavor over [start, end) (end: now)."""
    start, end = _period(svc, start, end)
    until = min(end, now(svc))  # an open record counts up to now, never into the future
    scope: dict[str, Any] = {"project_ids": caller.project_ids}
    out: dict[str, Any] = {"start": start, "end": end, "project": None, "department": None}
    with svc.db.read() as conn:
        if project is not None:
            row = project_row(conn, caller, project)
            scope["project_ids"] = [row["id"]]
            out["project"] = row["name"]
        if department is not None:
            row = department_row(conn, caller, department)
            scope["department_id"] = row["id"]
            out["department"] = row["name"]
        records = usage_db.overlapping(conn, start, until, **scope) if until > start else []
        prices = _prices_by_flavor(conn, {r["flavor_uuid"] for r in records})
    lines = _host_lines(records, prices, start, until)
    out["hosts"] = lines
    out["flavors"] = _flavor_lines(lines)
    out["totals"] = _totals(lines)
    return out


def _host_lines(
    records: list[dict[str, Any]],
    prices: dict[str, list[billing.Price]],
    start: datetime,
    until: datetime,
) -> list[dict[str, Any]]:
    """One line per host, flavor and currency (None: seconds no price was in force for)."""
    parts: dict[tuple[str, str, str | None], list[tuple[int, Decimal]]] = defaultdict(list)
    first: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for r in records:
        a = max(billing.to_second(r["started_at"]), start)
        ended = r["ended_at"]
        b = until if ended is None else min(billing.to_second(ended), until)
        for secs, price in billing.segments(a, b, prices.get(r["flavor_uuid"], [])):
            key = (r["host_uuid"], r["flavor_uuid"], price.currency if price else None)
            parts[key].append((secs, price.amount if price else Decimal(0)))
            first.setdefault(key, r)
    lines = []
    for key, priced in parts.items():
        r, currency = first[key], key[2]
        secs = sum(s for s, _ in priced)
        lines.append(
            {
                "host_uuid": r["host_uuid"],
                "host": r["host_name"],
                "project": r["project_name"],
                "department": r["department_name"],
                "flavor": r["flavor_name"],
                "seconds": secs,
                "hours": billing.hours(secs),
                "currency": currency,
                "cost": billing.cost(priced) if currency else None,
            }
        )
    lines.sort(key=lambda x: (x["project"], x["host"], x["host_uuid"], x["currency"] or ""))
    return lines


def _flavor_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        groups[(line["flavor"], line["currency"])].append(line)
    out = []
    for (flavor, currency), members in sorted(
        groups.items(), key=lambda g: (g[0][0], g[0][1] or "")
    ):
        secs = sum(m["seconds"] for m in members)
        out.append(
            {
                "flavor": flavor,
                "hosts": len({m["host_uuid"] for m in members}),
                "seconds": secs,
                "hours": billing.hours(secs),
                "currency": currency,
                "cost": sum((m["cost"] for m in members), Decimal(0)) if currency else None,
            }
        )
    return out


def _totals(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per currency: the sum of the host lines' rounded costs, so an exported sheet adds up."""
    sums: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        if line["currency"]:
            sums[line["currency"]].append(line)
    return [
        {
            "currency": currency,
            "seconds": sum(m["seconds"] for m in members),
            "hours": billing.hours(sum(m["seconds"] for m in members)),
            "cost": sum((m["cost"] for m in members), Decimal(0)),
        }
        for currency, members in sorted(sums.items())
    ]


def export_rows(found: dict[str, Any]) -> list[list[Any]]:
    """The report's host lines as sheet rows (EXPORT_COLUMNS); numbers stay numbers."""
    period = (found["start"].isoformat(), found["end"].isoformat())
    return [
        [
            line["project"],
            line["department"],
            line["host"],
            line["host_uuid"],
            line["flavor"],
            line["seconds"],
            line["hours"],
            line["currency"],
            line["cost"],
            *period,
        ]
        for line in found["hosts"]
    ]
