"""Node traits: Ironic's names for qualities of a node that a scheduler or a deploy template
can ask for (`CUSTOM_GPU`, `HW_CPU_X86_AVX2`).

A node carries at most `MAX_PER_NODE` of them, each either a standard name of the os-traits
library (upper case letters, digits and `_`) or a custom one, `CUSTOM_` followed by the same
characters; none is longer than `MAX_LENGTH`. Ironworks does not ship os-traits' list, so a
standard name is checked by its form only. The list is kept in the order the traits were added,
without duplicates (Ironic's set semantics).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

MAX_PER_NODE: Final = 50
MAX_LENGTH: Final = 255
_FORM: Final = re.compile(r"[A-Z0-9_]+")

INVALID: Final = (
    "Invalid trait {trait!r}. A valid trait must be no longer than 255 characters. Standard "
    "traits are defined in the os_traits library. A custom trait must start with the prefix "
    "CUSTOM_ and use the following characters: A-Z, 0-9 and _"
)


def is_valid(trait: Any) -> bool:
    """True for a standard-looking or a CUSTOM_ trait name."""
    if not isinstance(trait, str) or not 0 < len(trait) <= MAX_LENGTH:
        return False
    if trait.startswith("CUSTOM_"):
        return len(trait) > len("CUSTOM_") and _FORM.fullmatch(trait) is not None
    return _FORM.fullmatch(trait) is not None


def bad(traits: Iterable[Any]) -> list[Any]:
    """The names of `traits` that are not valid, in order."""
    return [t for t in traits if not is_valid(t)]


def merged(current: list[str], added: Iterable[str]) -> list[str]:
    """`current` with `added` appended, each name once, in order."""
    return list(dict.fromkeys([*current, *added]))
