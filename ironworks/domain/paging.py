"""A list request's paging, as every layer speaks it: sort by a key in a direction, at most
`limit` items after the item whose uuid is `marker`.

The API builds it from the query string (`api/native/listing.py`), services pass it on, and
`db/pagination.py` turns it into keyset SQL: (sort key, id) after the marker's row.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageRequest:
    """A list request's paging: sort by `sort_key` in `sort_dir`, `limit` items after the item
    whose uuid is `marker`."""

    sort_key: str
    sort_dir: str = "asc"
    limit: int | None = None
    marker: str | None = None
