"""`ironworks account unlock NAME`: on the server's own command line, with its settings and
database, no token and no second admin needed (#15: throttled log-ins must never lock the
cloud admin out for good)."""

from __future__ import annotations

from pathlib import Path

import typer

from ironworks.cmd.server import (
    ConfigOpt,
    load_secret_box,
    open_database,
    prepare_home,
    settings_from,
)
from ironworks.common.errors import NotFound

app = typer.Typer(
    help="User accounts, from the server's own command line (reads its database directly).",
    no_args_is_help=True,
)


@app.command("unlock")
def unlock(name: str, config: ConfigOpt = None, home: Path | None = None) -> None:
    """Forget the failed log-ins of user NAME from every address, so they can log in at once."""
    from ironworks.services import auth
    from ironworks.services.context import Services

    settings = settings_from(config, home=home)
    prepare_home(settings)
    db = open_database(settings, upgrade=False)
    try:
        svc = Services(db=db, settings=settings, secret_box=load_secret_box(settings))
        forgotten = auth.unlock(svc, name)
    except NotFound as e:
        typer.echo(f"ironworks: {e.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    typer.echo(f"{name}: unlocked ({forgotten} throttled address(es) forgotten)")
