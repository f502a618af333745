"""One way to page, filter and sort every `/api/v1` list: `limit`, `marker` (the uuid of the
last item seen), `sort_key`, `sort_dir`; an answer carries `next_marker` while more remain.

`page` sorts and cuts a list the service gave whole (identity and flavor lists are small);
hosts and the audit log page in SQL: the service gets `paging`'s PageRequest.
"""

from __future__ import annotations

from typing import Any

from ironworks.common.errors import InvalidInput
from ironworks.domain.paging import PageRequest

MAX_LIMIT = 1000
PAGING = frozenset({"limit", "marker", "sort_key", "sort_dir"})


def paging_only(params: dict[str, str]) -> dict[str, str]:
    """The query's parameters, refusing any that is not a paging one (naming it)."""
    unknown = sorted(set(params) - PAGING)
    if unknown:
        raise InvalidInput(
            f"unknown parameter {unknown[0]}; lists take {', '.join(sorted(PAGING))}",
            field=unknown[0],
        )
    return params


def paging(params: dict[str, str], sort_keys: tuple[str, ...]) -> PageRequest:
    """The query's paging parameters, checked; the first of `sort_keys` is the default."""
    sort_key = params.get("sort_key", sort_keys[0])
    if sort_key not in sort_keys:
        raise InvalidInput(f"sort_key must be one of {', '.join(sort_keys)}", field="sort_key")
    sort_dir = params.get("sort_dir", "asc")
    if sort_dir not in ("asc", "desc"):
        raise InvalidInput("sort_dir must be asc or desc", field="sort_dir")
    try:
        limit = int(params.get("limit", MAX_LIMIT))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        raise InvalidInput(
            f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit"
        ) from None
    return PageRequest(sort_key, sort_dir, limit, params.get("marker") or None)


def page(
    items: list[dict[str, Any]], params: dict[str, str], sort_keys: tuple[str, ...], key: str
) -> dict[str, Any]:
    """{key: the page, "next_marker": uuid} from `items` and the query's paging parameters."""
    req = paging(params, sort_keys)
    sort_key, limit = req.sort_key, req.limit or MAX_LIMIT

    def order(item: dict[str, Any]) -> tuple[Any, ...]:
        value = item.get(sort_key)
        return (
            value is None,
            "" if value is None else str(value) if not isinstance(value, int | float) else value,
            item["uuid"],
        )

    ordered = sorted(items, key=order, reverse=req.sort_dir == "desc")
    if req.marker:
        at = next((i for i, it in enumerate(ordered) if it["uuid"] == req.marker), None)
        if at is None:
            raise InvalidInput(f"marker {req.marker} is not in this list", field="marker")
        ordered = ordered[at + 1 :]
    out: dict[str, Any] = {key: ordered[:limit]}
    if len(ordered) > limit:
        out["next_marker"] = ordered[limit - 1]["uuid"]
    return out
