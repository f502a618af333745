"""Queries of switches. Rows carry their physical network's name (`physical_network`);
`password` and `secret` are stored sealed (services/switches.py seals and masks them)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from ironworks.common.ids import is_uuid_like
from ironworks.db.engine import utcnow
from ironworks.db.schema import physical_networks, switches


def _query() -> sa.Select:
    return sa.select(switches, physical_networks.c.name.label("physical_network")).join(
        physical_networks, physical_networks.c.id == switches.c.physical_network_id
    )


def insert(conn: Connection, values: dict[str, Any]) -> None:
    """Raises IntegrityError when the name is taken."""
    conn.execute(sa.insert(switches).values(created_at=utcnow(), **values))


def get(conn: Connection, ident: str) -> dict[str, Any] | None:
    cond = switches.c.uuid == ident if is_uuid_like(ident) else switches.c.name == ident
    row = conn.execute(_query().where(cond)).mappings().first()
    return dict(row) if row else None


def list_switches(conn: Connection, physical_network_id: int | None = None) -> list[dict[str, Any]]:
    q = _query().order_by(switches.c.name)
    if physical_network_id is not None:
        q = q.where(switches.c.physical_network_id == physical_network_id)
    return [dict(r) for r in conn.execute(q).mappings()]


def update(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(
        sa.update(switches).where(switches.c.id == pk).values(updated_at=utcnow(), **values)
    )


def delete(conn: Connection, pk: int) -> None:
    conn.execute(sa.delete(switches).where(switches.c.id == pk))
