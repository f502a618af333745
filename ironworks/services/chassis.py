"""Chassis (Ironic's grouping of nodes): create, show, list, patch its description and
`extra`, delete when no node is in it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.common.ids import is_uuid_like, new_uuid
from ironworks.common.inputs import LINE, text
from ironworks.db import chassis as chassis_db
from ironworks.services.context import Services


def _chassis(conn: sa.Connection, ident: str) -> dict[str, Any]:
    row = chassis_db.get(conn, ident)
    if row is None:
        raise NotFound(f"Chassis {ident} could not be found.")
    return row


def create_chassis(svc: Services, body: dict[str, Any]) -> dict[str, Any]:
    unknown = set(body) - {"uuid", "description", "extra"}
    if unknown:
        raise InvalidInput(f"unknown attribute {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    desc, extra = body.get("description"), body.get("extra", {})
    if desc is not None and (not isinstance(desc, str) or len(desc) > 255):
        raise InvalidInput(
            "description must be a string of at most 255 characters", field="description"
        )
    if not isinstance(extra, dict):
        raise InvalidInput("extra must be a JSON object", field="extra")
    uuid = body.get("uuid") or new_uuid()
    if not is_uuid_like(uuid):
        raise InvalidInput(f"uuid {uuid!r} is not a UUID", field="uuid")
    try:
        with svc.db.write() as conn:
            chassis_db.add(conn, uuid, desc, extra)
            return _chassis(conn, uuid)
    except IntegrityError:
        raise Conflict(f"A chassis with UUID {uuid} already exists.") from None


def get_chassis(svc: Services, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _chassis(conn, ident)


def list_chassis(svc: Services, limit: int, marker: str | None) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        after = _chassis(conn, marker)["id"] if marker else None
        return chassis_db.page(conn, limit, after)


def patch_chassis(svc: Services, ident: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
    import jsonpatch

    with svc.db.write() as conn:
        row = _chassis(conn, ident)
        doc = {"description": row["description"], "extra": row["extra"]}
        try:
            new = jsonpatch.apply_patch(doc, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as e:
            raise InvalidInput(f"cannot apply the patch: {e}", field="patch") from None
        if set(new) - set(doc):
            raise InvalidInput("only description and extra can be changed", field="patch")
        if not isinstance(new.get("extra") or {}, dict):
            raise InvalidInput("extra must be a JSON object", field="extra")
        description = text(new.get("description"), "description", max_len=LINE)
        chassis_db.update(conn, row["id"], description, new.get("extra") or {})
        return _chassis(conn, ident)


def delete_chassis(svc: Services, ident: str) -> None:
    with svc.db.write() as conn:
        row = _chassis(conn, ident)
        n = chassis_db.count_nodes(conn, row["id"])
        if n:
            raise Conflict(f"Chassis {ident} contains {n} node(s); move or delete them first")
        chassis_db.delete(conn, row["id"])


def chassis_uuids(svc: Services) -> dict[int, str]:
    with svc.db.read() as conn:
        return chassis_db.uuids(conn)
