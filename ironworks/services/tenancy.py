"""Departments (部门), projects (项目), users and memberships, scoped to the caller.

The cloud admin sees and changes everything. A department admin manages the projects of the
departments they administer and the members of those projects, and the accounts wholly inside
those departments (`domain/policy.manages_account`: every membership inside; an account that
belongs nowhere yet only if they created it). Other users see the projects they belong to. Scoping is applied in the query: what is outside the
caller's scope does not exist for them (404), what their role cannot do is refused before
(403, api/access.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from ironworks.common.ids import new_uuid
from ironworks.common.inputs import LINE, text
from ironworks.db import tenancy
from ironworks.db.engine import utcnow
from ironworks.domain import policy
from ironworks.domain.policy import Role
from ironworks.services import auth
from ironworks.services.context import Caller, Services

QUOTAS = ("quota_hosts", "quota_nodes", "quota_cores", "quota_ram_mb", "quota_floating_ips")
DEPARTMENT_FIELDS = ("uuid", "name", "description", *QUOTAS, "created_at", "updated_at")
PROJECT_FIELDS = ("uuid", "name", "description", *QUOTAS, "created_at", "updated_at")
USER_FIELDS = (
    "uuid",
    "name",
    "display_name",
    "email",
    "is_admin",
    "enabled",
    "failed_logins",
    "locked_until",
    "created_at",
    "updated_at",
)
PROJECT_ROLES = (Role.PROJECT_ADMIN.value, Role.MEMBER.value)
MAX_QUOTA = 2**31 - 1  # the quota columns are INTEGER


def _quota(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_QUOTA:
        raise InvalidInput(
            f"{field} must be a whole number from 0 to {MAX_QUOTA}, or null (no limit)",
            field=field,
        )
    return value


def _name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise InvalidInput(
            f"{field} must be a non-empty string of at most 255 characters", field=field
        )
    return value.strip()


def _flag(body: dict[str, Any], field: str, default: bool) -> bool:
    """A boolean field: true or false, never a string that merely looks like one."""
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"{field} must be true or false (a JSON boolean)", field=field)
    return value


def _unknown(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise InvalidInput(
            f"unknown field {extra[0]!r}; allowed: {', '.join(sorted(allowed))}", field=extra[0]
        )


def _edits(body: dict[str, Any]) -> dict[str, Any]:
    """The columns a PATCH of a department or project changes: name, description, quotas."""
    _unknown(body, {"name", "description", *QUOTAS})
    values: dict[str, Any] = {"updated_at": utcnow()}
    if "name" in body:
        values["name"] = _name(body["name"])
    if "description" in body:
        values["description"] = text(body["description"], "description")
    for q in QUOTAS:
        if q in body:
            values[q] = _quota(body[q], q)
    return values


# --- departments ---------------------------------------------------------------------------------


def department_row(conn: sa.Connection, caller: Caller, ident: str) -> dict[str, Any]:
    """A department by name or uuid, if the caller is the cloud admin or one of its admins
    (404 otherwise)."""
    row = tenancy.department(conn, ident)
    if row is None or not (caller.is_admin or row["id"] in caller.principal.departments):
        raise NotFound(f"department {ident} could not be found")
    return row


def _dept_out(conn: sa.Connection, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in DEPARTMENT_FIELDS}
    out["projects"] = tenancy.count_projects(conn, row["id"])
    out["admins"] = tenancy.department_admin_names(conn, row["id"])
    return out


def create_department(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    _unknown(body, {"name", "description", *QUOTAS})
    values = {
        "uuid": new_uuid(),
        "name": _name(body.get("name")),
        "description": text(body.get("description"), "description"),
        "created_at": utcnow(),
        **{q: _quota(body.get(q), q) for q in QUOTAS},
    }
    try:
        with svc.db.write() as conn:
            tenancy.insert_department(conn, values)
            return _dept_out(conn, department_row(conn, caller, values["uuid"]))
    except IntegrityError:
        raise Conflict(f"a department named {values['name']!r} already exists") from None


def list_departments(svc: Services, caller: Caller) -> list[dict[str, Any]]:
    ids = None if caller.is_admin else caller.principal.departments
    with svc.db.read() as conn:
        return [_dept_out(conn, row) for row in tenancy.list_departments(conn, ids)]


def get_department(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _dept_out(conn, department_row(conn, caller, ident))


def update_department(
    svc: Services, caller: Caller, ident: str, body: dict[str, Any]
) -> dict[str, Any]:
    values = _edits(body)
    try:
        with svc.db.write() as conn:
            row = department_row(conn, caller, ident)
            tenancy.update_department(conn, row["id"], values)
            return _dept_out(conn, department_row(conn, caller, row["uuid"]))
    except IntegrityError:
        raise Conflict(f"a department named {values.get('name')!r} already exists") from None


def delete_department(svc: Services, caller: Caller, ident: str) -> None:
    with svc.db.write() as conn:
        row = department_row(conn, caller, ident)
        n = tenancy.count_projects(conn, row["id"])
        if n:
            raise Conflict(
                f"department {row['name']} still has {n} project(s); delete or move them first"
            )
        tenancy.delete_department(conn, row["id"])


def set_department_admin(
    svc: Services, caller: Caller, ident: str, user: str, admin: bool
) -> dict[str, Any]:
    with svc.db.write() as conn:
        row = department_row(conn, caller, ident)
        tenancy.set_department_admin(conn, row["id"], _user(conn, caller, user)["id"], admin)
        return _dept_out(conn, row)


# --- projects ------------------------------------------------------------------------------------


def _project_ids(caller: Caller) -> frozenset[int] | None:
    """None: every project; else the ids of the projects the caller may see."""
    return None if caller.is_admin else frozenset(caller.principal.projects)


def project_row(conn: sa.Connection, caller: Caller, ident: str) -> dict[str, Any]:
    """A project by name or uuid, among those the caller may see (404 otherwise)."""
    rows = tenancy.projects_named(conn, ident, _project_ids(caller))
    if not rows:
        raise NotFound(f"project {ident} could not be found")
    if len(rows) > 1:
        raise InvalidInput(
            f"{len(rows)} projects are named {ident!r} (in different departments); use its id",
            field="project",
        )
    return rows[0]


def _manages(caller: Caller, project: dict[str, Any]) -> bool:
    """Cloud admin, or admin of the project's department."""
    return caller.is_admin or project["department_id"] in caller.principal.departments


