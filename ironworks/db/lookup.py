"""Lookups every aggregate shares: a row from what a person types (its uuid, or otherwise its
name), and which of many values a column already holds.

The named tables (flavors, hosts, images, departments, projects, users) all have both columns.
Names are not unique everywhere: a lookup by name may find several rows, and the caller asks
for the uuid then.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ironworks.common.ids import is_uuid_like

_CHUNK = 500  # values per IN (...)


def by_ident(table: sa.Table, ident: str) -> sa.ColumnElement[bool]:
    """The condition finding a row of `table` by its uuid or, otherwise, by its name."""
    return table.c.uuid == ident if is_uuid_like(ident) else table.c.name == ident


def taken(conn: Connection, column: sa.Column[Any], values: Iterable[str]) -> set[str]:
    """Which of `values` the column holds already (looked up a few hundred at a time)."""
    values = list(values)
    found: set[str] = set()
    for i in range(0, len(values), _CHUNK):
        q = sa.select(column).where(column.in_(values[i : i + _CHUNK]))
        found.update(conn.execute(q).scalars())
    return found
