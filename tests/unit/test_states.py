"""The provision state machine, walked exhaustively."""

from __future__ import annotations

import itertools

import pytest

from ironworks.domain import states as s


def test_every_state_is_classified_once():
    groups = [s.STABLE_STATES, s.FAILED_STATES, s.WORKING_STATES, frozenset(s.WAIT_STATES)]
    for a, b in itertools.combinations(groups, 2):
        assert not a & b
    assert set().union(*groups) == s.ALL_STATES


def test_transitions_only_name_known_states_and_events():
    events = s.USER_VERBS | s.CONDUCTOR_EVENTS
    for t in s.TRANSITIONS:
        assert t.source in s.ALL_STATES, t
        assert t.target in s.ALL_STATES, t
        assert t.event in events, t


def test_no_duplicate_edges():
    keys = [(t.source, t.event) for t in s.TRANSITIONS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("t", s.TRANSITIONS, ids=lambda t: f"{t.source}-{t.event}")
def test_each_transition(t):
    assert s.next_state(t.source, t.event) == t.target


@pytest.mark.parametrize("state", sorted(s.ALL_STATES))
@pytest.mark.parametrize("verb", sorted(s.VERB_MIN_VERSION))
def test_every_verb_in_every_state_is_decided_by_the_table(state, verb):
    canonical = s.canonical_verb(verb)
    expected = {(t.source, t.event): t.target for t in s.TRANSITIONS}.get((state, canonical))
    assert s.next_state(state, verb) == expected
    assert (canonical in s.allowed_verbs(state)) == (expected is not None)


def test_every_working_state_can_finish_and_fail():
    for state in s.WORKING_STATES:
        assert s.next_state(state, s.DONE), state
        assert s.next_state(state, s.FAIL), state


def test_every_wait_state_can_be_aborted_resumed_or_failed():
    for state in s.WAIT_STATES:
        assert s.next_state(state, "abort") in s.FAILED_STATES, state
        assert s.next_state(state, s.FAIL) in s.FAILED_STATES, state
        assert s.next_state(state, s.RESUME) in s.WORKING_STATES, state


def test_every_state_is_reachable_from_enroll():
    seen, todo = {s.ENROLL}, [s.ENROLL]
    while todo:
        cur = todo.pop()
        for t in s.TRANSITIONS:
            if t.source == cur and t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    assert seen == s.ALL_STATES


def test_no_stable_or_failed_state_is_a_dead_end():
    for state in s.STABLE_STATES | s.FAILED_STATES:
        assert s.allowed_verbs(state), state


def test_manual_clean_returns_to_manageable():
    assert s.done_state(s.CLEANING, s.MANAGEABLE) == s.MANAGEABLE
    assert s.done_state(s.CLEANING, s.AVAILABLE) == s.AVAILABLE
    assert s.done_state(s.DELETING, s.AVAILABLE) == s.CLEANING


def test_goals():
    assert s.goal_of("manage", s.ENROLL) == s.MANAGEABLE
    assert s.goal_of("manage", s.AVAILABLE) is None
    assert s.goal_of("deploy", s.AVAILABLE) == s.ACTIVE
    assert s.goal_of("undeploy", s.ACTIVE) == s.AVAILABLE


def test_dot_has_every_edge():
    dot = s.to_dot()
    assert dot.startswith("digraph")
    assert dot.count("->") == len(s.TRANSITIONS)


def test_agent_states_are_working_or_wait_states_with_a_purpose():
    assert s.WORKING_STATES | frozenset(s.WAIT_STATES) >= s.AGENT_STATES
    assert set(s.AGENT_PURPOSE.values()) == {"inspect", "deploy", "clean", "rescue"}
    assert not s.DELETABLE_STATES & (s.AGENT_STATES | {s.ACTIVE, s.DEPLOYING})


def test_every_state_fits_the_provision_state_column():
    from ironworks.db.schema import nodes

    width = nodes.c.provision_state.type.length
    assert all(len(state) <= width for state in s.ALL_STATES), width


def test_the_confirm_states_of_the_postconfigured_scheme():
    for wait, working in (
        (s.INSPECT_NETWORK_WAIT, s.INSPECTING),
        (s.CLEAN_NETWORK_WAIT, s.CLEANING),
        (s.DEPLOY_NETWORK_WAIT, s.DEPLOYING),
    ):
        assert s.next_state(working, s.NETWORK_WAIT) == wait
        assert s.next_state(wait, s.RESUME) == working
        assert wait in s.NETWORK_WAIT_STATES and s.WAIT_STATES[wait] == "network_confirm"
    assert s.NETWORK_WAIT_STATES.isdisjoint(s.AGENT_STATES)  # the agent cannot resume them
