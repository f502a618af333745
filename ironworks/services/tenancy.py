"""Departments (部门), projects (项目), users and memberships, scoped to the caller.

The cloud admin sees and changes everything. A department admin manages the projects and the
(non-admin) users of the departments they administer, and the members of those projects. Other
users see the projects they belong to. Scoping is applied in the query: what is outside the
caller's scope does not exist for them (404), what their role cannot do is refused before
(403, api/access.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from ironworks.common.ids import new_uuid
from ironworks.db.engine import utcnow
from ironworks.db.schema import department_admins, departments, project_members, projects, users
from ironworks.domain.policy import Role
from ironworks.services import identity
from ironworks.services.context import Caller, Services, by_ident

QUOTAS = ("quota_hosts", "quota_nodes", "quota_cores", "quota_ram_mb")
DEPARTMENT_FIELDS = ("uuid", "name", "description", *QUOTAS, "created_at", "updated_at")
PROJECT_FIELDS = ("uuid", "name", "description", *QUOTAS, "created_at", "updated_at")
USER_FIELDS = ("uuid", "name", "display_name", "email", "is_admin", "enabled", "failed_logins",
               "locked_until", "created_at", "updated_at")  # fmt: skip
PROJECT_ROLES = (Role.PROJECT_ADMIN.value, Role.MEMBER.value)


def _quota(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{field} must be a whole number, 0 or more, or null (no limit)",
                           field=field)  # fmt: skip
    return value


def _name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise InvalidInput(f"{field} must be a non-empty string of at most 255 characters",
                           field=field)  # fmt: skip
    return value.strip()


def _unknown(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise InvalidInput(f"unknown field {extra[0]!r}; allowed: {', '.join(sorted(allowed))}",
                           field=extra[0])  # fmt: skip


def _edits(body: dict[str, Any]) -> dict[str, Any]:
    """The columns a PATCH of a department or project changes: name, description, quotas."""
    _unknown(body, {"name", "description", *QUOTAS})
    values: dict[str, Any] = {"updated_at": utcnow()}
    if "name" in body:
        values["name"] = _name(body["name"])
    if "description" in body:
        values["description"] = body["description"]
    for q in QUOTAS:
        if q in body:
            values[q] = _quota(body[q], q)
    return values


# --- departments ---------------------------------------------------------------------------------


def _department(conn: sa.Connection, caller: Caller, ident: str) -> dict[str, Any]:
    row = (
        conn.execute(sa.select(departments).where(by_ident(departments, ident))).mappings().first()
    )
    if row is None or not (caller.is_admin or row["id"] in caller.principal.departments):
        raise NotFound(f"department {ident} could not be found")
    return dict(row)


def _dept_out(conn: sa.Connection, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in DEPARTMENT_FIELDS}
    out["projects"] = conn.execute(
        sa.select(sa.func.count())
        .select_from(projects)
        .where(projects.c.department_id == row["id"])
    ).scalar_one()
    out["admins"] = list(conn.execute(
        sa.select(users.c.name).join(department_admins, department_admins.c.user_id == users.c.id)
        .where(department_admins.c.department_id == row["id"]).order_by(users.c.name)
    ).scalars())  # fmt: skip
    return out


def create_department(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    _unknown(body, {"name", "description", *QUOTAS})
    now = utcnow()
    values = {"uuid": new_uuid(), "name": _name(body.get("name")),
              "description": body.get("description"), "created_at": now,
              **{q: _quota(body.get(q), q) for q in QUOTAS}}  # fmt: skip
    try:
        with svc.db.write() as conn:
            conn.execute(sa.insert(departments).values(**values))
            return _dept_out(conn, _department(conn, caller, values["uuid"]))
    except IntegrityError:
        raise Conflict(f"a department named {values['name']!r} already exists") from None


def list_departments(svc: Services, caller: Caller) -> list[dict[str, Any]]:
    q = sa.select(departments).order_by(departments.c.name)
    if not caller.is_admin:
        q = q.where(departments.c.id.in_(sorted(caller.principal.departments)))
    with svc.db.read() as conn:
        return [_dept_out(conn, dict(r)) for r in conn.execute(q).mappings()]


def get_department(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _dept_out(conn, _department(conn, caller, ident))


def update_department(
    svc: Services, caller: Caller, ident: str, body: dict[str, Any]
) -> dict[str, Any]:
    values = _edits(body)
    try:
        with svc.db.write() as conn:
            row = _department(conn, caller, ident)
            conn.execute(
                sa.update(departments).where(departments.c.id == row["id"]).values(**values)
            )
            return _dept_out(conn, _department(conn, caller, row["uuid"]))
    except IntegrityError:
        raise Conflict(f"a department named {values.get('name')!r} already exists") from None


def delete_department(svc: Services, caller: Caller, ident: str) -> None:
    with svc.db.write() as conn:
        row = _department(conn, caller, ident)
        n = conn.execute(sa.select(sa.func.count()).select_from(projects)
                         .where(projects.c.department_id == row["id"])).scalar_one()  # fmt: skip
        if n:
            raise Conflict(f"department {row['name']} still has {n} project(s); delete or move "
                           "them first")  # fmt: skip
        conn.execute(sa.delete(departments).where(departments.c.id == row["id"]))


def set_department_admin(
    svc: Services, caller: Caller, ident: str, user: str, admin: bool
) -> dict[str, Any]:
    with svc.db.write() as conn:
        row = _department(conn, caller, ident)
        uid = _user(conn, caller, user, scoped=False)["id"]
        conn.execute(sa.delete(department_admins).where(
            department_admins.c.department_id == row["id"], department_admins.c.user_id == uid))  # fmt: skip
        if admin:
            conn.execute(sa.insert(department_admins).values(
                department_id=row["id"], user_id=uid, created_at=utcnow()))  # fmt: skip
        return _dept_out(conn, row)


# --- projects ------------------------------------------------------------------------------------


def _project_scope(caller: Caller) -> sa.ColumnElement[bool] | None:
    """None: every project; else the condition limiting projects to the caller's."""
    if caller.is_admin:
        return None
    return projects.c.id.in_(sorted(caller.principal.projects))


