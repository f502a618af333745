"""Commands imported only when they run, so `ironworks node list` does not load the server.

`ironworks` has two kinds of commands: the service's (`serve`, `db upgrade`, ...: SQLAlchemy,
Alembic, pydantic-settings) and the operator's over HTTP (`node`, `host`, ...: httpx, rich).
Importing all of them costs more than a second before any command starts. So the top-level
group knows each command only as a `Lazy` entry: its name, the one line `ironworks --help`
shows, and where its code is (`"module:attribute"`). The module is imported when the command is
resolved to run (or to show its own `--help`); the top-level help is drawn from the entries
alone. `tests/cli/test_startup.py` checks that each entry's line is the command's own help and
that a command imports only what it needs.

The attribute is a `typer.Typer` (added as the group `name`) or a function `register(app)` that
adds commands to a typer app (it may add several, as `cmd/server.py:register` does; the one
called `name` is taken). Docstring help is translated as for every CLI command
(`cli/i18n.translate_docstrings`).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

try:  # the click that typer's groups are made of: its own copy since typer 0.2x
    from typer import _click
except ImportError:  # pragma: no cover - older typer uses click itself
    import click as _click  # type: ignore[no-redef]

from ironworks.cli.i18n import translate_docstrings


@dataclass(frozen=True)
class Lazy:
    """One top-level command: its name, its line in `ironworks --help`, where its code is."""

    name: str
    help: str
    target: str  # "package.module:attribute", a typer.Typer or a function register(app)
    hidden: bool = False


def load(entry: Lazy) -> _click.Command:
    """Import the entry's module and build its click command (`--help` and all)."""
    module, _, attribute = entry.target.partition(":")
    obj = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer()
    if isinstance(obj, typer.Typer):
        holder.add_typer(obj, name=entry.name)
    else:
        obj(holder)
    translate_docstrings(holder)
    group = typer.main.get_group(holder)
    command = group.commands.get(entry.name)
    if command is None:
        raise LookupError(f"{entry.target} defines no command {entry.name!r}")
    return command


class LazyGroup(TyperGroup):
    """A typer group whose commands are `Lazy` entries (`entries`, set by `lazy_group`)."""

    entries: Sequence[Lazy] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._lazy = {e.name: e for e in self.entries}
        self._listing = False

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self._lazy if n not in self.commands)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name in self.commands or cmd_name not in self._lazy:
            return super().get_command(ctx, cmd_name)
        entry = self._lazy[cmd_name]
        if self._listing:  # a line of this group's --help: no import
            return TyperCommand(name=entry.name, help=entry.help, hidden=entry.hidden)
        self.commands[cmd_name] = command = load(entry)
        return command

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        """typer's, with its "did you mean" drawn from every command, loaded or not."""
        try:
            return super().resolve_command(ctx, args)
        except _click.exceptions.UsageError as e:
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if self.suggest_commands and matches and "Did you mean" not in e.message:
                names = ", ".join(repr(m) for m in matches)
                e.message = f"{e.message.rstrip('.')}. Did you mean {names}?"
            raise

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def lazy_group(entries: Sequence[Lazy]) -> type[LazyGroup]:
    """A `LazyGroup` class over `entries`, for `typer.Typer(cls=...)`."""
    return type("LazyCommands", (LazyGroup,), {"entries": tuple(entries)})
