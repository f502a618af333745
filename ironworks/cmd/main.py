"""The `ironworks` command."""

from __future__ import annotations

import os

import typer

from ironworks.cmd import accounts, lab, ramdisk, server

app = typer.Typer(
    help="Ironworks: a bare-metal cloud. Run the service, or manage it over HTTP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
server.register(app)
app.add_typer(lab.app, name="lab")
app.add_typer(ramdisk.app, name="ramdisk")
app.add_typer(accounts.app, name="account")

# IRONWORKS_LANG=zh_CN picks the CLI's language over the locale. The CLI looks its strings up
# as it is imported (help texts too), so the choice goes, as gettext's own LANGUAGE, ahead of
# that import; see ironworks/cli/i18n.py.
if lang := os.environ.get("IRONWORKS_LANG"):
    os.environ["LANGUAGE"] = lang

try:  # the HTTP client commands (node, port, ...)
    from ironworks.cli import register as _register_cli

    _register_cli(app)
except ImportError:  # pragma: no cover - while the CLI package is absent
    pass

if __name__ == "__main__":
    app()
