"""The provision state machine, declared once as data.

Names are OpenStack Ironic's so that its clients understand us. Three kinds of state:

* stable: nothing happens until someone asks (enroll, manageable, available, active, ...);
* working: a conductor runs a step now (verifying, cleaning, deploying, ...);
* wait: the node is away doing something (the ramdisk agent is booting, cleaning disks) and we
  wait for it to call back or for the state's timeout (inspect wait, clean wait, wait call-back);
  in the post-configured network scheme an operator applies the switch commands Ironworks
  rendered and confirms (inspect/clean/deploy confirm).

A *verb* is what a user asks for (`PUT /v1/nodes/{id}/states/provision {"target": verb}`); an
*event* is what the conductor reports (`done`, `wait`, `fail`, `resume`). Both are transitions in
one table. The API checks verbs against it, the conductor moves nodes with it, the CLI lists
allowed actions from it and `ironworks states --dot` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

# States ------------------------------------------------------------------------------------------
ENROLL = "enroll"
VERIFYING = "verifying"
MANAGEABLE = "manageable"
INSPECTING = "inspecting"
INSPECT_WAIT = "inspect wait"
INSPECT_FAILED = "inspect failed"
CLEANING = "cleaning"
CLEAN_WAIT = "clean wait"
CLEAN_FAILED = "clean failed"
AVAILABLE = "available"
DEPLOYING = "deploying"
DEPLOY_WAIT = "wait call-back"
DEPLOY_FAILED = "deploy failed"
ACTIVE = "active"
DELETING = "deleting"
ERROR = "error"
ADOPTING = "adopting"
ADOPT_FAILED = "adopt failed"
RESCUING = "rescuing"
RESCUE_WAIT = "rescue wait"
RESCUE_FAILED = "rescue failed"
RESCUE = "rescue"
UNRESCUING = "unrescuing"
UNRESCUE_FAILED = "unrescue failed"
# Post-configured network scheme: the node waits for the operator to apply the switch commands
# Ironworks rendered for this step and to confirm (POST /api/v1/nodes/{id}/network/confirm).
# (At most 15 characters, as every state: the width of nodes.provision_state.)
INSPECT_NETWORK_WAIT = "inspect confirm"
CLEAN_NETWORK_WAIT = "clean confirm"
DEPLOY_NETWORK_WAIT = "deploy confirm"

STABLE_STATES = frozenset({ENROLL, MANAGEABLE, AVAILABLE, ACTIVE, ERROR, RESCUE})
FAILED_STATES = frozenset(
    {INSPECT_FAILED, CLEAN_FAILED, DEPLOY_FAILED, ADOPT_FAILED, RESCUE_FAILED, UNRESCUE_FAILED}
)
WORKING_STATES = frozenset(
    {VERIFYING, INSPECTING, CLEANING, DEPLOYING, DELETING, ADOPTING, RESCUING, UNRESCUING}
)
# Wait state -> the TimeoutSettings field that bounds it.
WAIT_STATES: dict[str, str] = {
    INSPECT_WAIT: "inspect_wait",
    CLEAN_WAIT: "clean_callback",
    DEPLOY_WAIT: "deploy_callback",
    RESCUE_WAIT: "rescue_callback",
    INSPECT_NETWORK_WAIT: "network_confirm",
    CLEAN_NETWORK_WAIT: "network_confirm",
    DEPLOY_NETWORK_WAIT: "network_confirm",
}
# The wait states of the post-configured scheme: an operator, not an agent, resumes them.
NETWORK_WAIT_STATES = frozenset({INSPECT_NETWORK_WAIT, CLEAN_NETWORK_WAIT, DEPLOY_NETWORK_WAIT})
ALL_STATES = STABLE_STATES | FAILED_STATES | WORKING_STATES | frozenset(WAIT_STATES)

# States in which the node runs the agent ramdisk, and what the agent is there for: the boot
# scripts boot the ramdisk in these states (the local disk in every other), the agent API
# answers only then, and the purpose is shown on the node's console.
AGENT_PURPOSE: dict[str, str] = {
    INSPECTING: "inspect",
    INSPECT_WAIT: "inspect",
    DEPLOYING: "deploy",
    DEPLOY_WAIT: "deploy",
    CLEANING: "clean",
    CLEAN_WAIT: "clean",
    RESCUING: "rescue",
    RESCUE_WAIT: "rescue",
}
AGENT_STATES = frozenset(AGENT_PURPOSE)
# The agent session of a machine no node had (boot.discovery): its node waits in enroll for an
# operator to accept it (manage), and counts against the license only then (#15).
DISCOVER_PURPOSE = "discover"

# States a node may be deleted in (any state while it is in maintenance).
DELETABLE_STATES = frozenset(
    {ENROLL, MANAGEABLE, AVAILABLE, INSPECT_FAILED, CLEAN_FAILED, ADOPT_FAILED}
)

# Events the conductor reports ---------------------------------------------------------------------
DONE = "done"
WAIT = "wait"
FAIL = "fail"
RESUME = "resume"
# A step's switch work waits for the operator (post-configured scheme): to the network wait state
NETWORK_WAIT = "network wait"
CONDUCTOR_EVENTS = frozenset({DONE, WAIT, FAIL, RESUME, NETWORK_WAIT})

# Verbs a user may ask for, with the API microversion that introduced each.
VERB_MIN_VERSION: dict[str, tuple[int, int]] = {
    "active": (1, 1),
    "deleted": (1, 1),
    "rebuild": (1, 1),
    "manage": (1, 4),
    "provide": (1, 4),
    "inspect": (1, 6),
    "abort": (1, 13),
    "clean": (1, 15),
    "adopt": (1, 17),
    "rescue": (1, 38),
    "unrescue": (1, 38),
    "deploy": (1, 73),
    "undeploy": (1, 73),
}
# Verbs that are other names for a table verb.
VERB_ALIASES = {"deploy": "active", "undeploy": "deleted"}


@dataclass(frozen=True)
class Transition:
    source: str
    event: str
    target: str


def _t(source: str, event: str, target: str) -> Transition:
    return Transition(source, event, target)


TRANSITIONS: tuple[Transition, ...] = (
    # enrolment and verification of BMC access
    _t(ENROLL, "manage", VERIFYING),
    _t(VERIFYING, DONE, MANAGEABLE),
    _t(VERIFYING, FAIL, ENROLL),
    # inspection
    _t(MANAGEABLE, "inspect", INSPECTING),
    _t(INSPECTING, DONE, MANAGEABLE),
    _t(INSPECTING, WAIT, INSPECT_WAIT),
    _t(INSPECTING, FAIL, INSPECT_FAILED),
    _t(INSPECT_WAIT, RESUME, INSPECTING),
    _t(INSPECT_WAIT, DONE, MANAGEABLE),
    _t(INSPECT_WAIT, FAIL, INSPECT_FAILED),
    _t(INSPECT_WAIT, "abort", INSPECT_FAILED),
    _t(INSPECT_FAILED, "manage", MANAGEABLE),
    _t(INSPECT_FAILED, "inspect", INSPECTING),
    _t(INSPECTING, NETWORK_WAIT, INSPECT_NETWORK_WAIT),
    _t(INSPECT_NETWORK_WAIT, RESUME, INSPECTING),
    _t(INSPECT_NETWORK_WAIT, FAIL, INSPECT_FAILED),
    _t(INSPECT_NETWORK_WAIT, "abort", INSPECT_FAILED),
    # cleaning: automated (provide, undeploy) and manual (clean)
    _t(MANAGEABLE, "provide", CLEANING),
    _t(MANAGEABLE, "clean", CLEANING),
    _t(CLEANING, DONE, AVAILABLE),
    _t(CLEANING, WAIT, CLEAN_WAIT),
    _t(CLEANING, FAIL, CLEAN_FAILED),
    _t(CLEAN_WAIT, RESUME, CLEANING),
    _t(CLEAN_WAIT, FAIL, CLEAN_FAILED),
    _t(CLEAN_WAIT, "abort", CLEAN_FAILED),
    _t(CLEAN_FAILED, "manage", MANAGEABLE),
    _t(CLEANING, NETWORK_WAIT, CLEAN_NETWORK_WAIT),
    _t(CLEAN_NETWORK_WAIT, RESUME, CLEANING),
    _t(CLEAN_NETWORK_WAIT, FAIL, CLEAN_FAILED),
    _t(CLEAN_NETWORK_WAIT, "abort", CLEAN_FAILED),
    _t(AVAILABLE, "manage", MANAGEABLE),
    # deployment
    _t(AVAILABLE, "active", DEPLOYING),
    _t(DEPLOYING, DONE, ACTIVE),
    _t(DEPLOYING, WAIT, DEPLOY_WAIT),
    _t(DEPLOYING, FAIL, DEPLOY_FAILED),
    _t(DEPLOY_WAIT, RESUME, DEPLOYING),
    _t(DEPLOY_WAIT, DONE, ACTIVE),
    _t(DEPLOY_WAIT, FAIL, DEPLOY_FAILED),
    _t(DEPLOY_WAIT, "abort", DEPLOY_FAILED),
    _t(DEPLOY_WAIT, "deleted", DELETING),
    _t(DEPLOY_FAILED, "active", DEPLOYING),
    _t(DEPLOY_FAILED, "rebuild", DEPLOYING),
    _t(DEPLOY_FAILED, "deleted", DELETING),
    _t(DEPLOYING, NETWORK_WAIT, DEPLOY_NETWORK_WAIT),
    _t(DEPLOY_NETWORK_WAIT, RESUME, DEPLOYING),
    _t(DEPLOY_NETWORK_WAIT, FAIL, DEPLOY_FAILED),
    _t(DEPLOY_NETWORK_WAIT, "abort", DEPLOY_FAILED),
    _t(DEPLOY_NETWORK_WAIT, "deleted", DELETING),
    _t(ACTIVE, "rebuild", DEPLOYING),
    # tear-down
    _t(ACTIVE, "deleted", DELETING),
    _t(DELETING, DONE, CLEANING),
    _t(DELETING, FAIL, ERROR),
    _t(ERROR, "deleted", DELETING),
    _t(ERROR, "rebuild", DEPLOYING),
    # adoption of a server that already runs its OS
    _t(MANAGEABLE, "adopt", ADOPTING),
    _t(ADOPTING, DONE, ACTIVE),
    _t(ADOPTING, FAIL, ADOPT_FAILED),
    _t(ADOPT_FAILED, "adopt", ADOPTING),
    _t(ADOPT_FAILED, "manage", MANAGEABLE),
    # rescue
    _t(ACTIVE, "rescue", RESCUING),
    _t(RESCUING, DONE, RESCUE),
    _t(RESCUING, WAIT, RESCUE_WAIT),
    _t(RESCUING, FAIL, RESCUE_FAILED),
    _t(RESCUE_WAIT, RESUME, RESCUING),
    _t(RESCUE_WAIT, DONE, RESCUE),
    _t(RESCUE_WAIT, FAIL, RESCUE_FAILED),
    _t(RESCUE_WAIT, "abort", RESCUE_FAILED),
    _t(RESCUE, "rescue", RESCUING),
    _t(RESCUE, "unrescue", UNRESCUING),
    _t(RESCUE, "deleted", DELETING),
    _t(UNRESCUING, DONE, ACTIVE),
    _t(UNRESCUING, FAIL, UNRESCUE_FAILED),
    _t(RESCUE_FAILED, "rescue", RESCUING),
    _t(RESCUE_FAILED, "unrescue", UNRESCUING),
    _t(RESCUE_FAILED, "deleted", DELETING),
    _t(UNRESCUE_FAILED, "rescue", RESCUING),
    _t(UNRESCUE_FAILED, "unrescue", UNRESCUING),
    _t(UNRESCUE_FAILED, "deleted", DELETING),
)

USER_VERBS = frozenset(VERB_MIN_VERSION) - frozenset(VERB_ALIASES)
_TABLE: dict[tuple[str, str], str] = {(t.source, t.event): t.target for t in TRANSITIONS}

# What target_provision_state shows while a verb is being carried out (Ironic's convention).
VERB_GOAL: dict[str, str | None] = {
    "manage": MANAGEABLE,
    "provide": AVAILABLE,
    "inspect": MANAGEABLE,
    "clean": MANAGEABLE,
    "active": ACTIVE,
    "rebuild": ACTIVE,
    "deleted": AVAILABLE,
    "adopt": ACTIVE,
    "rescue": RESCUE,
    "unrescue": ACTIVE,
    "abort": None,
}


def canonical_verb(verb: str) -> str:
    return VERB_ALIASES.get(verb, verb)


def next_state(state: str, event: str) -> str | None:
    """The state `event` leads to from `state`, or None when the table has no such edge."""
    return _TABLE.get((state, canonical_verb(event)))


def allowed_verbs(state: str) -> list[str]:
    """User verbs accepted in `state`, sorted: what the CLI and UI offer."""
    return sorted(e for (s, e) in _TABLE if s == state and e in USER_VERBS)


def goal_of(verb: str, state: str) -> str | None:
    """target_provision_state for `verb` issued in `state`.

    Manual cleaning returns to manageable; everything else has a fixed goal.
    """
    verb = canonical_verb(verb)
    if verb == "manage" and state != ENROLL:
        return None  # a direct move to manageable: no work, no target
    return VERB_GOAL.get(verb)


def done_state(state: str, goal: str | None, *, retired: bool = False) -> str:
    """Where a working state's `done` leads. Manual cleaning returns to manageable, and so does
    any cleaning of a retired node (after `provide` or a tear-down: Ironic's rule, a retired
    node never becomes available again)."""
    if state == CLEANING and (goal == MANAGEABLE or retired):
        return MANAGEABLE
    target = next_state(state, DONE)
    if target is None:
        raise ValueError(f"state {state!r} has no 'done' transition")
    return target


def is_direct(verb: str, state: str) -> bool:
    """True when the verb lands in a stable or failed state without conductor work."""
    target = next_state(state, verb)
    return target is not None and target not in WORKING_STATES


def to_dot() -> str:
    """The machine as a Graphviz digraph; verbs in bold, conductor events in grey."""
    lines = ["digraph provision_states {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for s in sorted(ALL_STATES):
        shape = "box" if s in STABLE_STATES else "ellipse"
        style = {True: ',style=filled,fillcolor="#f4cccc"'}.get(s in FAILED_STATES, "")
        if s in WAIT_STATES:
            style = ",style=dashed"
        lines.append(f'  "{s}" [shape={shape}{style}];')
    for t in TRANSITIONS:
        if t.event in CONDUCTOR_EVENTS:
            attr = f'label="{t.event}",fontcolor=grey40,color=grey40'
        else:
            attr = f"label=<<b>{t.event}</b>>"
        lines.append(f'  "{t.source}" -> "{t.target}" [{attr}];')
    lines.append("}")
    return "\n".join(lines)
