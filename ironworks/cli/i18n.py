"""The CLI's words, ready for translation: `_()` looks a string up with gettext.

Domain `ironworks`; catalogues would live in `ironworks/locale/<lang>/LC_MESSAGES/ironworks.mo`.
None exist yet, so every string falls back to its English original. Mark whole sentences with
named placeholders (`_("node {node}: {error}").format(...)`) so a translator can reorder them.
"""

from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "ironworks"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

_translation = gettext.translation(DOMAIN, localedir=LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)
