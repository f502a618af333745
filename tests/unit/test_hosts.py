"""A host's status from its node (domain/hosts.py)."""

from __future__ import annotations

from ironworks.domain import hosts as h
from ironworks.domain import power
from ironworks.domain import states as s


def test_status_follows_the_node_and_the_last_task() -> None:
    assert h.status_of(None, None, h.TASK_BUILDING) == h.ERROR
    assert h.status_of(s.ACTIVE, power.POWER_ON, h.TASK_DELETING) == h.DELETING
    assert h.status_of(s.CLEAN_WAIT, power.POWER_ON, h.TASK_BUILDING) == h.DELETING
    assert h.status_of(s.DEPLOY_WAIT, None, h.TASK_BUILDING) == h.BUILDING
    assert h.status_of(s.DEPLOYING, None, h.TASK_REBUILDING) == h.REBUILDING
    assert h.status_of(s.ACTIVE, power.POWER_OFF, h.TASK_BUILDING) == h.STOPPED
    assert h.status_of(s.ACTIVE, power.POWER_ON, h.TASK_REBUILDING) == h.ACTIVE
    assert h.status_of(s.DEPLOY_FAILED, None, h.TASK_BUILDING) == h.ERROR
    assert h.status_of(s.RESCUE, None, None) == s.RESCUE  # shown as it is


def test_the_state_sets_do_not_overlap() -> None:
    sets = [h.TEARDOWN_STATES, h.DEPLOY_STATES, {h.RUNNING_STATE}, h.FAILED_STATES]
    assert sum(len(x) for x in sets) == len(set().union(*sets))
    assert set().union(*sets) <= s.ALL_STATES
