"""Queries of log-in and tokens: users by name, token rows, and a caller's memberships.

Tokens are stored as their SHA-256 only (services/auth.py makes and digests them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ironworks.db.engine import utcnow
from ironworks.db.schema import (
    department_admins,
    login_failures,
    project_members,
    projects,
    tokens,
    users,
)
from ironworks.domain.policy import Role


def count_users(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())


def insert_user(conn: sa.Connection, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(users).values(**values))


def user_named(conn: sa.Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(users).where(users.c.name == name)).mappings().first()
    return dict(row) if row is not None else None


def update_user(conn: sa.Connection, user_id: int, values: dict[str, Any]) -> None:
    conn.execute(sa.update(users).where(users.c.id == user_id).values(**values))


def insert_token(conn: sa.Connection, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(tokens).values(**values))


def token_holder(conn: sa.Connection, digest: str) -> dict[str, Any] | None:
    """The token with this digest and its user: id, expiry, revocation, uid, name, flags."""
    query = (
        sa.select(
            tokens.c.id,
            tokens.c.expires_at,
            tokens.c.revoked_at,
            tokens.c.kind,
            users.c.id.label("uid"),
            users.c.name,
            users.c.is_admin,
            users.c.enabled,
        )
        .join(users, users.c.id == tokens.c.user_id)
        .where(tokens.c.token_hash == digest)
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def memberships(conn: sa.Connection, user_id: int) -> list[tuple[int | None, str, int | None]]:
    """(project id, role, department id) in one query: the projects the user joined (department
    None), and for each department they administer every project of it (project None for a
    department without projects), with the role dept_admin."""
    joined = sa.select(
        project_members.c.project_id, project_members.c.role, sa.null().label("department_id")
    ).where(project_members.c.user_id == user_id)
    administered = (
        sa.select(
            projects.c.id, sa.literal(Role.DEPT_ADMIN.value), department_admins.c.department_id
        )
        .select_from(
            department_admins.outerjoin(
                projects, projects.c.department_id == department_admins.c.department_id
            )
        )
        .where(department_admins.c.user_id == user_id)
    )
    return [(p, r, d) for p, r, d in conn.execute(sa.union_all(joined, administered))]


def revoke_token(
    conn: sa.Connection,
    user_id: int,
    *,
    token_id: int | None = None,
    uuid: str | None = None,
    kind: str | None = None,
) -> bool:
    """Revoke one live token of the user, by row id or uuid (and kind); whether one was."""
    query = sa.update(tokens).where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None))
    query = query.where(tokens.c.uuid == uuid) if uuid else query.where(tokens.c.id == token_id)
    if kind is not None:
        query = query.where(tokens.c.kind == kind)
    return bool(conn.execute(query.values(revoked_at=utcnow())).rowcount)


def revoke_tokens(
    conn: sa.Connection, user_id: int, *, kind: str | None = None, keep: int | None = None
) -> int:
    """Revoke every live token of the user (of one kind; all but `keep`): how many."""
    query = sa.update(tokens).where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None))
    if kind is not None:
        query = query.where(tokens.c.kind == kind)
    if keep is not None:
        query = query.where(tokens.c.id != keep)
    return int(conn.execute(query.values(revoked_at=utcnow())).rowcount)


def live_tokens(conn: sa.Connection, user_id: int, kind: str) -> list[dict[str, Any]]:
    """The user's tokens of a kind that are not revoked (expired ones included), oldest first."""
    query = (
        sa.select(tokens.c.uuid, tokens.c.name, tokens.c.created_at, tokens.c.expires_at)
        .where(tokens.c.user_id == user_id, tokens.c.kind == kind, tokens.c.revoked_at.is_(None))
        .order_by(tokens.c.created_at, tokens.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


# --- failed log-ins ------------------------------------------------------------------------------


def failures(conn: sa.Connection, keys: Iterable[str]) -> dict[str, tuple[int, datetime]]:
    """(failures, last failure) of each throttling key that has a row."""
    query = sa.select(login_failures).where(login_failures.c.key.in_(sorted(keys)))
    return {r.key: (r.failures, r.last_failure_at) for r in conn.execute(query)}


def count_failure(conn: sa.Connection, key: str, at: datetime, *, afresh: bool) -> None:
    """One more failure of a key (or the first of a new count when `afresh`): an upsert that
    adds in SQL, so API processes counting the same key at once lose no failure."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(login_failures).values(key=key, failures=1, last_failure_at=at)
    count = sa.literal(1) if afresh else login_failures.c.failures + 1
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[login_failures.c.key],
            set_={"failures": count, "last_failure_at": at},
        )
    )


def forget_failures(conn: sa.Connection, *, key: str | None = None, name: str | None = None) -> int:
    """Delete one key's row, or every row of a user name (all addresses): how many."""
    query = sa.delete(login_failures)
    if key is not None:
        query = query.where(login_failures.c.key == key)
    else:
        assert name is not None
        query = query.where(login_failures.c.key.startswith(name + "\n", autoescape=True))
    return int(conn.execute(query).rowcount)
