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

A command's help is its docstring unless the decorator gives `help=`: `extract` (the Babel
method scripts/i18n uses) takes those docstrings as messages, and `translate_docstrings` looks
them up when the commands are registered.
"""

from __future__ import annotations

import ast
import gettext
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import typer

DOMAIN = "ironworks"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

_translation = gettext.translation(DOMAIN, localedir=LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def translate_docstrings(app: typer.Typer) -> None:
    """Give every command of `app` (and of its groups) whose help is its docstring the
    docstring's translation as help."""
    for command in app.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _(inspect.cleandoc(command.callback.__doc__))
    for group in app.registered_groups:
        if group.typer_instance is not None:
            translate_docstrings(group.typer_instance)


def _is_command(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Decorated `@something.command(...)` without `help=`: its docstring is its help."""
    return any(
        isinstance(d, ast.Call)
        and isinstance(d.func, ast.Attribute)
        and d.func.attr == "command"
        and not any(k.arg == "help" for k in d.keywords)
        for d in fn.decorator_list
    )


def extract(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method: the `_()` / `ngettext()` strings of a module (Babel's own
    Python extractor) and its commands' docstrings."""
    from babel.messages.extract import extract_python  # Babel: the test extra

    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    for fn in ast.walk(ast.parse(fileobj.read())):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and _is_command(fn):
            doc = ast.get_docstring(fn)
            if doc:
                yield fn.lineno, "_", doc, []
