"""Flavors and flavor access: which projects may use a flavor that is not public.

`scope` in these functions is the caller's: None reads every flavor (the cloud admin), a list
of project ids reads the public flavors and those granted to one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.engine import utcnow
from ironworks.db.lookup import by_ident
from ironworks.db.schema import flavor_access, flavors, hosts, projects


def _visible(query: sa.Select, scope: Sequence[int] | None) -> sa.Select:
    if scope is None:
        return query
    listed = sa.select(flavor_access.c.flavor_id).where(flavor_access.c.project_id.in_(scope))
    return query.where(sa.or_(flavors.c.is_public.is_(True), flavors.c.id.in_(listed)))


def find(conn: Connection, ident: str, scope: Sequence[int] | None) -> dict[str, Any] | None:
    """The flavor with this uuid or name, if a project of `scope` may use it."""
    q = _visible(sa.select(flavors).where(by_ident(flavors, ident)), scope)
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def list_visible(conn: Connection, scope: Sequence[int] | None) -> list[dict[str, Any]]:
    q = _visible(sa.select(flavors).order_by(flavors.c.name), scope)
    return [dict(r) for r in conn.execute(q).mappings()]


def add(conn: Connection, uuid: str, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(flavors).values(uuid=uuid, created_at=utcnow(), **values))


def update(conn: Connection, flavor_id: int, values: dict[str, Any]) -> None:
    conn.execute(
        sa.update(flavors).where(flavors.c.id == flavor_id).values(updated_at=utcnow(), **values)
    )


def delete(conn: Connection, flavor_id: int) -> None:
    conn.execute(sa.delete(flavors).where(flavors.c.id == flavor_id))


def count_hosts(conn: Connection, flavor_id: int) -> int:
    """The hosts of this flavor (a flavor in use cannot be deleted)."""
    q = sa.select(sa.func.count()).select_from(hosts).where(hosts.c.flavor_id == flavor_id)
    return int(conn.execute(q).scalar_one())


# --- access --------------------------------------------------------------------------------------


def allowed_projects(conn: Connection, flavor_id: int) -> list[str]:
    """The names of the projects granted this flavor, sorted."""
    q = (
        sa.select(projects.c.name)
        .join(flavor_access, flavor_access.c.project_id == projects.c.id)
        .where(flavor_access.c.flavor_id == flavor_id)
        .order_by(projects.c.name)
    )
    return list(conn.execute(q).scalars())


def allow(conn: Connection, flavor_id: int, project_id: int) -> None:
    """Grant the flavor to the project (a second grant of the same pair breaks a constraint)."""
    conn.execute(sa.insert(flavor_access).values(flavor_id=flavor_id, project_id=project_id))


def disallow(conn: Connection, flavor_id: int, project_id: int) -> None:
    conn.execute(
        sa.delete(flavor_access).where(
            flavor_access.c.flavor_id == flavor_id, flavor_access.c.project_id == project_id
        )
    )
