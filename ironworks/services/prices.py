"""Flavor prices (the PRD's "billing items": hosts priced by type, set by the cloud admin).

A price is per hour of a flavor, in a currency, and takes effect at an instant: now (the
default) or later, never earlier, so a report over a period that has passed never changes. The
history is kept: setting a price adds a row, and a report over a period costs each second at the
price in force then (domain/billing.py). Everyone may read the prices of the flavors they may
use; the cloud admin sees every flavor's, deleted ones' included.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from ironworks.common.errors import Conflict, InvalidInput
from ironworks.common.ids import new_uuid
from ironworks.db import flavors as flavor_db
from ironworks.db import usage as usage_db
from ironworks.domain import billing
from ironworks.services import flavors as flavor_svc
from ironworks.services.context import Caller, Services
from ironworks.services.usage import now

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _out(row: dict[str, Any], in_force: set[int]) -> dict[str, Any]:
    return {
        "uuid": row["uuid"],
        "flavor": row["flavor_name"],
        "flavor_uuid": row["flavor_uuid"],
        "price": Decimal(row["price"]),
        "currency": row["currency"],
        "unit": row["unit"],
        "effective_from": billing.to_second(row["effective_from"]),
        "in_force": row["id"] in in_force,
        "created_at": row["created_at"],
        "created_by": row["created_by"],
    }


def _in_force(rows: list[dict[str, Any]], at: datetime) -> set[int]:
    """The ids of the rows in force at `at`, one per flavor at most."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:  # oldest first within a flavor
        if billing.to_second(row["effective_from"]) <= at:
            latest[row["flavor_uuid"]] = row
    return {row["id"] for row in latest.values()}


def list_prices(svc: Services, caller: Caller, flavor: str | None = None) -> list[dict[str, Any]]:
    """Every price row (the history, scheduled ones included), by flavor, oldest first."""
    with svc.db.read() as conn:
        if flavor is not None:
            uuids: set[str] | None = {flavor_svc.get_row(conn, caller, flavor)["uuid"]}
        elif caller.is_admin:
            uuids = None
        else:
            uuids = {f["uuid"] for f in flavor_db.list_visible(conn, caller.project_ids)}
        rows = usage_db.prices(conn, uuids)
    current = _in_force(rows, now(svc))
    return [_out(r, current) for r in rows]


def _effective_from(value: Any, at: datetime) -> datetime:
    """When a new price takes effect: `at` (now) if not given; a datetime or ISO 8601 text."""
    if value is None:
        return at
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        raise InvalidInput("effective_from must be an ISO 8601 time", field="effective_from")
    try:
        return billing.to_second(value)
    except OverflowError:  # year 9999 with a zone west of UTC
        raise InvalidInput("effective_from is out of range", field="effective_from") from None


def set_price(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    """Add a price to a flavor's history: {flavor, price, currency, unit?, effective_from?}."""
    amount = billing.parse_price(body.get("price"))
    if amount is None:
        raise InvalidInput(
            f"price must be a decimal number (as text) of at least 0 with at most "
            f"{billing.PRICE_PLACES} decimals, below {billing.MAX_PRICE}",
            field="price",
        )
    currency = body.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise InvalidInput("currency must be an ISO 4217 code such as CNY or USD", field="currency")
    if body.get("unit", billing.UNIT) != billing.UNIT:
        raise InvalidInput(f"unit must be {billing.UNIT}: prices are per hour", field="unit")
    at = now(svc)
    effective = _effective_from(body.get("effective_from"), at)
    if effective < at:
        raise InvalidInput(
            "effective_from must be now or later: a price never changes a period that has "
            "passed (reports over it would change)",
            field="effective_from",
        )
    with svc.db.write() as conn:
        flavor = flavor_svc.get_row(conn, caller, str(body.get("flavor") or ""))
        if usage_db.price_taking_effect(conn, flavor["uuid"], effective) is not None:
            raise Conflict(
                f"flavor {flavor['name']} already has a price taking effect at "
                f"{effective.isoformat()}; choose another effective_from"
            )
        values = {
            "uuid": new_uuid(),
            "flavor_uuid": flavor["uuid"],
            "flavor_name": flavor["name"],
            "price": str(amount),
            "currency": currency,
            "unit": billing.UNIT,
            "effective_from": effective,
            "created_at": at,
            "created_by": caller.user,
        }
        usage_db.add_price(conn, values)
        caller.acted_on("flavor_price", values["uuid"], flavor["name"])
        rows = usage_db.prices(conn, {flavor["uuid"]})
    current = _in_force(rows, at)
    return _out(
        {**values, "id": next(r["id"] for r in rows if r["uuid"] == values["uuid"])}, current
    )
