"""The CLI's words, ready for translation: `_()` and `ngettext()` look a string up with gettext.

Domain `ironworks`; catalogues live in `ironworks/locale/<lang>/LC_MESSAGES/ironworks.mo` and
ship as package data. English is the source; `zh_CN` (Simplified Chinese) is translated. Mark
whole sentences with named placeholders (`_("node {node}: {error}").format(...)`) so a
translator can reorder them; never build a sentence from pieces.

The language is the first of LANGUAGE, LC_ALL, LC_MESSAGES and LANG that is set (gettext's
rule: `LANGUAGE=zh_CN`, or `LANG=zh_CN.UTF-8`); `IRONWORKS_LANG=zh_CN` overrides them all
(`cmd/main.py` reads it). The choice is made once, when this module is imported: help texts
and column titles are looked up while the command modules load, so a language chosen later
would reach only part of the output.

After changing an English string or adding one, run `scripts/i18n`: it re-extracts
`ironworks/locale/ironworks.pot` with Babel (`pybabel`, in the `test` extra), merges it into
`zh_CN/LC_MESSAGES/ironworks.po` and compiles the `.mo`. Then translate the new and fuzzy
entries of the `.po` and run it again; `tests/cli/test_i18n.py` fails while any entry is
untranslated or the `.mo` is stale. Commit the `.pot`, `.po` and `.mo` together.
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
