"""Allocations (Ironic's, API 1.52+): a request for one node by resource class, traits and an
optional list of candidates, and the rules a node must meet to be given to one.

An allocation is `allocating` while it is processed, `active` once it holds a node (the node's
`instance_uuid` and `allocation_uuid` are the allocation's uuid), `error` when no node could be
given (`last_error` says why, in Ironic's words, so scripts matching them keep working).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ironworks.domain import states

ALLOCATING: Final = "allocating"
ACTIVE: Final = "active"
ERROR: Final = "error"
STATES: Final = (ALLOCATING, ACTIVE, ERROR)

# The body of POST /v1/allocations; the fields a PATCH may change.
FIELDS: Final = frozenset(
    {"candidate_nodes", "extra", "name", "node", "owner", "resource_class", "traits", "uuid"}
)
PATCHABLE: Final = ("name", "extra")
RESOURCE_CLASS_MAX: Final = 80


def fits(
    node: Mapping[str, Any],
    resource_class: str,
    candidates: Iterable[str] = (),
    owner: str | None = None,
) -> bool:
    """Whether a free node fits an allocation but for its traits: the resource class, one of the
    candidate uuids (when there are any), owned or leased by `owner` (when given)."""
    if node.get("resource_class") != resource_class:
        return False
    wanted = set(candidates)
    if wanted and node["uuid"] not in wanted:
        return False
    return owner is None or owner in (node.get("owner"), node.get("lessee"))


def has_traits(node: Mapping[str, Any], traits: Iterable[str]) -> bool:
    """Whether the node has every trait asked for."""
    return set(traits) <= set(node.get("traits") or ())


def failed(uuid: str, error: str) -> str:
    """`last_error` of an allocation that got no node (Ironic's AllocationFailed)."""
    return f"Failed to process allocation {uuid}: {error}."


def no_match(resource_class: str, with_candidates: bool) -> str:
    if with_candidates:
        return (
            "none of the requested nodes are available and match the resource class "
            + resource_class
        )
    return f"no available nodes match the resource class {resource_class}"


def no_traits(traits: Iterable[str]) -> str:
    return "no suitable nodes have the requested traits " + ", ".join(traits)


ALL_TAKEN: Final = "all nodes were filtered out during reservation"


def ordered(nodes: list[dict[str, Any]], name: str | None, shuffle: Any) -> list[dict[str, Any]]:
    """The order to try free nodes in: shuffled, so concurrent allocations do not all queue
    on the same first node; a node named like the allocation first (Ironic's rule)."""
    out = list(nodes)
    shuffle(out)
    if name:
        for i, n in enumerate(out):
            if n.get("name") == name:
                out.insert(0, out.pop(i))
                break
    return out


def removal_refused(node: Mapping[str, Any], allocation_uuid: str) -> str | None:
    """Why an allocation may not be removed from its node now (Ironic's rule), or None: in
    maintenance always; otherwise not while the node is active, nor in the middle of an
    operation other than inspection, cleaning's wait or a failure."""
    if node.get("maintenance"):
        return None
    state = node["provision_state"]
    if node.get("target_provision_state") and state not in _UPDATE_ALLOWED:
        return (
            f"Cannot remove allocation {allocation_uuid} for node {node['uuid']}, because the "
            f"node is in state {state} where updates are not allowed (and maintenance mode is "
            "off)"
        )
    if state == states.ACTIVE:
        return (
            f"Cannot remove allocation {allocation_uuid} for node {node['uuid']}, because the "
            "node is active (and maintenance mode is off)"
        )
    return None


_UPDATE_ALLOWED: Final = states.FAILED_STATES | {
    states.INSPECTING,
    states.INSPECT_WAIT,
    states.CLEAN_WAIT,
}
