"""Inspection rules (`/v1/inspection_rules`, Ironic's API 1.96): create, list, show, change
(JSON patch) and delete them. What a rule may say is checked by domain/inspection_rules.py, the
same module the conductor runs them with at the end of an inspection."""

from __future__ import annotations

from typing import Any

import jsonpatch
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.common.ids import is_uuid_like, new_uuid
from ironworks.db import inspection_rules as rule_db
from ironworks.domain import inspection_rules as rules
from ironworks.services.context import Caller, Services


def _not_found(ident: str) -> NotFound:
    return NotFound(f"Inspection rule {ident} could not be found.")


def _row(conn: sa.Connection, ident: str) -> dict[str, Any]:
    row = rule_db.get(conn, ident)
    if row is None:
        raise _not_found(ident)
    return row


def create(svc: Services, body: Any, caller: Caller) -> dict[str, Any]:
    values = rules.check_rule(body)
    uuid = body.get("uuid")
    if uuid is not None and (not isinstance(uuid, str) or not is_uuid_like(uuid)):
        raise InvalidInput(f"Expected a UUID but received {uuid}.", field="uuid")
    values["uuid"] = (uuid or new_uuid()).lower()
    try:
        with svc.db.write() as conn:
            rule_db.add(conn, values)
            caller.acted_on("inspection_rule", values["uuid"], values["description"])
            return _row(conn, values["uuid"])
    except IntegrityError:
        raise Conflict(
            f"An inspection rule with UUID {values['uuid']} already exists.", field="uuid"
        ) from None


def get(svc: Services, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _row(conn, ident)


def list_rules(
    svc: Services,
    *,
    phase: str | None,
    sort_key: str,
    sort_dir: str,
    marker: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    if phase is not None and phase not in rules.PHASES:
        raise InvalidInput(f"phase must be one of {', '.join(rules.PHASES)}", field="phase")
    with svc.db.read() as conn:
        return rule_db.page(
            conn, phase=phase, sort_key=sort_key, sort_dir=sort_dir, marker=marker, limit=limit
        )


def patch(svc: Services, ident: str, ops: Any, caller: Caller) -> dict[str, Any]:
    """Change a rule by JSON patch; the whole result is checked again like a new rule."""
    if not isinstance(ops, list) or not ops:
        raise InvalidInput("the body must be a non-empty JSON patch (a list of operations)")
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise InvalidInput(f"patch operation {i} needs 'op' and 'path'", field="patch")
        top = op["path"].split("/")[1] if op["path"].startswith("/") else ""
        if top not in rules.PATCHABLE:
            raise InvalidInput(
                f"Cannot update {op['path']}: one of {', '.join(sorted(rules.PATCHABLE))}",
                field=top or "patch",
            )
    with svc.db.write() as conn:
        row = _row(conn, ident)
        doc = {k: row[k] for k in rules.PATCHABLE}
        try:
            new = jsonpatch.apply_patch(doc, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as e:
            raise InvalidInput(f"cannot apply the patch: {e}", field="patch") from None
        values = rules.check_rule(new)
        changes = {k: val for k, val in values.items() if val != row[k]}
        caller.acted_on("inspection_rule", row["uuid"], row["description"])
        if changes:
            rule_db.update(conn, row["id"], changes)
        return _row(conn, row["uuid"])


def delete(svc: Services, ident: str, caller: Caller) -> None:
    with svc.db.write() as conn:
        row = _row(conn, ident)
        caller.acted_on("inspection_rule", row["uuid"], row["description"])
        rule_db.delete(conn, row["id"])


def delete_all(svc: Services, caller: Caller) -> None:
    """Delete every rule (Ironic's `DELETE /v1/inspection_rules`; Ironworks has no built-in
    rules to keep)."""
    with svc.db.write() as conn:
        caller.acted_on("inspection_rule", "*", "all inspection rules")
        rule_db.delete_all(conn)
