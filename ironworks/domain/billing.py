"""Usage and its cost as numbers: pure rules, no I/O (services/usage.py applies them).

- Time is counted in whole seconds: every usage boundary and report bound is stamped to the
  second (the fraction is dropped), so an interval's length is an exact integer.
- A price is per hour, in one currency. The price in force at an instant is the flavor's price
  with the latest `effective_from` at or before it; an interval that spans a price change is
  split there, each part costed at its own price. Seconds with no price in force are counted
  (hours) but not costed (their line has no currency and no cost).
- Money is `Decimal`, never float. A host line's cost is the exact sum of seconds x price / 3600
  over its parts, rounded once, half up, to the cent (`CENT`). Sums (per flavor, per currency)
  add the rounded host lines, so an exported sheet adds up. Hours are shown to four places,
  half up (`HOURS_PLACES`); the exact count is `seconds`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

UNIT = "hour"
SECONDS_PER_UNIT = 3600
CENT = Decimal("0.01")
HOURS_PLACES = Decimal("0.0001")
PRICE_PLACES = 6  # digits after the point a price may have
MAX_PRICE = Decimal(10) ** 12  # per hour, in any currency


@dataclass(frozen=True)
class Price:
    effective_from: datetime
    amount: Decimal
    currency: str


def to_second(ts: datetime) -> datetime:
    """An aware UTC instant, to the second (naive values are taken as UTC)."""
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.replace(microsecond=0)


def seconds(start: datetime, end: datetime) -> int:
    """Whole seconds from start to end (both to the second), never negative."""
    return max(0, int((to_second(end) - to_second(start)).total_seconds()))


def parse_price(value: object) -> Decimal | None:
    """A price as sent (text or number), or None if it is no valid price: finite, at least 0,
    below MAX_PRICE, at most PRICE_PLACES decimals."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        return None  # floats are refused: 0.1 is not one tenth
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount >= MAX_PRICE:
        return None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PRICE_PLACES:
        return None
    if isinstance(exponent, int) and exponent > 0:  # "1e2": shown and stored as 100
        amount = amount.quantize(Decimal(1))
    return amount


def in_force(prices: Sequence[Price], at: datetime) -> Price | None:
    """The price in force at `at`: the latest effective_from at or before it."""
    found = None
    for p in sorted(prices, key=lambda p: p.effective_from):
        if p.effective_from <= at:
            found = p
    return found


def segments(
    start: datetime, end: datetime, prices: Sequence[Price]
) -> Iterator[tuple[int, Price | None]]:
    """(seconds, price in force) for [start, end), split wherever a price takes effect."""
    start, end = to_second(start), to_second(end)
    cuts = sorted({p.effective_from for p in prices if start < p.effective_from < end})
    for a, b in zip([start, *cuts], [*cuts, end], strict=True):
        if b > a:
            yield seconds(a, b), in_force(prices, a)


def hours(secs: int) -> Decimal:
    return (Decimal(secs) / SECONDS_PER_UNIT).quantize(HOURS_PLACES, rounding=ROUND_HALF_UP)


def cost(priced_seconds: Sequence[tuple[int, Decimal]]) -> Decimal:
    """The exact cost of (seconds, price per hour) parts, rounded once to the cent."""
    exact = sum((Decimal(s) * p for s, p in priced_seconds), Decimal(0)) / SECONDS_PER_UNIT
    return exact.quantize(CENT, rounding=ROUND_HALF_UP)
