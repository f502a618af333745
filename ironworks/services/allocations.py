"""Allocations (`/v1/allocations`, Ironic's API 1.52+): ask for a node by resource class,
traits and candidates; get one, or an allocation in `error` saying why.

Ironic answers 201 with `allocating` and a conductor looks for a node afterwards. Here the look
and the claim happen in the request's own transaction, with the compare-and-set the host
scheduler uses (db/scheduling.py): the allocation row, the node's `instance_uuid` and
`allocation_uuid` and the allocation's node are written together or not at all, nothing is left
`allocating` by a crash, and concurrent allocations never share a node. The answer is the
allocation already `active` or `error`; clients that wait for it (openstacksdk's
`wait_for_allocation`, metalsmith) see the end state at once.

Backfill (1.58, `node` in the body) records an allocation for a node that is already deployed.
Deleting an allocation frees its node (instance_uuid and allocation_uuid cleared), refused while
the node is active or busy unless it is in maintenance; a node's tear-down deletes its
allocation (conductor).
"""

from __future__ import annotations

import random
from typing import Any

import jsonpatch
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotAcceptable, NotFound
from ironworks.common.ids import is_uuid_like, is_valid_name, new_uuid
from ironworks.db import allocations as alloc_db
from ironworks.db import nodes as node_db
from ironworks.db import scheduling
from ironworks.domain import allocations as rules
from ironworks.domain import states
from ironworks.domain import traits as trait_rules
from ironworks.domain import versions as v
from ironworks.services.context import Caller, Services
from ironworks.services.nodes import node_ref

_shuffle = random.SystemRandom().shuffle


def _not_found(ident: str) -> NotFound:
    return NotFound(f"Allocation {ident} could not be found.")


def _row(conn: sa.Connection, ident: str) -> dict[str, Any]:
    row = alloc_db.get(conn, ident)
    if row is None:
        raise _not_found(ident)
    return row


def _check_name(name: Any, verb: str) -> None:
    if name is None:
        return
    if not isinstance(name, str) or not is_valid_name(name) or is_uuid_like(name):
        raise InvalidInput(f"Cannot {verb} allocation with invalid name '{name}'", field="name")


