"""Keyset pagination shared by every list: (sort column, id) after the marker's row.

NULLs sort first ascending and last descending on both SQLite and PostgreSQL, so a page
boundary falls in the same place on either backend.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ironworks.common.errors import InvalidInput
from ironworks.domain.paging import PageRequest

__all__ = ["PageRequest", "keyset", "paginate"]  # PageRequest's home is domain/paging.py


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
    marked = None if marker is None else (marker[sort_key], marker["id"])
    return keyset(
        query,
        table.c[sort_key],
        table.c.id,
        sort_dir=sort_dir,
        marker=marked,
        limit=limit,
        by_id=sort_key == "id",
    )


def keyset(
    query: sa.Select,
    col: sa.ColumnElement[Any],
    ident: sa.ColumnElement[Any],
    *,
    sort_dir: str,
    marker: tuple[Any, Any] | None,
    limit: int | None,
    by_id: bool = False,
) -> sa.Select:
    """`query` ordered by (`col`, `ident`) in `sort_dir`, after `marker` = (col value, ident
    value) of the last row seen, cut at `limit` (None: no cut). `col` may be any expression
    (a joined table's column, a CASE); `by_id` when it is `ident` itself."""
    if marker is not None:
        v, mid = marker
        if by_id:
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
    if by_id:
        order = [ident.asc() if sort_dir == "asc" else ident.desc()]
    elif sort_dir == "asc":
        order = [col.asc().nulls_first(), ident.asc()]
    else:
        order = [col.desc().nulls_last(), ident.desc()]
    query = query.order_by(*order)
    return query if limit is None else query.limit(limit)
