"""Images and image access: which projects a shared image is shared with.

`scope` in the reads is the caller's: None reads every image (the cloud admin); a list of
project ids reads the public images, those projects' own, and the shared images granted to one
of them. services/images.py keeps each row and its files in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.engine import utcnow
from ironworks.db.lookup import by_ident
from ironworks.db.schema import image_access, images, projects


def _visible(query: sa.Select, scope: Sequence[int] | None) -> sa.Select:
    if scope is None:
        return query
    granted = sa.select(image_access.c.image_id).where(image_access.c.project_id.in_(scope))
    return query.where(
        sa.or_(
            images.c.visibility == "public",
            images.c.project_id.in_(scope),
            sa.and_(images.c.visibility == "shared", images.c.id.in_(granted)),
        )
    )


def find(
    conn: Connection, ident: str, scope: Sequence[int] | None, *, lock: bool = False
) -> list[dict[str, Any]]:
    """The images in scope with this uuid or name (a few: the service picks among a name's
    images or calls the name ambiguous); with `lock`, the rows stay locked until the
    transaction ends."""
    q = _visible(sa.select(images).where(by_ident(images, ident)), scope)
    if lock:
        q = q.with_for_update()
    return [dict(r) for r in conn.execute(q.limit(20)).mappings()]


def lock(conn: Connection, uuid: str) -> dict[str, Any] | None:
    """The image with this uuid, whoever asks, its row locked until the transaction ends."""
    q = sa.select(images).where(images.c.uuid == uuid).with_for_update()
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def list_visible(
    conn: Connection,
    scope: Sequence[int] | None,
    filters: dict[str, str],
    project_id: int | None = None,
) -> list[dict[str, Any]]:
    """The images in scope by name; `filters` are column = value, `project_id` the owner."""
    q = _visible(sa.select(images).order_by(images.c.name), scope)
    for key, value in filters.items():
        q = q.where(images.c[key] == value)
    if project_id is not None:
        q = q.where(images.c.project_id == project_id)
    return [dict(r) for r in conn.execute(q).mappings()]


def add(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(images).values(created_at=utcnow(), **values))


def update(conn: Connection, image_id: int, values: dict[str, Any]) -> None:
    """Change the columns in `values` (and `updated_at`, unless given)."""
    values = {"updated_at": utcnow(), **values}
    conn.execute(sa.update(images).where(images.c.id == image_id).values(**values))


def fail_import(conn: Connection, uuid: str, message: str) -> None:
    """The import of the image failed: status error with the reason, if it still imports."""
    conn.execute(
        sa.update(images)
        .where(images.c.uuid == uuid, images.c.status == "importing")
        .values(status="error", error=message, updated_at=utcnow())
    )


def delete(conn: Connection, image_id: int) -> None:
    conn.execute(sa.delete(images).where(images.c.id == image_id))


# --- access --------------------------------------------------------------------------------------


def shared_with(conn: Connection, image_id: int) -> list[str]:
    """The names of the projects the image is shared with, sorted."""
    q = (
        sa.select(projects.c.name)
        .join(image_access, image_access.c.project_id == projects.c.id)
        .where(image_access.c.image_id == image_id)
        .order_by(projects.c.name)
    )
    return list(conn.execute(q).scalars())


def share(conn: Connection, image_id: int, project_id: int) -> None:
    conn.execute(sa.insert(image_access).values(image_id=image_id, project_id=project_id))


def unshare(conn: Connection, image_id: int, project_id: int) -> None:
    conn.execute(
        sa.delete(image_access).where(
            image_access.c.image_id == image_id, image_access.c.project_id == project_id
        )
    )
