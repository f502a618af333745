"""Deploy templates (`/v1/deploy_templates`, Ironic's API 1.55) and runbooks (`/v1/runbooks`,
1.92): named lists of steps, and how a provision request uses them.

A deploy template's name is a trait; a deploy whose instance_info `traits` name it adds the
template's steps to the deploy (a step of priority 0 is disabled; a step the request's own
`deploy_steps` name again takes the request's arguments and priority), as Ironic. A runbook's
name is a trait too: `clean` with `runbook` runs its steps, in `order`, on a node that carries
the trait, when the runbook is public or has the node's owner.

Steps are checked twice: here, when the list is saved, against every step some registered
interface declares (drivers/registry.known_steps: a template names no node); and again when a
node uses it, against that node's interfaces (services/steps.py).
"""

from __future__ import annotations

from typing import Any, Literal

import jsonpatch
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.common.ids import is_uuid_like, new_uuid
from ironworks.db import step_lists as db
from ironworks.domain import traits as trait_rules
from ironworks.drivers.declared_steps import StepKind
from ironworks.drivers.registry import interfaces_for, known_steps
from ironworks.services import steps as steps_svc
from ironworks.services.context import Caller, Services

Kind = Literal["deploy_templates", "runbooks"]


class _Spec:
    """What differs between the two lists."""

    def __init__(
        self,
        kind: Kind,
        noun: str,
        order_key: str,
        step_kinds: tuple[StepKind, ...],
        fields: frozenset[str],
    ) -> None:
        self.kind, self.noun, self.order_key = kind, noun, order_key
        self.step_kinds, self.fields = step_kinds, fields


SPECS: dict[str, _Spec] = {
    "deploy_templates": _Spec(
        "deploy_templates",
        "Deploy template",
        "priority",
        ("deploy",),
        frozenset({"uuid", "name", "steps", "extra"}),
    ),
    "runbooks": _Spec(
        "runbooks",
        "Runbook",
        "order",
        ("clean", "service"),
        frozenset(
            {"uuid", "name", "steps", "extra", "owner", "public", "disable_ramdisk", "description"}
        ),
    ),
}


def _row(conn: Connection, spec: _Spec, ident: str) -> dict[str, Any]:
    row = db.get(conn, spec.kind, ident)
    if row is None:
        raise NotFound(f"{spec.noun} {ident} could not be found.")
    return row


