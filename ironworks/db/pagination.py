"""Keyset pagination shared by every list: (sort column, id) after the marker's row.

NULLs sort first ascending and last descending on both SQLite and PostgreSQL, so a page
boundary falls in the same place on either backend.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ironworks.common.errors import InvalidInput


def paginate(
    query: sa.Select,
    table: sa.Table,
    *,
    sort_key: str,
    sort_dir: str,
    allowed_keys: frozenset[str],
    marker: dict[str, Any] | None,
    limit: int,
) -> sa.Select:
    if sort_key not in allowed_keys:
        raise InvalidInput(
            f"sort_key {sort_key!r} is not supported; use one of {', '.join(sorted(allowed_keys))}",
            field="sort_key",
        )
    if sort_dir not in ("asc", "desc"):
        raise InvalidInput("sort_dir must be 'asc' or 'desc'", field="sort_dir")
    col = table.c[sort_key]
    ident = table.c.id
    if marker is not None:
        v, mid = marker[sort_key], marker["id"]
        if sort_key == "id":
            cond = ident > mid if sort_dir == "asc" else ident < mid
        elif sort_dir == "asc":
            if v is None:
                cond = sa.or_(sa.and_(col.is_(None), ident > mid), col.is_not(None))
            else:
                cond = sa.or_(col > v, sa.and_(col == v, ident > mid))
        elif v is None:
            cond = sa.and_(col.is_(None), ident < mid)
        else:
            cond = sa.or_(col < v, sa.and_(col == v, ident < mid), col.is_(None))
        query = query.where(cond)
    if sort_key == "id":
        order = [ident.asc() if sort_dir == "asc" else ident.desc()]
    elif sort_dir == "asc":
        order = [col.asc().nulls_first(), ident.asc()]
    else:
        order = [col.desc().nulls_last(), ident.desc()]
    return query.order_by(*order).limit(limit)
