"""Projects and departments as hosts and images read them: owners, quota holders, sharing.

The rows are tenancy's (departments, projects, users, memberships); these are the reads the
host and image services make of them inside their own transactions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.lookup import by_ident
from ironworks.db.schema import departments, projects

# --- reads for hosts and images -----------------------------------------------------------------


def get_project(conn: Connection, project_id: int) -> dict[str, Any]:
    """The project with this id (it must exist: the id comes from a principal or a row)."""
    return dict(
        conn.execute(sa.select(projects).where(projects.c.id == project_id)).mappings().one()
    )


def lock_project(conn: Connection, project_id: int) -> None:
    """Hold the project's row until the transaction ends (PostgreSQL: FOR UPDATE), so that
    two batches of one project check their quota one after the other."""
    conn.execute(sa.select(projects.c.id).where(projects.c.id == project_id).with_for_update())


def project_name(conn: Connection, project_id: int) -> str | None:
    name: str | None = conn.execute(
        sa.select(projects.c.name).where(projects.c.id == project_id)
    ).scalar()
    return name


def project_ids(conn: Connection, ident: str) -> list[int]:
    """The ids of every project with this uuid or name, whoever asks (sharing names others)."""
    return list(conn.execute(sa.select(projects.c.id).where(by_ident(projects, ident))).scalars())


def get_department(conn: Connection, department_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(departments).where(departments.c.id == department_id))
    return dict(row.mappings().one())
