"""A node's firmware components (Ironic's `firmware_information`): the version first seen, the
current one, the last one flashed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.db.engine import utcnow
from ironworks.db.schema import firmware_components


def record(conn: Connection, node_id: int, components: Iterable[Mapping[str, Any]]) -> None:
    """Store what the BMC reported: dicts with `component`, `current_version` and, after an
    update step, `last_version_flashed`. A component seen for the first time keeps its version
    as `initial_version`; components not reported are left as they are."""
    now = utcnow()
    table = firmware_components
    for c in components:
        name, current = str(c["component"]), c.get("current_version")
        where = (table.c.node_id == node_id, table.c.component == name)
        have = conn.execute(sa.select(table).where(*where)).mappings().first()
        if have is None:
            conn.execute(
                sa.insert(table).values(
                    node_id=node_id,
                    component=name,
                    initial_version=current or "",
                    current_version=current,
                    last_version_flashed=c.get("last_version_flashed"),
                    created_at=now,
                )
            )
            continue
        values: dict[str, Any] = {}
        if current != have["current_version"]:
            values["current_version"] = current
        flashed = c.get("last_version_flashed")
        if flashed is not None and flashed != have["last_version_flashed"]:
            values["last_version_flashed"] = flashed
        if values:
            conn.execute(sa.update(table).where(*where).values(updated_at=now, **values))


def list_components(conn: Connection, node_id: int) -> list[dict[str, Any]]:
    stmt = (
        sa.select(firmware_components)
        .where(firmware_components.c.node_id == node_id)
        .order_by(firmware_components.c.component)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]
