"""A host's status, from its node's provision and power state and the host's own last task.

Hosts (services/hosts.py) have no state machine of their own: what a tenant sees is derived
from the node under the host. The derivation is declared here as data, in the order it is
tried, so the database query that lists hosts computes it in SQL (a CASE built from these
sets: lists filter, sort and page on the status) and `status_of` computes the same in Python.
"""

from __future__ import annotations

from typing import Final

from ironworks.domain import power, states

BUILDING: Final = "building"
ACTIVE: Final = "active"
STOPPED: Final = "stopped"
REBUILDING: Final = "rebuilding"
DELETING: Final = "deleting"
ERROR: Final = "error"
STATUSES: Final = (BUILDING, ACTIVE, STOPPED, REBUILDING, DELETING, ERROR)

# The host's last task (the `task` column): what the tenant asked for last.
TASK_BUILDING: Final = "building"
TASK_REBUILDING: Final = "rebuilding"
TASK_DELETING: Final = "deleting"

# Node provision states, tried in this order after "the node is gone" (error) and "the host's
# task is deleting" (deleting):
TEARDOWN_STATES = frozenset(
    {
        states.DELETING,
        states.CLEANING,
        states.CLEAN_WAIT,
        states.CLEAN_NETWORK_WAIT,
        states.AVAILABLE,
    }
)  # -> deleting
DEPLOY_STATES = frozenset(
    {states.DEPLOYING, states.DEPLOY_WAIT, states.DEPLOY_NETWORK_WAIT}
)  # -> rebuilding or building
RUNNING_STATE: Final = states.ACTIVE  # -> stopped when powered off, else active
FAILED_STATES = frozenset({states.DEPLOY_FAILED, states.ERROR})  # -> error
# Any other provision state is shown as it is.


def status_of(node_state: str | None, power_state: str | None, task: str | None) -> str:
    """A host's status; `node_state` None means its node was deleted."""
    if node_state is None:
        return ERROR
    if task == TASK_DELETING or node_state in TEARDOWN_STATES:
        return DELETING
    if node_state in DEPLOY_STATES:
        return REBUILDING if task == TASK_REBUILDING else BUILDING
    if node_state == RUNNING_STATE:
        return STOPPED if power_state == power.POWER_OFF else ACTIVE
    if node_state in FAILED_STATES:
        return ERROR
    return node_state
