"""Command-line values that need parsing: KEY=VALUE pairs, JSON arguments, configdrives.

`KEY=VALUE` sets a string; `KEY:=JSON` sets a number, boolean, null, list or object
(`--property cpus:=8`, `--extra tags:='["a","b"]'`). Strings stay strings unless asked: a BMC
password of digits must not turn into a number.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from ironworks.cli.i18n import _
from ironworks.cli.runtime import UsageProblem

PAIR_HELP = _("KEY=VALUE (a string) or KEY:=JSON (number, boolean, list, object); repeatable.")


def parse_pair(item: str, option: str) -> tuple[str, Any]:
    i = item.find("=")
    if i <= 0 or (i == 1 and item[0] == ":"):
        raise UsageProblem(
            _("{option} {item!r}: expected KEY=VALUE or KEY:=JSON").format(option=option, item=item)
        )
    key, raw = item[:i], item[i + 1 :]
    if not key.endswith(":"):
        return key, raw
    try:
        return key[:-1], json.loads(raw)
    except ValueError as e:
        raise UsageProblem(
            _("{option} {key}: the value after := is not JSON ({error})").format(
                option=option, key=key[:-1], error=e
            )
        ) from None


def parse_pairs(items: list[str] | None, option: str) -> dict[str, Any]:
    return dict(parse_pair(item, option) for item in items or [])


def pairs_option(flag: str, what: str) -> Any:
    """A repeatable KEY=VALUE option; `what` says what the pairs are."""
    return typer.Option(flag, metavar="KEY=VALUE", help=f"{what} {PAIR_HELP}")


def keys_option(flag: str) -> Any:
    """A repeatable option naming keys to remove from the dict field `flag` sets."""
    return typer.Option(flag, metavar="KEY", help=_("Remove this key."))


def read_json_arg(value: str, option: str) -> Any:
    """JSON given inline, in a file (a path), or on stdin ("-")."""
    if value == "-":
        text = sys.stdin.read()
    elif value.lstrip()[:1] in ("[", "{"):
        text = value
    elif Path(value).is_file():
        text = Path(value).read_text()
    else:
        raise UsageProblem(
            _("{option}: {value!r} is neither JSON nor a file").format(option=option, value=value)
        )
    try:
        return json.loads(text)
    except ValueError as e:
        raise UsageProblem(
            _("{option}: not valid JSON ({error})").format(option=option, error=e)
        ) from None


def read_configdrive(value: str) -> str | dict[str, Any]:
    """A configdrive: a JSON object (meta_data, user_data, network_data), a base64 gzipped
    ISO, or a URL; given inline or as a file holding one of those."""
    path = Path(value)
    if path.is_dir():
        raise UsageProblem(
            _(
                "--configdrive {path}: a directory is not supported; give a JSON file, "
                "a base64 gzipped ISO or a URL"
            ).format(path=value)
        )
    text = path.read_text().strip() if path.is_file() else value.strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise UsageProblem(
                _("--configdrive: looks like JSON but is not valid ({error})").format(error=e)
            ) from None
        if isinstance(doc, dict):
            return doc
    if not text:
        raise UsageProblem(_("--configdrive is empty"))
    return text