def _check_body(body: Any, version: v.Version) -> dict[str, Any]:
    """The create body's fields checked for type and version (400 naming the field; 406 for a
    field newer than the request's version, as Ironic)."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="allocation")
    unknown = sorted(set(body) - rules.FIELDS)
    if unknown:
        raise InvalidInput(
            f"Additional properties are not allowed ('{unknown[0]}' was unexpected)",
            field=unknown[0],
        )
    if body.get("owner") is not None and version < v.ALLOCATION_OWNER:
        raise NotAcceptable(
            f"Request not acceptable. The minimal required API version should be "
            f"{v.fmt(v.ALLOCATION_OWNER)} for field owner"
        )
    if body.get("node") is not None and version < v.ALLOCATION_BACKFILL:
        raise InvalidInput(
            "Cannot set node when creating an allocation in this API version", field="node"
        )
    for f in ("name", "node", "owner", "resource_class", "uuid"):
        if body.get(f) is not None and not isinstance(body[f], str):
            raise InvalidInput(f"{f} must be a string or null", field=f)
    for f in ("candidate_nodes", "traits"):
        val = body.get(f)
        if val is not None and (
            not isinstance(val, list) or not all(isinstance(x, str) for x in val)
        ):
            raise InvalidInput(f"{f} must be a list of strings", field=f)
    if body.get("extra") is not None and not isinstance(body["extra"], dict):
        raise InvalidInput("extra must be a JSON object", field="extra")
    rc = body.get("resource_class")
    if rc is not None and len(rc) > rules.RESOURCE_CLASS_MAX:
        raise InvalidInput(
            f"resource_class is longer than {rules.RESOURCE_CLASS_MAX} characters",
            field="resource_class",
        )
    wrong = trait_rules.bad(body.get("traits") or [])
    if wrong:
        raise InvalidInput(trait_rules.INVALID.format(trait=wrong[0]), field="traits")
    uuid = body.get("uuid")
    if uuid is not None and not is_uuid_like(uuid):
        raise InvalidInput(f"Expected a UUID but received {uuid}.", field="uuid")
    _check_name(body.get("name"), "create")
    return body


def _candidates(conn: sa.Connection, idents: list[str]) -> list[str]:
    """The candidate nodes as uuids, in the order given (400 for any that does not exist)."""
    found = alloc_db.node_refs(conn, idents)
    missing = [i for i in idents if i not in found]
    if missing:
        raise InvalidInput(f"Nodes cannot be found: {', '.join(missing)}", field="candidate_nodes")
    return list(dict.fromkeys(found[i] for i in idents))


def create(svc: Services, body: Any, caller: Caller) -> dict[str, Any]:
    body = _check_body(body, caller.version)
    traits = list(dict.fromkeys(body.get("traits") or []))
    try:
        with svc.db.write() as conn:
            node = None
            if body.get("node") is not None:
                try:
                    node = node_db.get_node(conn, body["node"])
                except NotFound:
                    raise InvalidInput(
                        f"Node {body['node']} could not be found.", field="node"
                    ) from None
            rc = body.get("resource_class") or (node["resource_class"] if node else None)
            if not rc:
                raise InvalidInput(
                    "The resource_class field is mandatory when not backfilling",
                    field="resource_class",
                )
            candidates = _candidates(conn, body.get("candidate_nodes") or [])
            uuid = (body.get("uuid") or "").lower() or (
                node["instance_uuid"] if node and node["instance_uuid"] else new_uuid()
            )
            values = {
                "uuid": uuid,
                "name": body.get("name"),
                "state": rules.ALLOCATING,
                "resource_class": rc,
                "traits": traits,
                "candidate_nodes": candidates,
                "extra": body.get("extra") or {},
                "owner": body.get("owner"),
            }
            alloc_id = alloc_db.add(conn, values)
            if node is not None:
                _backfill(conn, alloc_id, values, node)
            else:
                _allocate(conn, alloc_id, values)
            row = _row(conn, uuid)
            caller.acted_on("allocation", row["uuid"], row["name"])
            return row
    except IntegrityError as e:
        text = str(e.orig).lower()
        if "name" in text:
            raise Conflict(f"An allocation with name {body.get('name')} already exists.") from None
        if "instance_uuid" in text:
            raise Conflict(
                f"Instance {body.get('uuid')} is already associated with a node, it cannot be "
                "associated with this other node",
                field="uuid",
            ) from None
        raise Conflict(f"An allocation with UUID {body.get('uuid')} already exists.") from None


def _allocate(conn: sa.Connection, alloc_id: int, a: dict[str, Any]) -> None:
    """Give the allocation a free node that fits, or record why there is none."""
    free = scheduling.free_nodes(conn)
    fitting = [
        n for n in free if rules.fits(n, a["resource_class"], a["candidate_nodes"], a["owner"])
    ]
    if not fitting:
        error = rules.no_match(a["resource_class"], bool(a["candidate_nodes"]))
    else:
        fitting = [n for n in fitting if rules.has_traits(n, a["traits"])]
        error = rules.no_traits(a["traits"]) if not fitting else rules.ALL_TAKEN
    for node in rules.ordered(fitting, a["name"], _shuffle):
        info = {**(node["instance_info"] or {}), "traits": a["traits"]}
        if scheduling.claim_node(
            conn, node["id"], a["uuid"], allocation_uuid=a["uuid"], instance_info=info
        ):
            alloc_db.finish(conn, alloc_id, rules.ACTIVE, node_id=node["id"], error=None)
            return
    alloc_db.finish(conn, alloc_id, rules.ERROR, node_id=None, error=rules.failed(a["uuid"], error))


def _backfill(conn: sa.Connection, alloc_id: int, a: dict[str, Any], node: dict[str, Any]) -> None:
    """Record the allocation of an already deployed node (Ironic's checks, refused with 400/409
    and nothing written, where Ironic leaves an allocation in error behind a 500)."""
    locked = alloc_db.locked_node(conn, node["id"])
    if locked["instance_uuid"] and locked["instance_uuid"] != a["uuid"]:
        raise Conflict(
            f"Node {node['uuid']} is associated with instance {locked['instance_uuid']}.",
            field="node",
        )
    if locked["allocation_uuid"]:
        raise Conflict(
            f"Node {node['uuid']} already has allocation {locked['allocation_uuid']}.",
            field="node",
        )
    errors = []
    if locked["provision_state"] != states.ACTIVE:
        errors.append(
            f'Node must be in the "active" state, but the current state is '
            f'"{locked["provision_state"]}"'
        )
    if locked["resource_class"] != a["resource_class"]:
        errors.append(
            f"Resource class {locked['resource_class']} does not match the requested resource "
            f"class {a['resource_class']}"
        )
    if not rules.has_traits(locked, a["traits"]):
        errors.append(
            f"List of traits {locked['traits']} does not match the requested traits {a['traits']}"
        )
    if a["candidate_nodes"] and node["uuid"] not in a["candidate_nodes"]:
        errors.append(
            "Candidate nodes must be empty or contain the target node, but got "
            f"{a['candidate_nodes']}"
        )
    if errors:
        raise InvalidInput(
            rules.failed(
                a["uuid"],
                f"Cannot backfill an allocation for node {node['uuid']}: {'; '.join(errors)}",
            ),
            field="node",
        )
    alloc_db.hold_active(conn, node["id"], a["uuid"], a["traits"])
    alloc_db.finish(conn, alloc_id, rules.ACTIVE, node_id=node["id"], error=None)


def get(svc: Services, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _row(conn, ident)


def of_node(svc: Services, node_ident: str) -> dict[str, Any]:
    """The allocation holding a node (404 if the node or its allocation does not exist)."""
    with svc.db.read() as conn:
        node = node_ref(conn, node_ident)
        row = alloc_db.of_node(conn, node["id"])
        if row is None:
            raise NotFound(f"Allocation for node {node_ident} was not found")
        return row


def list_allocations(
    svc: Services,
    filters: dict[str, Any],
    *,
    sort_key: str,
    sort_dir: str,
    marker: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Allocations by resource_class, state, owner and node (a uuid or name: 400 if unknown)."""
    if filters.get("state") is not None and filters["state"] not in rules.STATES:
        raise InvalidInput(
            f"state {filters['state']!r} is not one of {', '.join(rules.STATES)}", field="state"
        )
    if sort_key in ("extra", "candidate_nodes", "traits"):
        raise InvalidInput(
            f"The sort_key value {sort_key} is an invalid field for sorting", field="sort_key"
        )
    with svc.db.read() as conn:
        where = {k: val for k, val in filters.items() if val is not None and k != "node"}
        if filters.get("node") is not None:
            try:
                where["node_id"] = node_db.get_node(conn, filters["node"])["id"]
            except NotFound:
                raise InvalidInput(
                    f"Node {filters['node']} could not be found.", field="node"
                ) from None
        return alloc_db.page(
            conn, where, sort_key=sort_key, sort_dir=sort_dir, marker=marker, limit=limit
        )


