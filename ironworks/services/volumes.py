"""Volume connectors and targets (Ironic's boot-from-volume records) of a node: create, show,
list, delete. `which` is "connectors" or "targets"."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.common.ids import new_uuid
from ironworks.db import nodes as node_db
from ironworks.db import volumes as volume_db
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


def delete_volume(svc: Services, which: str, ident: str) -> None:
    with svc.db.write() as conn:
        row = _volume(conn, which, ident)
        volume_db.delete(conn, which, row["id"])
