"""Plain values of untyped request bodies, checked where a service reads them: text where text
is expected (never a dict, a list or a number that the database would refuse with a 500), at
most as long as its column holds. Routes with Pydantic models get the same from their types.
"""

from __future__ import annotations

from typing import Any

from ironworks.common.errors import InvalidInput

LINE = 255  # a String(255) column: names, display names, e-mail addresses
TEXT = 65_535  # a Text column: descriptions, keys, user data


def text(value: Any, field: str, *, max_len: int = TEXT) -> str | None:
    """`value` if it is text of at most `max_len` characters, None if absent (null)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(
            f"{field} must be text (a JSON string) or null, not {type(value).__name__}",
            field=field,
        )
    if len(value) > max_len:
        raise InvalidInput(f"{field} is longer than {max_len} characters", field=field)
    return value
