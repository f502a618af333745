"""Deploy templates and runbooks: Ironic's named lists of steps, one statement per function.

Both aggregates have the same shape (uuid, unique name, a JSON list of steps, extra); `kind`
picks the table: "deploy_templates" or "runbooks".
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.common.errors import InvalidInput
from ironworks.common.ids import is_uuid_like
from ironworks.db.engine import utcnow
from ironworks.db.pagination import paginate
from ironworks.db.schema import deploy_templates, runbooks

Kind = Literal["deploy_templates", "runbooks"]
_TABLES: dict[str, sa.Table] = {"deploy_templates": deploy_templates, "runbooks": runbooks}
SORT_KEYS = frozenset({"id", "uuid", "name", "created_at", "updated_at"})


def add(conn: Connection, kind: Kind, values: dict[str, Any]) -> int:
    """INSERT a row; its id (IntegrityError on a taken uuid or name)."""
    t = _TABLES[kind]
    q = sa.insert(t).values(created_at=utcnow(), **values).returning(t.c.id)
    return int(conn.execute(q).scalar_one())


def get(conn: Connection, kind: Kind, ident: str | int) -> dict[str, Any] | None:
    """A row by id, uuid, or otherwise name."""
    t = _TABLES[kind]
    if isinstance(ident, int):
        where = t.c.id == ident
    elif is_uuid_like(ident):
        where = t.c.uuid == ident.lower()
    else:
        where = t.c.name == ident
    row = conn.execute(sa.select(t).where(where)).mappings().first()
    return dict(row) if row else None


def by_names(conn: Connection, kind: Kind, names: list[str]) -> list[dict[str, Any]]:
    """The rows named in `names` (a node's traits), ordered by name."""
    if not names:
        return []
    t = _TABLES[kind]
    q = sa.select(t).where(t.c.name.in_(names)).order_by(t.c.name)
    return [dict(r) for r in conn.execute(q).mappings()]


def page(
    conn: Connection,
    kind: Kind,
    filters: dict[str, Any],
    *,
    sort_key: str,
    sort_dir: str,
    marker: str | None,
    limit: int,
    visible_to: str | None = None,
) -> list[dict[str, Any]]:
    """Rows whose columns equal `filters`, one page after the `marker` row. `visible_to` (a
    project id, runbooks only) keeps the public rows and that project's."""
    t = _TABLES[kind]
    q = sa.select(t)
    for key, value in filters.items():
        q = q.where(t.c[key] == value)
    if visible_to is not None:
        q = q.where(sa.or_(t.c.public.is_(True), t.c.owner == visible_to))
    marker_row = None
    if marker:
        marker_row = get(conn, kind, marker) if is_uuid_like(marker) else None
        if marker_row is None:
            raise InvalidInput(f"marker {marker} is not one of the {kind}", field="marker")
    q = paginate(
        q,
        t,
        sort_key=sort_key,
        sort_dir=sort_dir,
        allowed_keys=SORT_KEYS,
        marker=marker_row,
        limit=limit,
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def update(conn: Connection, kind: Kind, row_id: int, values: dict[str, Any]) -> None:
    t = _TABLES[kind]
    conn.execute(sa.update(t).where(t.c.id == row_id).values(updated_at=utcnow(), **values))


def delete(conn: Connection, kind: Kind, row_id: int) -> None:
    t = _TABLES[kind]
    conn.execute(sa.delete(t).where(t.c.id == row_id))
