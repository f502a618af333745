"""Volume connectors and targets (Ironic's boot-from-volume records) of a node: create, show,
list, change (JSON patch), delete. `which` is "connectors" or "targets".

Ironic's rule: a connector or target is changed or deleted only while its node is powered off
(and, when a change moves it, the other node too); otherwise 400, as Ironic's
InvalidStateRequested. A node locked by a conductor answers 409.
"""

from __future__ import annotations

from typing import Any

import jsonpatch
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.common.ids import new_uuid
from ironworks.db import nodes as node_db
from ironworks.db import volumes as volume_db
from ironworks.domain.power import POWER_OFF
from ironworks.services.context import Services

# which -> (the word in messages, the writable fields and their types)
VOLUME: dict[str, tuple[str, dict[str, type]]] = {
    "connectors": ("Volume connector", {"type": str, "connector_id": str, "extra": dict}),
    "targets": (
        "Volume target",
        {
            "volume_type": str,
            "properties": dict,
            "boot_index": int,
            "volume_id": str,
            "extra": dict,
        },
    ),
}


def _volume(conn: sa.Connection, which: str, ident: str) -> dict[str, Any]:
    row = volume_db.get(conn, which, ident)
    if row is None:
        raise NotFound(f"{VOLUME[which][0]} {ident} could not be found.")
    return row


def create_volume(svc: Services, which: str, body: dict[str, Any]) -> dict[str, Any]:
    word, fields = VOLUME[which]
    unknown = set(body) - set(fields) - {"uuid", "node_uuid"}
    if unknown:
        raise InvalidInput(f"unknown attribute {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    values: dict[str, Any] = {}
    for f, typ in fields.items():
        val = body.get(f, {} if typ is dict else None)
        if val is None or isinstance(val, bool) or not isinstance(val, typ):
            raise InvalidInput(f"{f} is required and must be a {typ.__name__}", field=f)
        values[f] = val
    values["uuid"] = str(body.get("uuid") or new_uuid()).lower()
    try:
        with svc.db.write() as conn:
            try:
                values["node_id"] = node_db.get_node(conn, str(body.get("node_uuid")))["id"]
            except NotFound:
                raise InvalidInput(
                    f"node {body.get('node_uuid')} does not exist", field="node_uuid"
                ) from None
            volume_db.add(conn, which, values)
            return _volume(conn, which, values["uuid"])
    except IntegrityError:
        raise Conflict(
            f"{word} conflicts with an existing one (same identifier or boot index)"
        ) from None


def get_volume(svc: Services, which: str, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _volume(conn, which, ident)


def list_volume(svc: Services, which: str, node: str | None, limit: int) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        node_id = node_db.get_node(conn, node)["id"] if node else None
        return volume_db.page(conn, which, node_id, limit)


def _check_type(f: str, typ: type, val: Any) -> None:
    if val is None or isinstance(val, bool) or not isinstance(val, typ):
        raise InvalidInput(f"{f} is required and must be a {typ.__name__}", field=f)


def _powered_off(conn: sa.Connection, which: str, node_id: int, action: str) -> None:
    """Ironic's rule for changing and deleting volumes: the node is powered off and unlocked."""
    node = volume_db.locked_node(conn, node_id)
    if node["reservation"] is not None:
        raise node_db.locked_error(node, node["reservation"], action)
    if node["power_state"] != POWER_OFF:
        raise InvalidInput(
            f'The requested action "{action}" can not be performed on node "{node["uuid"]}" '
            f'while it is in state "{node["power_state"]}". Power the node off first.',
            field="node_uuid",
        )


def patch_volume(svc: Services, which: str, ident: str, ops: Any) -> dict[str, Any]:
    """Change a connector's or target's fields or node by JSON patch."""
    word, fields = VOLUME[which]
    action = f"{word.lower()} update"
    if not isinstance(ops, list) or not ops:
        raise InvalidInput("the body must be a non-empty JSON patch (a list of operations)")
    allowed = {*fields, "node_uuid"}
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise InvalidInput(f"patch operation {i} needs 'op' and 'path'", field="patch")
        top = op["path"].split("/")[1] if op["path"].startswith("/") else ""
        if top not in allowed:
            raise InvalidInput(
                f"Cannot update {op['path']}: one of {', '.join(sorted(allowed))}",
                field=top or "patch",
            )
    with svc.db.write() as conn:
        row = _volume(conn, which, ident)
        doc = {f: row[f] for f in allowed}
        try:
            new = jsonpatch.apply_patch(doc, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as e:
            raise InvalidInput(f"cannot apply the patch: {e}", field="patch") from None
        changes: dict[str, Any] = {}
        for f, typ in fields.items():
            val = new.get(f, {} if typ is dict else None)
            if typ is dict and val is None:
                val = {}
            _check_type(f, typ, val)
            if val != row[f]:
                changes[f] = val
        _powered_off(conn, which, row["node_id"], action)
        if new.get("node_uuid") != row["node_uuid"]:
            try:
                node = node_db.get_node(conn, str(new.get("node_uuid")))
            except NotFound:
                raise InvalidInput(
                    f"node {new.get('node_uuid')} does not exist", field="node_uuid"
                ) from None
            _powered_off(conn, which, node["id"], action)
            changes["node_id"] = node["id"]
        if changes:
            try:
                with conn.begin_nested():
                    volume_db.update(conn, which, row["id"], changes)
            except IntegrityError:
                raise Conflict(
                    f"{word} conflicts with an existing one (same identifier or boot index)"
                ) from None
        return _volume(conn, which, row["uuid"])


def delete_volume(svc: Services, which: str, ident: str) -> None:
    with svc.db.write() as conn:
        row = _volume(conn, which, ident)
        _powered_off(conn, which, row["node_id"], f"{VOLUME[which][0].lower()} deletion")
        volume_db.delete(conn, which, row["id"])
