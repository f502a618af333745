"""Flavors: host types (cpus, memory, local disk, arch, resource class, required capabilities),
public or limited to listed projects. Cloud admins manage them; a project's users see the
flavors their project may use (flavor access control)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.common.ids import new_uuid
from ironworks.common.inputs import text
from ironworks.db import flavors as flavor_db
from ironworks.services.context import Caller, Services
from ironworks.services.tenancy import project_row

ARCHES = ("x86_64", "aarch64")
FIELDS = (
    "uuid",
    "name",
    "description",
    "cpus",
    "memory_mb",
    "local_gb",
    "cpu_arch",
    "resource_class",
    "capabilities",
    "is_public",
    "created_at",
    "updated_at",
)
WRITABLE = {
    "name",
    "description",
    "cpus",
    "memory_mb",
    "local_gb",
    "cpu_arch",
    "resource_class",
    "capabilities",
    "is_public",
}


def _whole(body: dict[str, Any], key: str, lo: int) -> int:
    v = body.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise InvalidInput(f"{key} must be a whole number, at least {lo}", field=key)
    return v


def _check(body: dict[str, Any], partial: bool) -> dict[str, Any]:
    extra = sorted(set(body) - WRITABLE - ({"projects"} if not partial else set()))
    if extra:
        raise InvalidInput(
            f"unknown field {extra[0]!r}; allowed: {', '.join(sorted(WRITABLE))}", field=extra[0]
        )
    out: dict[str, Any] = {}
    if not partial or "name" in body:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise InvalidInput(
                "name must be a non-empty string of at most 255 characters", field="name"
            )
        out["name"] = name.strip()
    for key, lo in (("cpus", 1), ("memory_mb", 1), ("local_gb", 0)):
        if not partial or key in body:
            out[key] = _whole(body, key, lo)
    if "cpu_arch" in body:
        if body["cpu_arch"] not in (*ARCHES, None):
            raise InvalidInput(
                f"cpu_arch must be one of {', '.join(ARCHES)} or null (any)", field="cpu_arch"
            )
        out["cpu_arch"] = body["cpu_arch"]
    if "resource_class" in body:
        rc = body["resource_class"]
        if rc is not None and (not isinstance(rc, str) or not rc or len(rc) > 80):
            raise InvalidInput(
                "resource_class must be a string of at most 80 characters or null",
                field="resource_class",
            )
        out["resource_class"] = rc
    if "capabilities" in body:
        caps = body["capabilities"]
        if not isinstance(caps, dict) or not all(isinstance(v, str) for v in caps.values()):
            raise InvalidInput(
                'capabilities must be an object of strings, e.g. {"boot_mode": "uefi"}',
                field="capabilities",
            )
        out["capabilities"] = caps
    if "is_public" in body:
        if not isinstance(body["is_public"], bool):
            raise InvalidInput("is_public must be true or false", field="is_public")
        out["is_public"] = body["is_public"]
    if "description" in body:
        out["description"] = text(body["description"], "description")
    return out


def get_row(conn: sa.Connection, caller: Caller, ident: str) -> dict[str, Any]:
    """The flavor, if the caller may use it (404 otherwise)."""
    row = flavor_db.find(conn, ident, caller.project_ids)
    if row is None:
        raise NotFound(f"flavor {ident} could not be found")
    return row


def _out(conn: sa.Connection, row: dict[str, Any], caller: Caller) -> dict[str, Any]:
    out = {k: row[k] for k in FIELDS}
    if caller.is_admin and not row["is_public"]:
        out["projects"] = flavor_db.allowed_projects(conn, row["id"])
    return out


def create(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    values = _check(body, partial=False)
    values.setdefault("capabilities", {})
    values.setdefault("is_public", True)
    access = body.get("projects") or []
    if not isinstance(access, list):
        raise InvalidInput("projects must be a list of project names or ids", field="projects")
    try:
        with svc.db.write() as conn:
            uuid = new_uuid()
            flavor_db.add(conn, uuid, values)
            row = get_row(conn, caller, uuid)
            for p in access:
                flavor_db.allow(conn, row["id"], project_row(conn, caller, str(p))["id"])
            return _out(conn, row, caller)
    except IntegrityError:
        raise Conflict(f"a flavor named {values['name']!r} already exists") from None


def list_flavors(svc: Services, caller: Caller) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        return [_out(conn, r, caller) for r in flavor_db.list_visible(conn, caller.project_ids)]


def show(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _out(conn, get_row(conn, caller, ident), caller)


def update(svc: Services, caller: Caller, ident: str, body: dict[str, Any]) -> dict[str, Any]:
    values = _check(body, partial=True)
    try:
        with svc.db.write() as conn:
            row = get_row(conn, caller, ident)
            flavor_db.update(conn, row["id"], values)
            return _out(conn, {**row, **values}, caller)
    except IntegrityError:
        raise Conflict(f"a flavor named {values.get('name')!r} already exists") from None


def delete(svc: Services, caller: Caller, ident: str) -> None:
    with svc.db.write() as conn:
        row = get_row(conn, caller, ident)
        used = flavor_db.count_hosts(conn, row["id"])
        if used:
            raise Conflict(f"flavor {row['name']} is used by {used} host(s); delete them first")
        flavor_db.delete(conn, row["id"])


def set_access(
    svc: Services, caller: Caller, ident: str, project: str, allowed: bool
) -> dict[str, Any]:
    with svc.db.write() as conn:
        row = get_row(conn, caller, ident)
        pid = project_row(conn, caller, project)["id"]
        flavor_db.disallow(conn, row["id"], pid)
        if allowed:
            flavor_db.allow(conn, row["id"], pid)
        return _out(conn, row, caller)
