"""A node's traits (`/v1/nodes/{node}/traits`): list, replace, add one, remove one or all.

The rules (valid names, at most 50) are `domain/traits.py`; the storage is the node's JSON list
(`db/traits.py`). Like Ironic, a change needs the node unlocked: a conductor working on the node
holds it, and the operator retries when it is done.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ironworks.common.errors import InvalidInput, NotFound
from ironworks.db import nodes as node_db
from ironworks.db import traits as trait_db
from ironworks.domain import traits as rules
from ironworks.services.context import Services
from ironworks.services.nodes import node_ref


def list_traits(svc: Services, ident: str) -> list[str]:
    with svc.db.read() as conn:
        return list(node_ref(conn, ident)["traits"] or [])


def _check(traits: list[Any]) -> None:
    wrong = rules.bad(traits)
    if wrong:
        raise InvalidInput(rules.INVALID.format(trait=wrong[0]), field="traits")


def _unlocked(conn: sa.Connection, ident: str, purpose: str) -> dict[str, Any]:
    node = node_ref(conn, ident)
    if node["reservation"] is not None:
        raise node_db.locked_error(node, node["reservation"], purpose)
    return node


def _store(conn: sa.Connection, node: dict[str, Any], traits: list[str]) -> None:
    if len(traits) > rules.MAX_PER_NODE:
        raise InvalidInput(
            f"Could not modify traits for node {node['uuid']}: it would have {len(traits)} "
            f"traits, more than the maximum of {rules.MAX_PER_NODE} per node. Remove some first.",
            field="traits",
        )
    trait_db.store(conn, node["id"], traits)


def set_traits(svc: Services, ident: str, body: Any) -> None:
    """Replace the node's traits with `body["traits"]`."""
    if not isinstance(body, dict) or set(body) != {"traits"}:
        raise InvalidInput('the body must be {"traits": [...]}', field="traits")
    traits = body["traits"]
    if not isinstance(traits, list):
        raise InvalidInput("traits must be a list of trait names", field="traits")
    _check(traits)
    with svc.db.write() as conn:
        node = _unlocked(conn, ident, "set traits")
        trait_db.locked(conn, node["id"])
        _store(conn, node, rules.merged([], traits))


def add_trait(svc: Services, ident: str, trait: str) -> None:
    """Add one trait; adding one the node has already changes nothing."""
    _check([trait])
    with svc.db.write() as conn:
        node = _unlocked(conn, ident, "add a trait")
        current = trait_db.locked(conn, node["id"])
        if trait not in current:
            _store(conn, node, rules.merged(current, [trait]))


def remove_trait(svc: Services, ident: str, trait: str | None) -> None:
    """Remove one trait (NotFound when the node lacks it), or all of them (`trait` None)."""
    with svc.db.write() as conn:
        node = _unlocked(conn, ident, "remove traits")
        current = trait_db.locked(conn, node["id"])
        if trait is None:
            if current:
                trait_db.store(conn, node["id"], [])
            return
        if trait not in current:
            raise NotFound(f"Node {node['uuid']} doesn't have a trait '{trait}'.")
        trait_db.store(conn, node["id"], [t for t in current if t != trait])