def project_row(conn: sa.Connection, caller: Caller, ident: str) -> dict[str, Any]:
    """A project by name or uuid, among those the caller may see (404 otherwise)."""
    q = sa.select(projects).where(by_ident(projects, ident))
    scope = _project_scope(caller)
    if scope is not None:
        q = q.where(scope)
    rows = conn.execute(q).mappings().all()
    if not rows:
        raise NotFound(f"project {ident} could not be found")
    if len(rows) > 1:
        raise InvalidInput(f"{len(rows)} projects are named {ident!r} (in different departments); "
                           "use its id", field="project")  # fmt: skip
    return dict(rows[0])


def _manages(caller: Caller, project: dict[str, Any]) -> bool:
    """Cloud admin, or admin of the project's department."""
    return caller.is_admin or project["department_id"] in caller.principal.departments


def _project_out(conn: sa.Connection, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in PROJECT_FIELDS}
    out["department"] = conn.execute(
        sa.select(departments.c.name).where(departments.c.id == row["department_id"])
    ).scalar_one()
    out["members"] = [
        {"user": name, "role": role}
        for name, role in conn.execute(
            sa.select(users.c.name, project_members.c.role)
            .join(project_members, project_members.c.user_id == users.c.id)
            .where(project_members.c.project_id == row["id"]).order_by(users.c.name)
        )
    ]  # fmt: skip
    return out