def _project_out(conn: sa.Connection, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in PROJECT_FIELDS}
    out["department"] = tenancy.department_name(conn, row["department_id"])
    out["members"] = [
        {"user": name, "role": role} for name, role in tenancy.project_members_of(conn, row["id"])
    ]
    return out


def create_project(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    _unknown(body, {"name", "department", "description", *QUOTAS})
    if not body.get("department"):
        raise InvalidInput("department is required (its name or id)", field="department")
    try:
        with svc.db.write() as conn:
            dept = department_row(conn, caller, str(body["department"]))
            values = {
                "uuid": new_uuid(),
                "name": _name(body.get("name")),
                "department_id": dept["id"],
                "description": text(body.get("description"), "description"),
                **{q: _quota(body.get(q), q) for q in QUOTAS},
                "created_at": utcnow(),
            }
            return _project_out(conn, tenancy.insert_project(conn, values))
    except IntegrityError:
        raise Conflict(
            f"department {body['department']} already has a project named {body.get('name')!r}"
        ) from None


def list_projects(svc: Services, caller: Caller) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        rows = tenancy.list_projects(conn, _project_ids(caller))
        return [_project_out(conn, row) for row in rows]


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
                raise Forbidden(
                    "only the cloud admin or an admin of its department may change "
                    f"project {row['name']}"
                )
            tenancy.update_project(conn, row["id"], values)
            return _project_out(conn, {**row, **values})
    except IntegrityError:
        raise Conflict(
            f"its department already has a project named {values.get('name')!r}"
        ) from None


def delete_project(svc: Services, caller: Caller, ident: str) -> None:
    try:
        with svc.db.write() as conn:
            row = project_row(conn, caller, ident)
            if not _manages(caller, row):
                raise Forbidden(
                    "only the cloud admin or an admin of its department may delete "
                    f"project {row['name']}"
                )
            tenancy.delete_project(conn, row["id"])
    except IntegrityError:  # its rows refer to it (foreign keys, RESTRICT)
        raise Conflict(
            f"project {ident} still has hosts, networks or floating IPs: delete or release "
            "them first"
        ) from None


def set_member(
    svc: Services, caller: Caller, ident: str, user: str, role: str | None
) -> dict[str, Any]:
    """Add or change (role) or remove (None) a member of a project.

    The user must be one the caller manages (policy.manages_account): a department admin
    cannot pull a user of another department into one of their projects and so make them
    theirs."""
    if role is not None and role not in PROJECT_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(PROJECT_ROLES)}", field="role")
    with svc.db.write() as conn:
        row = project_row(conn, caller, ident)
        if not _manages(caller, row):
            raise Forbidden(
                "only the cloud admin or an admin of its department may change the members "
                f"of project {row['name']}"
            )
        tenancy.set_project_member(conn, row["id"], _user(conn, caller, user)["id"], role)
        return _project_out(conn, row)


# --- users ---------------------------------------------------------------------------------------


def _caller_id(caller: Caller) -> int | None:
    return caller.principal.user_id if caller.principal is not None else None


def _managed_by(caller: Caller) -> tenancy.ManagedBy | None:
    """None for the cloud admin (every account); else whose accounts the caller manages."""
    if caller.is_admin:
        return None
    return tenancy.ManagedBy(caller.principal.user_id, frozenset(caller.principal.departments))