def _check_steps(spec: _Spec, raw: Any) -> list[dict[str, Any]]:
    """The list's steps: each a declared step of some interface, its required arguments
    given, no step twice."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("steps must be a non-empty list of steps", field="steps")
    known: dict[tuple[str, str], dict[str, Any]] = {}
    for k in spec.step_kinds:
        for key, st in known_steps(k).items():
            known.setdefault(key, st)
    out, seen = [], set()
    for i, item in enumerate(raw):
        field = f"steps/{i}"
        st = steps_svc.shape(item, field, extra=frozenset({spec.order_key}))
        if spec.order_key not in st:
            raise InvalidInput(
                f"{field} needs '{spec.order_key}'", field=f"{field}/{spec.order_key}"
            )
        key = (st["interface"], st["step"])
        declared = known.get(key)
        if declared is None:
            offered = ", ".join(sorted(f"{a}.{b}" for a, b in known)) or "none"
            raise InvalidInput(
                f"{field}: no driver declares the {'/'.join(spec.step_kinds)} step "
                f"{key[0]}.{key[1]}; declared: {offered}",
                field=field,
            )
        steps_svc.check_args(declared, st["args"], field)
        if spec.kind == "deploy_templates" and key in seen:
            raise InvalidInput(f"{field}: step {key[0]}.{key[1]} is given twice", field=field)
        seen.add(key)
        out.append(st)
    return out


def _check(spec: _Spec, doc: dict[str, Any]) -> dict[str, Any]:
    """A whole document (a create body, or a row after a patch): its values for the table."""
    unknown = sorted(set(doc) - spec.fields)
    if unknown:
        raise InvalidInput(
            f"Additional properties are not allowed ('{unknown[0]}' was unexpected)",
            field=unknown[0],
        )
    name = doc.get("name")
    if not trait_rules.is_valid(name):
        raise InvalidInput(
            f"{spec.noun} name {name!r} is not a valid trait: "
            + trait_rules.INVALID.format(trait=name),
            field="name",
        )
    extra = doc.get("extra")
    if extra is None:
        extra = {}
    if not isinstance(extra, dict):
        raise InvalidInput("extra must be a JSON object", field="extra")
    values: dict[str, Any] = {
        "name": name,
        "steps": _check_steps(spec, doc.get("steps")),
        "extra": extra,
    }
    if spec.kind == "runbooks":
        for f in ("public", "disable_ramdisk"):
            value = doc.get(f, False)
            if not isinstance(value, bool):
                raise InvalidInput(f"{f} must be true or false", field=f)
            values[f] = value
        for f in ("owner", "description"):
            value = doc.get(f)
            if value is not None and not isinstance(value, str):
                raise InvalidInput(f"{f} must be a string or null", field=f)
            values[f] = value
        if values["public"] and values["owner"]:
            raise InvalidInput("a public runbook cannot have an owner", field="public")
    return values


def create(svc: Services, kind: Kind, body: Any, caller: Caller) -> dict[str, Any]:
    spec = SPECS[kind]
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    values = _check(spec, body)
    uuid = body.get("uuid")
    if uuid is not None and (not isinstance(uuid, str) or not is_uuid_like(uuid)):
        raise InvalidInput(f"Expected a UUID but received {uuid}.", field="uuid")
    values["uuid"] = (uuid or new_uuid()).lower()
    try:
        with svc.db.write() as conn:
            db.add(conn, kind, values)
            caller.acted_on(kind.rstrip("s"), values["uuid"], values["name"])
            return _row(conn, spec, values["uuid"])
    except IntegrityError:
        raise Conflict(
            f"A {spec.noun.lower()} with name {values['name']} or UUID {values['uuid']} "
            "already exists."
        ) from None


def get(svc: Services, kind: Kind, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _row(conn, SPECS[kind], ident)


def list_rows(
    svc: Services,
    kind: Kind,
    *,
    sort_key: str,
    sort_dir: str,
    marker: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        return db.page(
            conn, kind, {}, sort_key=sort_key, sort_dir=sort_dir, marker=marker, limit=limit
        )


def patch(svc: Services, kind: Kind, ident: str, ops: Any, caller: Caller) -> dict[str, Any]:
    """A JSON patch of the list's fields (not its uuid), checked whole afterwards."""
    spec = SPECS[kind]
    if not isinstance(ops, list) or not ops:
        raise InvalidInput("the body must be a non-empty JSON patch (a list of operations)")
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise InvalidInput(f"patch operation {i} needs 'op' and 'path'", field="patch")
        top = op["path"].split("/")[1] if op["path"].startswith("/") else ""
        if top not in spec.fields - {"uuid"}:
            raise InvalidInput(f"Cannot update {op['path']}", field=top or "patch")
    with svc.db.write() as conn:
        row = _row(conn, spec, ident)
        doc = {f: row[f] for f in spec.fields - {"uuid"}}
        try:
            new = jsonpatch.apply_patch(doc, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as e:
            raise InvalidInput(f"cannot apply the patch: {e}", field="patch") from None
        values = _check(spec, new)
        caller.acted_on(kind.rstrip("s"), row["uuid"], row["name"])
        try:
            with conn.begin_nested():
                db.update(conn, kind, row["id"], values)
        except IntegrityError:
            raise Conflict(
                f"A {spec.noun.lower()} with name {values['name']} already exists."
            ) from None
        return _row(conn, spec, row["uuid"])


def delete(svc: Services, kind: Kind, ident: str, caller: Caller) -> None:
    spec = SPECS[kind]
    with svc.db.write() as conn:
        row = _row(conn, spec, ident)
        caller.acted_on(kind.rstrip("s"), row["uuid"], row["name"])
        db.delete(conn, kind, row["id"])


# --- use by a provision request (services/operations.py) ----------------------------------------


def runbook_for_node(conn: Connection, node: dict[str, Any], ident: Any) -> dict[str, Any]:
    """The runbook `ident` names, if this node may run it: its traits carry the runbook's name,
    and the runbook has no owner (public, or the cloud admin's) or its owner owns or leases the
    node (Ironic's rules)."""
    if not isinstance(ident, str) or not ident:
        raise InvalidInput("runbook must be a runbook's name or UUID", field="runbook")
    book = db.get(conn, "runbooks", ident)
    if book is None:
        raise InvalidInput(f"Runbook {ident} could not be found.", field="runbook")
    if book["name"] not in (node.get("traits") or []):
        raise InvalidInput(
            f"Runbook {book['name']} cannot run on node {node['uuid']}: the node does not have "
            f"the trait {book['name']}",
            field="runbook",
        )
    if book["owner"] and book["owner"] not in (node.get("owner"), node.get("lessee")):
        raise InvalidInput(
            f"Runbook {book['name']} belongs to project {book['owner']}, which neither owns "
            f"nor leases node {node['uuid']}",
            field="runbook",
        )
    return book


def ordered(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A runbook's steps in their `order`, as clean steps."""
    return [
        {"interface": s["interface"], "step": s["step"], "args": s.get("args") or {}}
        for s in sorted(steps, key=lambda s: int(s.get("order", 0)))
    ]


def deploy_steps(conn: Connection, node: dict[str, Any], requested: Any) -> list[dict[str, Any]]:
    """The steps a deploy adds: those of the deploy templates the instance's traits name, and
    the request's `deploy_steps` (which win over a template's same step), each checked
    against the node's interfaces."""
    ifaces = interfaces_for(node)
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    traits = (node.get("instance_info") or {}).get("traits") or []
    if not isinstance(traits, list) or not all(isinstance(t, str) for t in traits):
        raise InvalidInput("instance_info/traits must be a list of traits", field="instance_info")
    for template in db.by_names(conn, "deploy_templates", traits):
        where = f"deploy template {template['name']} (instance_info/traits)"
        enabled = [s for s in template["steps"] if int(s.get("priority", 0)) > 0]
        if not enabled:
            continue
        for st in steps_svc.for_node(ifaces, "deploy", enabled, where, need_priority=True):
            merged[(st["interface"], st["step"])] = st
    if requested is not None:
        for st in steps_svc.for_node(
            ifaces, "deploy", requested, "deploy_steps", need_priority=True
        ):
            merged[(st["interface"], st["step"])] = st
    return [s for s in merged.values() if s.get("priority", 0) > 0]
