"""Queries of departments, projects, their members and admins, and user accounts.

Scoping arrives as data: `ids` (the project or department ids a caller may see, None for all)
and `ManagedBy` (the department admin whose accounts a list shows). The rule itself is
`domain/policy.manages_account`; `_managed` is the same rule written as SQL for lists, and
`account` reads what the rule needs for a single user.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ironworks.db.engine import utcnow
from ironworks.db.lookup import by_ident
from ironworks.db.schema import department_admins, departments, project_members, projects, users
from ironworks.domain.policy import Account


def _one(conn: sa.Connection, query: sa.Select[Any]) -> dict[str, Any] | None:
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


# --- departments ---------------------------------------------------------------------------------


def department(conn: sa.Connection, ident: str) -> dict[str, Any] | None:
    """A department by uuid or name."""
    return _one(conn, sa.select(departments).where(by_ident(departments, ident)))


def list_departments(conn: sa.Connection, ids: Collection[int] | None) -> list[dict[str, Any]]:
    query = sa.select(departments).order_by(departments.c.name)
    if ids is not None:
        query = query.where(departments.c.id.in_(sorted(ids)))
    return [dict(r) for r in conn.execute(query).mappings()]


def insert_department(conn: sa.Connection, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(departments).values(**values))


def update_department(conn: sa.Connection, department_id: int, values: dict[str, Any]) -> None:
    conn.execute(sa.update(departments).where(departments.c.id == department_id).values(**values))


def delete_department(conn: sa.Connection, department_id: int) -> None:
    conn.execute(sa.delete(departments).where(departments.c.id == department_id))


def department_name(conn: sa.Connection, department_id: int) -> str:
    query = sa.select(departments.c.name).where(departments.c.id == department_id)
    return str(conn.execute(query).scalar_one())


def count_projects(conn: sa.Connection, department_id: int) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(projects)
        .where(projects.c.department_id == department_id)
    )
    return int(conn.execute(query).scalar_one())


def department_admin_names(conn: sa.Connection, department_id: int) -> list[str]:
    query = (
        sa.select(users.c.name)
        .join(department_admins, department_admins.c.user_id == users.c.id)
        .where(department_admins.c.department_id == department_id)
        .order_by(users.c.name)
    )
    return list(conn.execute(query).scalars())


def set_department_admin(
    conn: sa.Connection, department_id: int, user_id: int, admin: bool
) -> None:
    conn.execute(
        sa.delete(department_admins).where(
            department_admins.c.department_id == department_id,
            department_admins.c.user_id == user_id,
        )
    )
    if admin:
        conn.execute(
            sa.insert(department_admins).values(
                department_id=department_id, user_id=user_id, created_at=utcnow()
            )
        )


# --- projects ------------------------------------------------------------------------------------


def projects_named(
    conn: sa.Connection, ident: str, ids: Collection[int] | None
) -> list[dict[str, Any]]:
    """The projects with this uuid or name (names repeat across departments) among `ids`."""
    query = sa.select(projects).where(by_ident(projects, ident))
    if ids is not None:
        query = query.where(projects.c.id.in_(sorted(ids)))
    return [dict(r) for r in conn.execute(query).mappings()]


def list_projects(conn: sa.Connection, ids: Collection[int] | None) -> list[dict[str, Any]]:
    query = sa.select(projects).order_by(projects.c.name)
    if ids is not None:
        query = query.where(projects.c.id.in_(sorted(ids)))
    return [dict(r) for r in conn.execute(query).mappings()]


def insert_project(conn: sa.Connection, values: dict[str, Any]) -> dict[str, Any]:
    conn.execute(sa.insert(projects).values(**values))
    row = _one(conn, sa.select(projects).where(projects.c.uuid == values["uuid"]))
    assert row is not None  # just written in this transaction
    return row


def update_project(conn: sa.Connection, project_id: int, values: dict[str, Any]) -> None:
    conn.execute(sa.update(projects).where(projects.c.id == project_id).values(**values))


def delete_project(conn: sa.Connection, project_id: int) -> None:
    conn.execute(sa.delete(projects).where(projects.c.id == project_id))


def project_members_of(conn: sa.Connection, project_id: int) -> list[tuple[str, str]]:
    """(user name, role) of a project's members, by name."""
    query = (
        sa.select(users.c.name, project_members.c.role)
        .join(project_members, project_members.c.user_id == users.c.id)
        .where(project_members.c.project_id == project_id)
        .order_by(users.c.name)
    )
    return [(name, role) for name, role in conn.execute(query)]


