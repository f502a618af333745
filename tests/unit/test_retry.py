"""retry.call: tries within one budget, fatal errors at once, a lost change checked not resent."""

from __future__ import annotations

import pytest

from ironworks.common.errors import BMCAuthFailed, BMCUnreachable
from ironworks.drivers import retry
from ironworks.drivers.retry import RetryPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def run(fn, policy: RetryPolicy, clock: Clock, **kw):  # type: ignore[no-untyped-def]
    return retry.call(
        fn,
        policy,
        clock=clock,
        sleep=clock.sleep,
        exhausted=lambda n: BMCUnreachable(f"gave up after {n} tries"),
        **kw,
    )


def test_retries_unreachable_then_gives_up_with_the_count() -> None:
    clock, shares = Clock(), []

    def fn(share: float) -> None:
        shares.append(share)
        clock.now += share
        raise BMCUnreachable("no answer")

    with pytest.raises(BMCUnreachable, match="after 3 tries"):
        run(fn, RetryPolicy(timeout=9, tries=3), clock)
    assert len(shares) == 3 and shares[0] == pytest.approx(3.0)
    assert clock.now <= 9.0 + 1e-9


def test_fatal_error_is_not_retried() -> None:
    calls = []

    def fn(share: float) -> None:
        calls.append(share)
        raise BMCAuthFailed("rejected")

    with pytest.raises(BMCAuthFailed):
        run(fn, RetryPolicy(timeout=9, tries=3), Clock())
    assert len(calls) == 1


def test_a_change_that_landed_is_not_sent_again() -> None:
    sent = []

    def fn(share: float) -> str:
        sent.append(share)
        raise BMCUnreachable("answer lost")

    out = run(fn, RetryPolicy(timeout=9, tries=3), Clock(), landed=lambda share: "on")
    assert out == "on" and len(sent) == 1


def test_success_after_a_lost_answer() -> None:
    answers = iter([BMCUnreachable("lost"), "ok"])

    def fn(share: float) -> str:
        a = next(answers)
        if isinstance(a, Exception):
            raise a
        return a

    assert run(fn, RetryPolicy(timeout=9, tries=3), Clock(), landed=lambda s: None) == "ok"
