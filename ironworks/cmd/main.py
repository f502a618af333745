"""The `ironworks` command."""

from __future__ import annotations

import typer

from ironworks.cmd import lab, ramdisk, server

app = typer.Typer(
    help="Ironworks: a bare-metal cloud. Run the service, or manage it over HTTP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
server.register(app)
app.add_typer(lab.app, name="lab")
app.add_typer(ramdisk.app, name="ramdisk")

try:  # the HTTP client commands (node, port, ...)
    from ironworks.cli import register as _register_cli

    _register_cli(app)
except ImportError:  # pragma: no cover - while the CLI package is absent
    pass

if __name__ == "__main__":
    app()