def create_project(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    _unknown(body, {"name", "department", "description", *QUOTAS})
    if not body.get("department"):
        raise InvalidInput("department is required (its name or id)", field="department")
    now = utcnow()
    try:
        with svc.db.write() as conn:
            dept = _department(conn, caller, str(body["department"]))
            values = {"uuid": new_uuid(), "name": _name(body.get("name")),
                      "department_id": dept["id"], "description": body.get("description"),
                      **{q: _quota(body.get(q), q) for q in QUOTAS}, "created_at": now}  # fmt: skip
            conn.execute(sa.insert(projects).values(**values))
            row = conn.execute(sa.select(projects).where(projects.c.uuid == values["uuid"]))
            return _project_out(conn, dict(row.mappings().one()))
    except IntegrityError:
        raise Conflict(f"department {body['department']} already has a project named "
                       f"{body.get('name')!r}") from None  # fmt: skip


def list_projects(svc: Services, caller: Caller) -> list[dict[str, Any]]:
    q = sa.select(projects).order_by(projects.c.name)
    scope = _project_scope(caller)
    if scope is not None:
        q = q.where(scope)
    with svc.db.read() as conn:
        return [_project_out(conn, dict(r)) for r in conn.execute(q).mappings()]


def get_project(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _project_out(conn, project_row(conn, caller, ident))


def update_project(
    svc: Services, caller: Caller, ident: str, body: dict[str, Any]
) -> dict[str, Any]:
    values = _edits(body)
    try:
        with svc.db.write() as conn:
            row = project_row(conn, caller, ident)
            if not _manages(caller, row):
                raise Forbidden(f"only the cloud admin or an admin of its department may change "
                                f"project {row['name']}")  # fmt: skip
            conn.execute(sa.update(projects).where(projects.c.id == row["id"]).values(**values))
            return _project_out(conn, {**row, **values})
    except IntegrityError:
        raise Conflict(
            f"its department already has a project named {values.get('name')!r}"
        ) from None


def delete_project(svc: Services, caller: Caller, ident: str) -> None:
    with svc.db.write() as conn:
        row = project_row(conn, caller, ident)
        if not _manages(caller, row):
            raise Forbidden(f"only the cloud admin or an admin of its department may delete "
                            f"project {row['name']}")  # fmt: skip
        conn.execute(sa.delete(projects).where(projects.c.id == row["id"]))


def set_member(
    svc: Services, caller: Caller, ident: str, user: str, role: str | None
) -> dict[str, Any]:
    """Add or change (role) or remove (None) a member of a project."""
    if role is not None and role not in PROJECT_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(PROJECT_ROLES)}", field="role")
    with svc.db.write() as conn:
        row = project_row(conn, caller, ident)
        if not _manages(caller, row):
            raise Forbidden(f"only the cloud admin or an admin of its department may change the "
                            f"members of project {row['name']}")  # fmt: skip
        uid = _user(conn, caller, user, scoped=False)["id"]
        conn.execute(sa.delete(project_members).where(
            project_members.c.project_id == row["id"], project_members.c.user_id == uid))  # fmt: skip
        if role is not None:
            conn.execute(sa.insert(project_members).values(
                project_id=row["id"], user_id=uid, role=role, created_at=utcnow()))  # fmt: skip
        return _project_out(conn, row)


# --- users ---------------------------------------------------------------------------------------


def _visible_users(caller: Caller) -> sa.ColumnElement[bool] | None:
    """A department admin sees the users of their departments' projects (and themselves)."""
    if caller.is_admin:
        return None
    p = caller.principal
    in_depts = (
        sa.select(project_members.c.user_id)
        .join(projects, projects.c.id == project_members.c.project_id)
        .where(projects.c.department_id.in_(sorted(p.departments)))
    )
    return sa.or_(users.c.id.in_(in_depts), users.c.id == p.user_id)


def _user(
    conn: sa.Connection, caller: Caller, ident: str, *, scoped: bool = True
) -> dict[str, Any]:
    q = sa.select(users).where(by_ident(users, ident))
    scope = _visible_users(caller) if scoped else None
    if scope is not None:
        q = q.where(scope)
    row = conn.execute(q).mappings().first()
    if row is None:
        raise NotFound(f"user {ident} could not be found")
    return dict(row)


def _user_out(conn: sa.Connection, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in USER_FIELDS}
    out["projects"] = [
        {"project": name, "role": role}
        for name, role in conn.execute(
            sa.select(projects.c.name, project_members.c.role)
            .join(project_members, project_members.c.project_id == projects.c.id)
            .where(project_members.c.user_id == row["id"]).order_by(projects.c.name)
        )
    ]  # fmt: skip
    return out


def create_user(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    _unknown(body, {"name", "password", "display_name", "email", "is_admin", "enabled"})
    name = _name(body.get("name"))
    password = body.get("password")
    if not isinstance(password, str):
        raise InvalidInput("password is required", field="password")
    identity.check_password(password, name)
    is_admin = bool(body.get("is_admin", False))
    if is_admin and not caller.is_admin:
        raise Forbidden("only the cloud admin may create cloud admins")
    now = utcnow()
    values = {"uuid": new_uuid(), "name": name, "display_name": body.get("display_name"),
              "email": body.get("email"), "password_hash": identity.hash_password(password),
              "is_admin": is_admin, "enabled": bool(body.get("enabled", True)),
              "failed_logins": 0, "created_at": now, "password_changed_at": now}  # fmt: skip
    try:
        with svc.db.write() as conn:
            conn.execute(sa.insert(users).values(**values))
            return _user_out(conn, _user(conn, caller, values["uuid"], scoped=False))
    except IntegrityError:
        raise Conflict(f"a user named {name!r} already exists") from None


def list_users(svc: Services, caller: Caller) -> list[dict[str, Any]]:
    q = sa.select(users).order_by(users.c.name)
    scope = _visible_users(caller)
    if scope is not None:
        q = q.where(scope)
    with svc.db.read() as conn:
        return [_user_out(conn, dict(r)) for r in conn.execute(q).mappings()]


def get_user(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _user_out(conn, _user(conn, caller, ident))


def update_user(svc: Services, caller: Caller, ident: str, body: dict[str, Any]) -> dict[str, Any]:
    """Display name, e-mail, enabled, a new password, `unlock: true`, and (cloud admin) is_admin."""
    _unknown(body, {"display_name", "email", "enabled", "password", "unlock", "is_admin"})
    values: dict[str, Any] = {"updated_at": utcnow()}
    for key in ("display_name", "email"):
        if key in body:
            values[key] = body[key]
    if "enabled" in body:
        values["enabled"] = bool(body["enabled"])
    if body.get("unlock"):
        values.update(failed_logins=0, locked_until=None)
    if "is_admin" in body:
        if not caller.is_admin:
            raise Forbidden("only the cloud admin may grant or take the cloud admin role")
        values["is_admin"] = bool(body["is_admin"])
    with svc.db.write() as conn:
        row = _user(conn, caller, ident)
        if row["is_admin"] and not caller.is_admin:
            raise Forbidden(f"only the cloud admin may change the cloud admin {row['name']}")
        if "password" in body:
            if not isinstance(body["password"], str):
                raise InvalidInput("password must be a string", field="password")
            identity.check_password(body["password"], row["name"])
            values.update(password_hash=identity.hash_password(body["password"]),
                          password_changed_at=utcnow())  # fmt: skip
        conn.execute(sa.update(users).where(users.c.id == row["id"]).values(**values))
        return _user_out(conn, {**row, **values})


def delete_user(svc: Services, caller: Caller, ident: str) -> None:
    with svc.db.write() as conn:
        row = _user(conn, caller, ident)
        if row["is_admin"] and not caller.is_admin:
            raise Forbidden(f"only the cloud admin may delete the cloud admin {row['name']}")
        if caller.principal is not None and row["id"] == caller.principal.user_id:
            raise Conflict("you cannot delete yourself; ask another admin")
        if row["is_admin"]:
            admins = conn.execute(sa.select(sa.func.count()).select_from(users)
                                  .where(users.c.is_admin.is_(True))).scalar_one()  # fmt: skip
            if admins <= 1:
                raise Conflict(f"{row['name']} is the last cloud admin; make another first")
        conn.execute(sa.delete(users).where(users.c.id == row["id"]))
