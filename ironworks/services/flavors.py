"""Flavors: host types (cpus, memory, local disk, arch, resource class, required capabilities),
public or limited to listed projects. Cloud admins manage them; a project's users see the
flavors their project may use (flavor access control)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.common.ids import new_uuid
from ironworks.db.engine import utcnow
from ironworks.db.schema import flavor_access, flavors, hosts, projects
from ironworks.services.context import Caller, Services, by_ident
from ironworks.services.tenancy import project_row

ARCHES = ("x86_64", "aarch64")
FIELDS = ("uuid", "name", "description", "cpus", "memory_mb", "local_gb", "cpu_arch",
          "resource_class", "capabilities", "is_public", "created_at", "updated_at")  # fmt: skip
WRITABLE = {"name", "description", "cpus", "memory_mb", "local_gb", "cpu_arch", "resource_class",
            "capabilities", "is_public"}  # fmt: skip


def _whole(body: dict[str, Any], key: str, lo: int) -> int:
    v = body.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise InvalidInput(f"{key} must be a whole number, at least {lo}", field=key)
    return v


def _check(body: dict[str, Any], partial: bool) -> dict[str, Any]:
    extra = sorted(set(body) - WRITABLE - ({"projects"} if not partial else set()))
    if extra:
        raise InvalidInput(f"unknown field {extra[0]!r}; allowed: {', '.join(sorted(WRITABLE))}",
                           field=extra[0])  # fmt: skip
    out: dict[str, Any] = {}
    if not partial or "name" in body:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise InvalidInput("name must be a non-empty string of at most 255 characters",
                               field="name")  # fmt: skip
        out["name"] = name.strip()
    for key, lo in (("cpus", 1), ("memory_mb", 1), ("local_gb", 0)):
        if not partial or key in body:
            out[key] = _whole(body, key, lo)
    if "cpu_arch" in body:
        if body["cpu_arch"] not in (*ARCHES, None):
            raise InvalidInput(f"cpu_arch must be one of {', '.join(ARCHES)} or null (any)",
                               field="cpu_arch")  # fmt: skip
        out["cpu_arch"] = body["cpu_arch"]
    if "resource_class" in body:
        rc = body["resource_class"]
        if rc is not None and (not isinstance(rc, str) or not rc or len(rc) > 80):
            raise InvalidInput("resource_class must be a string of at most 80 characters or null",
                               field="resource_class")  # fmt: skip
        out["resource_class"] = rc
    if "capabilities" in body:
        caps = body["capabilities"]
        if not isinstance(caps, dict) or not all(isinstance(v, str) for v in caps.values()):
            raise InvalidInput('capabilities must be an object of strings, e.g. {"boot_mode": '
                               '"uefi"}', field="capabilities")  # fmt: skip
        out["capabilities"] = caps
    if "is_public" in body:
        if not isinstance(body["is_public"], bool):
            raise InvalidInput("is_public must be true or false", field="is_public")
        out["is_public"] = body["is_public"]
    if "description" in body:
        out["description"] = body["description"]
    return out


def _visible(caller: Caller) -> sa.ColumnElement[bool] | None:
    if caller.is_admin:
        return None
    mine = sorted(caller.principal.projects)
    listed = sa.select(flavor_access.c.flavor_id).where(flavor_access.c.project_id.in_(mine))
    return sa.or_(flavors.c.is_public.is_(True), flavors.c.id.in_(listed))


def get_row(conn: sa.Connection, caller: Caller, ident: str) -> dict[str, Any]:
    """The flavor, if the caller may use it (404 otherwise)."""
    q = sa.select(flavors).where(by_ident(flavors, ident))
    scope = _visible(caller)
    if scope is not None:
        q = q.where(scope)
    row = conn.execute(q).mappings().first()
    if row is None:
        raise NotFound(f"flavor {ident} could not be found")
    return dict(row)


def _out(conn: sa.Connection, row: dict[str, Any], caller: Caller) -> dict[str, Any]:
    out = {k: row[k] for k in FIELDS}
    if caller.is_admin and not row["is_public"]:
        out["projects"] = list(conn.execute(
            sa.select(projects.c.name).join(flavor_access, flavor_access.c.project_id == projects.c.id)
            .where(flavor_access.c.flavor_id == row["id"]).order_by(projects.c.name)
        ).scalars())  # fmt: skip
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
            conn.execute(sa.insert(flavors).values(uuid=uuid, created_at=utcnow(), **values))
            row = get_row(conn, caller, uuid)
            for p in access:
                conn.execute(sa.insert(flavor_access).values(flavor_id=row["id"],
                                                             project_id=project_row(conn, caller, str(p))["id"]))  # fmt: skip
            return _out(conn, row, caller)
    except IntegrityError:
        raise Conflict(f"a flavor named {values['name']!r} already exists") from None


def list_flavors(svc: Services, caller: Caller) -> list[dict[str, Any]]:
    q = sa.select(flavors).order_by(flavors.c.name)
    scope = _visible(caller)
    if scope is not None:
        q = q.where(scope)
    with svc.db.read() as conn:
        return [_out(conn, dict(r), caller) for r in conn.execute(q).mappings()]


def show(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _out(conn, get_row(conn, caller, ident), caller)


def update(svc: Services, caller: Caller, ident: str, body: dict[str, Any]) -> dict[str, Any]:
    values = _check(body, partial=True)
    try:
        with svc.db.write() as conn:
            row = get_row(conn, caller, ident)
            conn.execute(sa.update(flavors).where(flavors.c.id == row["id"])
                         .values(updated_at=utcnow(), **values))  # fmt: skip
            return _out(conn, {**row, **values}, caller)
    except IntegrityError:
        raise Conflict(f"a flavor named {values.get('name')!r} already exists") from None


def delete(svc: Services, caller: Caller, ident: str) -> None:
    with svc.db.write() as conn:
        row = get_row(conn, caller, ident)
        used = conn.execute(sa.select(sa.func.count()).select_from(hosts)
                            .where(hosts.c.flavor_id == row["id"])).scalar_one()  # fmt: skip
        if used:
            raise Conflict(f"flavor {row['name']} is used by {used} host(s); delete them first")
        conn.execute(sa.delete(flavors).where(flavors.c.id == row["id"]))


def set_access(
    svc: Services, caller: Caller, ident: str, project: str, allowed: bool
) -> dict[str, Any]:
    with svc.db.write() as conn:
        row = get_row(conn, caller, ident)
        pid = project_row(conn, caller, project)["id"]
        conn.execute(sa.delete(flavor_access).where(flavor_access.c.flavor_id == row["id"],
                                                    flavor_access.c.project_id == pid))  # fmt: skip
        if allowed:
            conn.execute(sa.insert(flavor_access).values(flavor_id=row["id"], project_id=pid))
        return _out(conn, row, caller)