def patch(svc: Services, ident: str, ops: Any, caller: Caller) -> dict[str, Any]:
    """Change an allocation's name or extra (1.57)."""
    if not isinstance(ops, list) or not ops:
        raise InvalidInput("the body must be a non-empty JSON patch (a list of operations)")
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise InvalidInput(f"patch operation {i} needs 'op' and 'path'", field="patch")
        top = op["path"].split("/")[1] if op["path"].startswith("/") else ""
        if top not in rules.PATCHABLE:
            raise InvalidInput(f"Cannot update {op['path']}: only name and extra", field=top)
    with svc.db.write() as conn:
        row = _row(conn, ident)
        doc = {"name": row["name"], "extra": row["extra"] or {}}
        try:
            new = jsonpatch.apply_patch(doc, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as e:
            raise InvalidInput(f"cannot apply the patch: {e}", field="patch") from None
        _check_name(new.get("name"), "update")
        extra = new.get("extra")
        if extra is not None and not isinstance(extra, dict):
            raise InvalidInput("extra must be a JSON object", field="extra")
        changes = {"name": new.get("name"), "extra": extra or {}}
        caller.acted_on("allocation", row["uuid"], row["name"])
        try:
            with conn.begin_nested():
                alloc_db.update(conn, row["id"], changes)
        except IntegrityError:
            raise Conflict(f"An allocation with name {changes['name']} already exists.") from None
        return _row(conn, row["uuid"])


def delete(svc: Services, ident: str, caller: Caller) -> None:
    with svc.db.write() as conn:
        _delete(conn, _row(conn, ident), caller)


def delete_of_node(svc: Services, node_ident: str, caller: Caller) -> None:
    with svc.db.write() as conn:
        node = node_ref(conn, node_ident)
        row = alloc_db.of_node(conn, node["id"])
        if row is None:
            raise NotFound(f"Allocation for node {node_ident} was not found")
        _delete(conn, row, caller)


def _delete(conn: sa.Connection, row: dict[str, Any], caller: Caller) -> None:
    caller.acted_on("allocation", row["uuid"], row["name"])
    if row["node_id"] is not None:
        node = alloc_db.locked_node(conn, row["node_id"])
        if node["reservation"] is not None:
            raise node_db.locked_error(node, node["reservation"], "remove an allocation")
        why = rules.removal_refused(node, row["uuid"])
        if why:
            raise Conflict(why)
    alloc_db.delete(conn, row)
