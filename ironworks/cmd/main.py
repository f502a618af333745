"""The `ironworks` command: the service's commands and the operator's (ironworks/cli).

Every command is a `Lazy` entry (cli/lazy.py): its module is imported only when the command
runs, so `ironworks node list` loads neither SQLAlchemy nor the API, and `ironworks --help`
loads no command at all. A new command: a `Lazy` line here (service) or in
`ironworks/cli/__init__.py` (over HTTP).
"""

from __future__ import annotations

import os
import sys

# httpx imports its own command-line program (click, rich's syntax highlighting, pygments: a
# tenth of a second) whenever those are installed, and falls back to a stub when the import
# fails. `ironworks` never runs that program, so it is kept out of this process.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

# IRONWORKS_LANG=zh_CN picks the CLI's language over the locale. The CLI looks its strings up
# as it is imported (help texts too), so the choice goes, as gettext's own LANGUAGE, ahead of
# that import; see ironworks/cli/i18n.py.
if lang := os.environ.get("IRONWORKS_LANG"):
    os.environ["LANGUAGE"] = lang

import typer  # noqa: E402

from ironworks.cli import COMMANDS  # noqa: E402
from ironworks.cli.lazy import Lazy, lazy_group  # noqa: E402

SERVER = "ironworks.cmd.server:register"
SERVICE = (
    Lazy(
        "serve",
        "Run everything in one process: API, conductor; embedded SQLite under $IRONWORKS_HOME.",
        SERVER,
    ),
    Lazy(
        "api",
        "Run only the API (scale out against PostgreSQL; needs `ironworks db upgrade` first).",
        SERVER,
    ),
    Lazy("conductor", "Run only a conductor (against PostgreSQL; many may run).", SERVER),
    Lazy("db", "Database schema.", SERVER),
    Lazy("config", "Settings.", SERVER),
    Lazy(
        "policy",
        "The permission table: who may do what (the PRD's rows, then Ironworks' own).",
        SERVER,
    ),
    Lazy(
        "states", "The provision state machine: a table, or a Graphviz diagram with --dot.", SERVER
    ),
    Lazy(
        "lab",
        "A virtual datacenter for trying Ironworks without hardware: emulated BMCs, and QEMU VMs "
        "behind them on a private network.",
        "ironworks.cmd.lab:app",
    ),
    Lazy(
        "ramdisk",
        "Build the agent ramdisk (kernel + initramfs) and the lab's test OS image.",
        "ironworks.cmd.ramdisk:app",
    ),
    Lazy(
        "account",
        "User accounts, from the server's own command line (reads its database directly).",
        "ironworks.cmd.accounts:app",
    ),
)

app = typer.Typer(
    cls=lazy_group((*SERVICE, *COMMANDS)),
    help="Ironworks: a bare-metal cloud. Run the service, or manage it over HTTP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _top() -> None:
    # typer makes a group only of an app with a callback or registered commands; all of this
    # one's commands are lazy
    pass


if __name__ == "__main__":
    app()