def _user(conn: sa.Connection, caller: Caller, ident: str) -> dict[str, Any]:
    """A user the caller manages, by name or uuid; anyone else answers exactly like a user
    who does not exist (no name oracle)."""
    row = tenancy.user(conn, ident)
    if row is None or not (
        caller.is_admin
        or policy.manages_account(
            caller.principal.user_id,
            caller.principal.roles,
            frozenset(caller.principal.departments),
            tenancy.account(conn, row),
        )
    ):
        raise NotFound(f"user {ident} could not be found")
    return row


def _user_out(conn: sa.Connection, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in USER_FIELDS}
    out["projects"] = [
        {"project": name, "role": role} for name, role in tenancy.memberships_of(conn, row["id"])
    ]
    return out


def create_user(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    _unknown(body, {"name", "password", "display_name", "email", "is_admin", "enabled"})
    name = _name(body.get("name"))
    password = body.get("password")
    if not isinstance(password, str):
        raise InvalidInput("password is required", field="password")
    auth.check_password(password, name)
    is_admin = _flag(body, "is_admin", False)
    enabled = _flag(body, "enabled", True)
    if is_admin and not caller.is_admin:
        raise Forbidden("only the cloud admin may create cloud admins")
    now = utcnow()
    values = {
        "uuid": new_uuid(),
        "name": name,
        "display_name": text(body.get("display_name"), "display_name", max_len=LINE),
        "email": text(body.get("email"), "email", max_len=LINE),
        "password_hash": auth.hash_password(password),
        "is_admin": is_admin,
        "enabled": enabled,
        "failed_logins": 0,
        "created_at": now,
        "password_changed_at": now,
        "created_by": _caller_id(caller),
    }
    try:
        with svc.db.write() as conn:
            tenancy.insert_user(conn, values)
            return _user_out(conn, _user(conn, caller, values["uuid"]))
    except IntegrityError:
        raise Conflict(f"a user named {name!r} already exists") from None


def list_users(svc: Services, caller: Caller) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        return [_user_out(conn, row) for row in tenancy.list_users(conn, _managed_by(caller))]


def get_user(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _user_out(conn, _user(conn, caller, ident))


def update_user(svc: Services, caller: Caller, ident: str, body: dict[str, Any]) -> dict[str, Any]:
    """Display name, e-mail, enabled, a new password, `unlock: true` (forget the failed log-ins),
    and (cloud admin) is_admin."""
    _unknown(body, {"display_name", "email", "enabled", "password", "unlock", "is_admin"})
    values: dict[str, Any] = {"updated_at": utcnow()}
    for key in ("display_name", "email"):
        if key in body:
            values[key] = text(body[key], key, max_len=LINE)
    if "enabled" in body:
        values["enabled"] = _flag(body, "enabled", True)
    unlock = _flag(body, "unlock", False)
    if unlock:
        values.update(failed_logins=0, locked_until=None)
    if "is_admin" in body:
        values["is_admin"] = _flag(body, "is_admin", False)
        if not caller.is_admin:
            raise Forbidden("only the cloud admin may grant or take the cloud admin role")
    with svc.db.write() as conn:
        row = _user(conn, caller, ident)
        if row["is_admin"] and not caller.is_admin:
            raise Forbidden(f"only the cloud admin may change the cloud admin {row['name']}")
        if "password" in body:
            if not isinstance(body["password"], str):
                raise InvalidInput("password must be a string", field="password")
            auth.check_password(body["password"], row["name"])
            values.update(
                password_hash=auth.hash_password(body["password"]),
                password_changed_at=utcnow(),
            )
        tenancy.update_user(conn, row["id"], values)
        if unlock:
            auth.forget_failures(conn, row["name"])
        if _ends_sessions(row, values):
            auth.end_sessions(conn, row["id"])
        return _user_out(conn, {**row, **values})


def _ends_sessions(row: dict[str, Any], values: dict[str, Any]) -> bool:
    """A reset password, a disabled account or a changed cloud-admin role ends every token of
    the user: whoever held one must log in again under the new terms."""
    return (
        "password_hash" in values
        or values.get("enabled") is False
        or values.get("is_admin", row["is_admin"]) != row["is_admin"]
    )


def delete_user(svc: Services, caller: Caller, ident: str) -> None:
    with svc.db.write() as conn:
        row = _user(conn, caller, ident)
        if row["is_admin"] and not caller.is_admin:
            raise Forbidden(f"only the cloud admin may delete the cloud admin {row['name']}")
        if caller.principal is not None and row["id"] == caller.principal.user_id:
            raise Conflict("you cannot delete yourself; ask another admin")
        if row["is_admin"] and tenancy.count_cloud_admins(conn) <= 1:
            raise Conflict(f"{row['name']} is the last cloud admin; make another first")
        tenancy.delete_user(conn, row["id"])
