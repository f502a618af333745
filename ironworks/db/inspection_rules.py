"""Inspection rules (Ironic's, API 1.96): their rows. The conductor reads a phase's rules in
the transaction that ends an inspection (conductor.py); the API's service writes them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.common.errors import InvalidInput
from ironworks.common.ids import is_uuid_like
from ironworks.db.engine import utcnow
from ironworks.db.pagination import paginate
from ironworks.db.schema import inspection_rules as rules

SORT_KEYS = frozenset({"id", "uuid", "priority", "phase", "created_at", "updated_at"})


def add(conn: Connection, values: dict[str, Any]) -> int:
    """INSERT a rule; its id (IntegrityError on a taken uuid)."""
    q = sa.insert(rules).values(created_at=utcnow(), **values).returning(rules.c.id)
    return int(conn.execute(q).scalar_one())


def get(conn: Connection, ident: str) -> dict[str, Any] | None:
    """A rule by uuid (None for anything else: rules have no names)."""
    if not is_uuid_like(ident):
        return None
    row = conn.execute(sa.select(rules).where(rules.c.uuid == ident.lower())).mappings().first()
    return dict(row) if row else None


def page(
    conn: Connection,
    *,
    phase: str | None,
    sort_key: str,
    sort_dir: str,
    marker: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    q = sa.select(rules)
    if phase is not None:
        q = q.where(rules.c.phase == phase)
    marker_row = None
    if marker:
        marker_row = get(conn, marker)
        if marker_row is None:
            raise InvalidInput(f"marker {marker} is not an inspection rule", field="marker")
    q = paginate(
        q,
        rules,
        sort_key=sort_key,
        sort_dir=sort_dir,
        allowed_keys=SORT_KEYS,
        marker=marker_row,
        limit=limit,
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def of_phase(conn: Connection, phase: str) -> list[dict[str, Any]]:
    """Every rule of a phase, highest priority first, then oldest first."""
    q = (
        sa.select(rules)
        .where(rules.c.phase == phase)
        .order_by(rules.c.priority.desc(), rules.c.id.asc())
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def update(conn: Connection, rule_id: int, values: dict[str, Any]) -> None:
    conn.execute(
        sa.update(rules).where(rules.c.id == rule_id).values(updated_at=utcnow(), **values)
    )


def delete(conn: Connection, rule_id: int) -> None:
    conn.execute(sa.delete(rules).where(rules.c.id == rule_id))


def delete_all(conn: Connection) -> None:
    conn.execute(sa.delete(rules))
