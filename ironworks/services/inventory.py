"""Conductors, drivers, chassis and volume connectors/targets: the smaller resources."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.common.ids import is_uuid_like, new_uuid
from ironworks.db import nodes as node_db
from ironworks.db.engine import utcnow
from ironworks.db.schema import chassis, conductors, nodes, volume_connectors, volume_targets
from ironworks.domain.hashring import HashRing
from ironworks.drivers.registry import HARDWARE_TYPES
from ironworks.services.context import Services

# --- conductors ----------------------------------------------------------------------------------


def list_conductors(svc: Services) -> list[dict[str, Any]]:
    limit = utcnow() - timedelta(seconds=svc.settings.conductor.heartbeat_timeout)
    with svc.db.read() as conn:
        rows = [
            dict(r)
            for r in conn.execute(sa.select(conductors).order_by(conductors.c.hostname)).mappings()
        ]
    for r in rows:
        seen = r["updated_at"] or r["created_at"]
        if seen.tzinfo is None:
            from datetime import UTC

            seen = seen.replace(tzinfo=UTC)
        r["alive"] = bool(r["online"]) and seen >= limit
    return rows


def get_conductor(svc: Services, hostname: str) -> dict[str, Any]:
    for r in list_conductors(svc):
        if r["hostname"] == hostname:
            return r
    raise NotFound(f"Conductor {hostname} could not be found.")


class ConductorMap:
    """Which live conductor owns a node, from a ring refreshed every few seconds."""

    def __init__(self, svc: Services, ttl: float = 5.0) -> None:
        self.svc, self.ttl = svc, ttl
        self._rings: dict[str, HashRing] = {}
        self._at = 0.0
        self._lock = threading.Lock()

    def rings(self) -> dict[str, HashRing]:
        now = time.monotonic()
        if now - self._at > self.ttl:
            with self._lock:
                groups: dict[str, list[str]] = {}
                for c in list_conductors(self.svc):
                    if c["alive"]:
                        groups.setdefault(c["conductor_group"], []).append(c["hostname"])
                self._rings = {g: HashRing(h) for g, h in groups.items()}
                self._at = now
        return self._rings

    def owner(self, node: dict[str, Any]) -> str | None:
        ring = self.rings().get(node.get("conductor_group") or "")
        return ring.owner(node["uuid"]) if ring else None


# --- drivers -------------------------------------------------------------------------------------


def list_drivers(svc: Services) -> list[dict[str, Any]]:
    hosts_by_driver: dict[str, list[str]] = {}
    for c in list_conductors(svc):
        if c["alive"]:
            for d in c["drivers"]:
                hosts_by_driver.setdefault(d, []).append(c["hostname"])
    out = []
    for name in svc.settings.enabled_hardware_types:
        hw = HARDWARE_TYPES.get(name)
        if hw is not None:
            out.append({"name": name, "hosts": hosts_by_driver.get(name, []), "hw": hw})
    return out


def get_driver(svc: Services, name: str) -> dict[str, Any]:
    for d in list_drivers(svc):
        if d["name"] == name:
            return d
    raise NotFound(f"Driver {name} could not be found.")


# --- chassis -------------------------------------------------------------------------------------


def _chassis(conn: sa.Connection, ident: str) -> dict[str, Any]:
    row = conn.execute(sa.select(chassis).where(chassis.c.uuid == ident.lower())).mappings().first()
    if row is None:
        raise NotFound(f"Chassis {ident} could not be found.")
    return dict(row)


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
            conn.execute(
                sa.insert(chassis).values(
                    uuid=uuid.lower(), description=desc, extra=extra, created_at=utcnow()
                )
            )
            return _chassis(conn, uuid)
    except IntegrityError:
        raise Conflict(f"A chassis with UUID {uuid} already exists.") from None


def get_chassis(svc: Services, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _chassis(conn, ident)


def list_chassis(svc: Services, limit: int, marker: str | None) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        q = sa.select(chassis).order_by(chassis.c.id).limit(limit)
        if marker:
            q = q.where(chassis.c.id > _chassis(conn, marker)["id"])
        return [dict(r) for r in conn.execute(q).mappings()]


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
        conn.execute(sa.update(chassis).where(chassis.c.id == row["id"]).values(
            description=new.get("description"), extra=new.get("extra") or {}, updated_at=utcnow()))  # fmt: skip
        return _chassis(conn, ident)


def delete_chassis(svc: Services, ident: str) -> None:
    with svc.db.write() as conn:
        row = _chassis(conn, ident)
        n = conn.execute(sa.select(sa.func.count()).where(nodes.c.chassis_id == row["id"])).scalar()
        if n:
            raise Conflict(f"Chassis {ident} contains {n} node(s); move or delete them first")
        conn.execute(sa.delete(chassis).where(chassis.c.id == row["id"]))


def chassis_uuids(svc: Services) -> dict[int, str]:
    with svc.db.read() as conn:
        return dict(conn.execute(sa.select(chassis.c.id, chassis.c.uuid)).all())  # type: ignore[arg-type]


# --- volume connectors and targets ---------------------------------------------------------------

VOLUME = {
    "connectors": (volume_connectors, "Volume connector", {"type": str, "connector_id": str, "extra": dict}),
    "targets": (volume_targets, "Volume target",
                {"volume_type": str, "properties": dict, "boot_index": int, "volume_id": str, "extra": dict}),
}  # fmt: skip


def _volume(conn: sa.Connection, which: str, ident: str) -> dict[str, Any]:
    table, word, _ = VOLUME[which]
    q = sa.select(table, nodes.c.uuid.label("node_uuid")).join(nodes, nodes.c.id == table.c.node_id)
    row = conn.execute(q.where(table.c.uuid == ident.lower())).mappings().first()
    if row is None:
        raise NotFound(f"{word} {ident} could not be found.")
    return {str(k): val for k, val in row.items()}  # "type" comes back as a quoted_name


def create_volume(svc: Services, which: str, body: dict[str, Any]) -> dict[str, Any]:
    table, word, fields = VOLUME[which]
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
            conn.execute(sa.insert(table).values(**values, created_at=utcnow()))
            return _volume(conn, which, values["uuid"])
    except IntegrityError:
        raise Conflict(
            f"{word} conflicts with an existing one (same identifier or boot index)"
        ) from None


def get_volume(svc: Services, which: str, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _volume(conn, which, ident)


def list_volume(svc: Services, which: str, node: str | None, limit: int) -> list[dict[str, Any]]:
    table = VOLUME[which][0]
    q = sa.select(table, nodes.c.uuid.label("node_uuid")).join(nodes, nodes.c.id == table.c.node_id)
    with svc.db.read() as conn:
        if node:
            q = q.where(table.c.node_id == node_db.get_node(conn, node)["id"])
        rows = conn.execute(q.order_by(table.c.id).limit(limit)).mappings()
        return [{str(k): val for k, val in r.items()} for r in rows]


def delete_volume(svc: Services, which: str, ident: str) -> None:
    table = VOLUME[which][0]
    with svc.db.write() as conn:
        row = _volume(conn, which, ident)
        conn.execute(sa.delete(table).where(table.c.id == row["id"]))
