"""What `set` and `unset` send: JSON patches (RFC 6902) built from the options given.

A scalar option left out is None and changes nothing; a KEY=VALUE option sets keys inside its
dict field (`add` replaces a key that is there) and never replaces the whole dict, so keys the
operator did not name survive. `unset` removes whole fields, or keys inside dict fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ironworks.client import PatchOp


def pointer(*parts: str) -> str:
    """A JSON pointer (RFC 6901) to /part/part, escaping ~ and / inside keys."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def set_ops(field: str, values: dict[str, Any]) -> list[PatchOp]:
    """`add` operations setting keys inside a dict field (add replaces an existing key)."""
    return [{"op": "add", "path": pointer(field, k), "value": v} for k, v in values.items()]


def remove_ops(field: str, keys: list[str] | None) -> list[PatchOp]:
    return [{"op": "remove", "path": pointer(field, k)} for k in keys or []]


def set_patch(fields: dict[str, Any], dicts: dict[str, dict[str, Any]]) -> list[PatchOp]:
    """Set each field given (not None), then the keys given inside each dict field."""
    ops: list[PatchOp] = [
        {"op": "add", "path": pointer(k), "value": v} for k, v in fields.items() if v is not None
    ]
    for field, values in dicts.items():
        ops += set_ops(field, values)
    return ops


def unset_patch(fields: Iterable[str], keys: dict[str, list[str] | None]) -> list[PatchOp]:
    """Remove each of `fields`, then the keys named inside each dict field."""
    ops: list[PatchOp] = [{"op": "remove", "path": pointer(f)} for f in fields]
    for field, names in keys.items():
        ops += remove_ops(field, names)
    return ops


def flagged(flags: dict[str, bool]) -> list[str]:
    """The fields whose `--FIELD` flag was given."""
    return [field for field, on in flags.items() if on]