def set_project_member(
    conn: sa.Connection, project_id: int, user_id: int, role: str | None
) -> None:
    """Add or change (role) or remove (None) a member."""
    conn.execute(
        sa.delete(project_members).where(
            project_members.c.project_id == project_id, project_members.c.user_id == user_id
        )
    )
    if role is not None:
        conn.execute(
            sa.insert(project_members).values(
                project_id=project_id, user_id=user_id, role=role, created_at=utcnow()
            )
        )


# --- user accounts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManagedBy:
    """A department admin: their user id and the departments they administer."""

    user_id: int
    departments: frozenset[int]


def _memberships() -> sa.Subquery:
    """(user_id, department_id) of every membership: projects joined, departments run."""
    return sa.union_all(
        sa.select(project_members.c.user_id, projects.c.department_id).join(
            projects, projects.c.id == project_members.c.project_id
        ),
        sa.select(department_admins.c.user_id, department_admins.c.department_id),
    ).subquery("memberships")


def _managed(by: ManagedBy) -> sa.ColumnElement[bool]:
    """policy.manages_account for a department admin, as a condition on `users`."""
    m = _memberships()
    mine = sorted(by.departments)
    anywhere = sa.exists().where(m.c.user_id == users.c.id)
    outside = sa.exists().where(m.c.user_id == users.c.id, m.c.department_id.not_in(mine))
    return sa.or_(
        users.c.id == by.user_id,
        sa.and_(
            users.c.is_admin.is_(False),
            ~outside,
            sa.or_(anywhere, users.c.created_by == by.user_id),
        ),
    )


def user(conn: sa.Connection, ident: str) -> dict[str, Any] | None:
    """A user by uuid or name."""
    return _one(conn, sa.select(users).where(by_ident(users, ident)))


def account(conn: sa.Connection, row: dict[str, Any]) -> Account:
    """What policy.manages_account needs of the user `row`."""
    m = _memberships()
    query = sa.select(m.c.department_id).where(m.c.user_id == row["id"]).distinct()
    return Account(
        user_id=row["id"],
        is_admin=bool(row["is_admin"]),
        departments=frozenset(conn.execute(query).scalars()),
        created_by=row["created_by"],
    )


def list_users(conn: sa.Connection, managed_by: ManagedBy | None) -> list[dict[str, Any]]:
    """Every user (None), or those a department admin manages."""
    query = sa.select(users).order_by(users.c.name)
    if managed_by is not None:
        query = query.where(_managed(managed_by))
    return [dict(r) for r in conn.execute(query).mappings()]


def insert_user(conn: sa.Connection, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(users).values(**values))


def update_user(conn: sa.Connection, user_id: int, values: dict[str, Any]) -> None:
    conn.execute(sa.update(users).where(users.c.id == user_id).values(**values))


def delete_user(conn: sa.Connection, user_id: int) -> None:
    conn.execute(sa.delete(users).where(users.c.id == user_id))


def count_cloud_admins(conn: sa.Connection) -> int:
    query = sa.select(sa.func.count()).select_from(users).where(users.c.is_admin.is_(True))
    return int(conn.execute(query).scalar_one())


def memberships_of(conn: sa.Connection, user_id: int) -> list[tuple[str, str]]:
    """(project name, role) of a user's projects, by name."""
    query = (
        sa.select(projects.c.name, project_members.c.role)
        .join(project_members, project_members.c.project_id == projects.c.id)
        .where(project_members.c.user_id == user_id)
        .order_by(projects.c.name)
    )
    return [(name, role) for name, role in conn.execute(query)]


# --- reads for hosts and images (inside their transactions) -----------------------------------------------------------------


def get_project(conn: sa.Connection, project_id: int) -> dict[str, Any]:
    """The project with this id (it must exist: the id comes from a principal or a row)."""
    return dict(
        conn.execute(sa.select(projects).where(projects.c.id == project_id)).mappings().one()
    )


def lock_project(conn: sa.Connection, project_id: int) -> None:
    """Hold the project's row until the transaction ends (PostgreSQL: FOR UPDATE), so that
    two batches of one project check their quota one after the other."""
    conn.execute(sa.select(projects.c.id).where(projects.c.id == project_id).with_for_update())


def project_name(conn: sa.Connection, project_id: int) -> str | None:
    name: str | None = conn.execute(
        sa.select(projects.c.name).where(projects.c.id == project_id)
    ).scalar()
    return name


def project_ids(conn: sa.Connection, ident: str) -> list[int]:
    """The ids of every project with this uuid or name, whoever asks (sharing names others)."""
    return list(conn.execute(sa.select(projects.c.id).where(by_ident(projects, ident))).scalars())


def get_department(conn: sa.Connection, department_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(departments).where(departments.c.id == department_id))
    return dict(row.mappings().one())
