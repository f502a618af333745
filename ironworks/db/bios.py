"""A node's cached BIOS settings (Ironic's `bios_settings`): replaced whole on each read of the
BMC, listed and looked up by name for the API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.engine import utcnow
from ironworks.db.schema import bios_settings

# The columns a setting carries besides its name (the registry ones may be None).
COLUMNS = (
    "value",
    "attribute_type",
    "allowable_values",
    "lower_bound",
    "upper_bound",
    "min_length",
    "max_length",
    "read_only",
    "reset_required",
    "unique",
)


def replace(conn: Connection, node_id: int, settings: Iterable[Mapping[str, Any]]) -> int:
    """Make the node's cache exactly `settings` (dicts with `name` and any of COLUMNS).

    A setting already cached keeps its created_at and gets a new updated_at when its value or
    registry changed; settings the BMC no longer reports go. Returns how many are cached.
    """
    now = utcnow()
    old = {
        r["name"]: dict(r)
        for r in conn.execute(
            sa.select(bios_settings).where(bios_settings.c.node_id == node_id)
        ).mappings()
    }
    rows = []
    for s in settings:
        name = str(s["name"])
        row: dict[str, Any] = {"node_id": node_id, "name": name}
        row.update({c: s.get(c) for c in COLUMNS})
        if row["value"] is not None:
            row["value"] = str(row["value"])
        before = old.get(name)
        if before is None:
            row.update(created_at=now, updated_at=None)
        else:
            same = all(before[c] == row[c] for c in COLUMNS)
            row.update(
                created_at=before["created_at"], updated_at=before["updated_at"] if same else now
            )
        rows.append(row)
    conn.execute(sa.delete(bios_settings).where(bios_settings.c.node_id == node_id))
    if rows:
        conn.execute(sa.insert(bios_settings), rows)
    return len(rows)


def list_settings(conn: Connection, node_id: int) -> list[dict[str, Any]]:
    stmt = (
        sa.select(bios_settings)
        .where(bios_settings.c.node_id == node_id)
        .order_by(bios_settings.c.name)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


def get_setting(conn: Connection, node_id: int, name: str) -> dict[str, Any] | None:
    stmt = sa.select(bios_settings).where(
        bios_settings.c.node_id == node_id, bios_settings.c.name == name
    )
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None
