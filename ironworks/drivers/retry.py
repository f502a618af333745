"""Retrying BMC calls: connection errors with backoff inside one time budget; fatal errors never.

A BMC call has a budget (`timeout`, seconds, all tries included) and a number of tries. Each try
gets an equal share of what is left of the budget, so the last try is not starved by the first.
Only errors that say `retryable = True` (`BMCUnreachable`) are retried; a rejected password or a
refused setting will not get better by asking again and goes straight to the caller.

A change whose answer was lost may still have happened (the request reached the BMC, the reply
did not come back). Callers that change state pass `landed`: before sending the change again,
it asks the BMC whether the change is already in place, and if so the call is done.
Used by the IPMI drivers; the Redfish ones are meant to use it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ironworks.common.errors import BMCUnreachable

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    timeout: float = 10.0
    tries: int = 3
    first_backoff: float = 0.2
    max_backoff: float = 2.0

    def backoff(self, attempt: int) -> float:
        """Pause after failed try number `attempt` (1-based): doubling, capped."""
        return min(self.first_backoff * 2 ** (attempt - 1), self.max_backoff)


def is_retryable(error: BaseException) -> bool:
    return bool(getattr(error, "retryable", False))


def call(
    fn: Callable[[float], T],
    policy: RetryPolicy,
    *,
    exhausted: Callable[[int], BMCUnreachable],
    landed: Callable[[float], T | None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run fn(seconds_for_this_try) until it answers, fails fatally, or the budget is spent.

    `exhausted(tries)` builds the error raised when no try got an answer; `landed(seconds)`, if
    given, returns a result when a lost change turns out to have happened.
    """
    deadline = clock() + policy.timeout
    tries = max(1, policy.tries)
    attempt = 0
    while True:
        attempt += 1
        share = max(0.05, (deadline - clock()) / (tries - attempt + 1))
        try:
            return fn(share)
        except Exception as e:
            if not is_retryable(e):
                raise
        if attempt >= tries or clock() >= deadline:
            raise exhausted(attempt)
        sleep(max(0.0, min(policy.backoff(attempt), deadline - clock())))
        if landed is not None:
            share = max(0.05, (deadline - clock()) / (tries - attempt + 1))
            try:
                done = landed(share)
            except Exception as e:
                if not is_retryable(e):
                    raise
                done = None
            if done is not None:
                return done
