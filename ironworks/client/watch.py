"""Has a node got where a request sent it? The rules a waiting client applies to each poll.

A provision verb aims at a stable state (`VERB_GOAL` in the state table: manage, inspect and
clean -> manageable; provide and undeploy -> available; deploy, rebuild and adopt -> active);
`abort` aims at the failed state the table leads to. The API moves the node into the verb's
working state in the same transaction that answers 202, so a poll after the answer never
mistakes the start state for the result. The node has arrived when it sits in the goal with no
target and no conductor holding it (the next request would otherwise meet "node locked").
It has failed when it lands in a `* failed` or `error` state, or settles in any other stable
state (back in the start state, e.g. enroll after a failed verification) with `last_error`.

Power requests are done when `target_power_state` is cleared: success when `power_state` is
what was asked for, failure (with `last_error`) otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ironworks.client import messages
from ironworks.domain import states

# What a waiting client reads on each poll (a small GET: ?fields=...).
POLL_FIELDS = (
    "uuid",
    "name",
    "provision_state",
    "target_provision_state",
    "power_state",
    "target_power_state",
    "last_error",
    "reservation",
    "maintenance",
)

Outcome = Literal["pending", "done", "failed"]


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    message: str = ""

    @property
    def pending(self) -> bool:
        return self.outcome == "pending"


PENDING = Verdict("pending")
DONE = Verdict("done")


def provision_goal(verb: str, start_state: str) -> str | None:
    """The stable (or, for abort, failed) state `verb` issued in `start_state` ends in."""
    canonical = states.canonical_verb(verb)
    if canonical == "abort":
        return states.next_state(start_state, "abort")
    return states.VERB_GOAL.get(canonical)


def judge_provision(node: dict[str, Any], goal: str | None) -> Verdict:
    state = node.get("provision_state")
    target = node.get("target_provision_state")
    error = node.get("last_error")
    if goal is not None and state == goal:
        return DONE if target is None and not node.get("reservation") else PENDING
    if state in states.FAILED_STATES or state == states.ERROR:
        return Verdict("failed", error or messages.NODE_IN_STATE.format(state=state))
    if goal is None and target is None and state not in states.WORKING_STATES:
        return DONE  # no known goal: any settled state ends the wait
    if target is None and state in states.STABLE_STATES:
        return Verdict("failed", error or messages.NODE_NOT_IN_GOAL.format(state=state, goal=goal))
    return PENDING


def judge_power(node: dict[str, Any], goal: str) -> Verdict:
    if node.get("target_power_state") is not None or node.get("reservation"):
        return PENDING
    if node.get("power_state") == goal:
        return DONE
    reached = messages.POWER_NOT_REACHED.format(state=node.get("power_state"))
    return Verdict("failed", node.get("last_error") or reached)
