"""domain/billing.py: seconds, price splits, rounding, what a price may be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ironworks.domain import billing
from ironworks.domain.billing import Price

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_time_is_counted_in_whole_seconds_in_utc() -> None:
    assert billing.to_second(datetime(2026, 3, 1, 8, 0, 0, 999999)) == datetime(
        2026, 3, 1, 8, tzinfo=UTC
    )
    east8 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    assert billing.to_second(east8) == T0
    assert billing.seconds(T0, T0 + timedelta(hours=1, microseconds=999999)) == 3600
    assert billing.seconds(T0 + timedelta(hours=1), T0) == 0


def test_an_interval_is_split_where_a_price_takes_effect() -> None:
    prices = [
        Price(T0 + timedelta(hours=2), Decimal("2.00"), "CNY"),
        Price(T0, Decimal("1.20"), "CNY"),
        Price(T0 + timedelta(hours=10), Decimal("9"), "CNY"),  # after the interval
    ]
    parts = list(billing.segments(T0 - timedelta(hours=1), T0 + timedelta(hours=3), prices))
    assert [(s, p.amount if p else None) for s, p in parts] == [
        (3600, None),  # before any price: counted, not costed
        (7200, Decimal("1.20")),
        (3600, Decimal("2.00")),
    ]
    assert list(billing.segments(T0, T0, prices)) == []


def test_cost_is_exact_then_rounded_once_half_up_to_the_cent() -> None:
    assert billing.cost([(9000, Decimal("1.20")), (1800, Decimal("1.20"))]) == Decimal("3.60")
    assert billing.cost([(21600, Decimal("3.456"))]) == Decimal("20.74")  # 20.736
    assert billing.cost([(1800, Decimal("0.01"))]) == Decimal("0.01")  # 0.005: half up
    assert billing.cost([(1799, Decimal("0.01"))]) == Decimal("0.00")
    # three 20-minute parts at 0.10 cost 0.10, where rounding each part would give 0.09
    assert billing.cost([(1200, Decimal("0.10"))] * 3) == Decimal("0.10")
    assert billing.hours(1200) == Decimal("0.3333") and billing.hours(1800) == Decimal("0.5000")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", Decimal("12.50")),
        ("0", Decimal("0")),
        (3, Decimal("3")),
        (" 1.000001 ", Decimal("1.000001")),
        ("1.0000001", None),
        ("-1", None),
        ("NaN", None),
        ("Infinity", None),
        ("1e12", None),
        ("1e2", Decimal("100")),
        ("twelve", None),
        (1.5, None),
        (True, None),
        (None, None),
    ],
)
def test_what_a_price_may_be(value: object, expected: Decimal | None) -> None:
    assert billing.parse_price(value) == expected


def test_the_price_in_force() -> None:
    prices = [Price(T0, Decimal(1), "CNY"), Price(T0 + timedelta(days=1), Decimal(2), "CNY")]
    assert billing.in_force(prices, T0 - timedelta(seconds=1)) is None
    assert billing.in_force(prices, T0) == prices[0]
    assert billing.in_force(prices, T0 + timedelta(days=2)) == prices[1]
