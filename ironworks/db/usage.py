"""Usage records and flavor prices: every statement of the metering (services/usage.py) and the
price list (services/prices.py).

A usage record is an interval a host accrued; at most one per host is open (`ended_at` NULL).
`begin` and `end` are called in the transaction of the host request that causes them, so they
commit or roll back with it. Prices are rows of a history, inserted and never changed.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.schema import departments, flavor_prices, flavors, hosts, projects, usage_records

# --- usage records -------------------------------------------------------------------------------


def host_facts(conn: Connection, host_uuid: str) -> dict[str, Any] | None:
    """What a usage record copies of a host: its name, flavor, project and department."""
    q = (
        sa.select(
            hosts.c.uuid.label("host_uuid"),
            hosts.c.name.label("host_name"),
            flavors.c.uuid.label("flavor_uuid"),
            flavors.c.name.label("flavor_name"),
            projects.c.id.label("project_id"),
            projects.c.name.label("project_name"),
            departments.c.id.label("department_id"),
            departments.c.name.label("department_name"),
        )
        .join(flavors, flavors.c.id == hosts.c.flavor_id)
        .join(projects, projects.c.id == hosts.c.project_id)
        .join(departments, departments.c.id == projects.c.department_id)
        .where(hosts.c.uuid == host_uuid)
    )
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def is_open(conn: Connection, host_uuid: str) -> bool:
    q = sa.select(usage_records.c.id).where(
        usage_records.c.host_uuid == host_uuid, usage_records.c.ended_at.is_(None)
    )
    return conn.execute(q.limit(1)).first() is not None


def begin(conn: Connection, facts: dict[str, Any], at: datetime, why: str) -> None:
    conn.execute(sa.insert(usage_records).values(**facts, started_at=at, started_by=why))


def end(conn: Connection, host_uuid: str, at: datetime, why: str) -> int:
    """Close the host's open record; how many were closed (0 or 1)."""
    q = (
        sa.update(usage_records)
        .where(usage_records.c.host_uuid == host_uuid, usage_records.c.ended_at.is_(None))
        .values(ended_at=at, ended_by=why)
    )
    return conn.execute(q).rowcount


def overlapping(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    project_ids: Collection[int] | None = None,
    department_id: int | None = None,
) -> list[dict[str, Any]]:
    """The records with time in [start, end): started before end, not ended by start. Open
    records included (the caller closes them at "now"). None in a filter: no filter."""
    q = sa.select(usage_records).where(
        usage_records.c.started_at < end,
        sa.or_(usage_records.c.ended_at.is_(None), usage_records.c.ended_at > start),
    )
    if project_ids is not None:
        q = q.where(usage_records.c.project_id.in_(list(project_ids)))
    if department_id is not None:
        q = q.where(usage_records.c.department_id == department_id)
    q = q.order_by(usage_records.c.project_name, usage_records.c.host_name, usage_records.c.id)
    return [dict(r) for r in conn.execute(q).mappings()]


def records_of(conn: Connection, host_uuid: str) -> list[dict[str, Any]]:
    q = (
        sa.select(usage_records)
        .where(usage_records.c.host_uuid == host_uuid)
        .order_by(usage_records.c.started_at, usage_records.c.id)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


# --- prices --------------------------------------------------------------------------------------


def price_taking_effect(
    conn: Connection, flavor_uuid: str, effective_from: datetime
) -> dict[str, Any] | None:
    q = sa.select(flavor_prices).where(
        flavor_prices.c.flavor_uuid == flavor_uuid,
        flavor_prices.c.effective_from == effective_from,
    )
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def add_price(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(flavor_prices).values(**values))


def prices(conn: Connection, flavor_uuids: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Price rows, by flavor name and then oldest first; None: every flavor's."""
    q = sa.select(flavor_prices)
    if flavor_uuids is not None:
        q = q.where(flavor_prices.c.flavor_uuid.in_(list(flavor_uuids)))
    q = q.order_by(flavor_prices.c.flavor_name, flavor_prices.c.effective_from, flavor_prices.c.id)
    return [dict(r) for r in conn.execute(q).mappings()]
