"""`ironworks serve | api | conductor | db upgrade | config sample | states`."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from ironworks.common.errors import ConfigError
from ironworks.common.logging import setup_logging
from ironworks.common.settings import Settings, load_settings, sample_toml
from ironworks.db import migrate
from ironworks.db.engine import Database
from ironworks.domain import states

log = logging.getLogger("ironworks")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="IRONWORKS_CONFIG", help="TOML settings file."),
]


def settings_from(config: Path | None, **overrides: object) -> Settings:
    """Settings or a clean exit naming every bad option."""
    if config is None:
        import os

        home = Path(os.environ.get("IRONWORKS_HOME", "var"))
        if (home / "ironworks.toml").is_file():
            config = home / "ironworks.toml"
    try:
        return load_settings(config, **{k: val for k, val in overrides.items() if val is not None})
    except ConfigError as e:
        typer.echo(f"ironworks: {e.message}", err=True)
        raise typer.Exit(2) from None


def open_database(settings: Settings, upgrade: bool = True) -> Database:
    db = Database(
        settings.effective_database_url, pool_size=max(10, settings.conductor.workers // 2)
    )
    try:
        if upgrade:
            migrate.upgrade(db)
        else:
            cur, head = migrate.current_revision(db), migrate.head_revision(db)
            if cur != head:
                typer.echo(
                    f"ironworks: the database is at revision {cur}, this version needs {head}; "
                    "run `ironworks db upgrade` first",
                    err=True,
                )
                raise typer.Exit(2)
    except typer.Exit:
        raise
    except Exception as e:
        typer.echo(f"ironworks: cannot use database {db.engine.url!r}: {e}", err=True)
        raise typer.Exit(2) from None
    return db


def _run(settings: Settings, *, with_api: bool, with_conductor: bool, upgrade: bool) -> None:
    from ironworks.conductor.conductor import Conductor

    setup_logging(settings.log_level)
    db = open_database(settings, upgrade=upgrade)
    conductor = Conductor(db, settings) if with_conductor else None
    if conductor:
        conductor.start()
    try:
        if with_api:
            import uvicorn

            from ironworks.api.app import create_app
            from ironworks.services.context import Services

            app = create_app(Services(db=db, settings=settings))
            log.info("API on http://%s:%d (database %s)", settings.api.host, settings.api.port,
                     db.engine.url.render_as_string(hide_password=True))  # fmt: skip
            server = uvicorn.Server(uvicorn.Config(
                app, host=settings.api.host, port=settings.api.port, loop="uvloop",
                http="httptools", access_log=False, log_config=None, timeout_graceful_shutdown=5,
            ))  # fmt: skip
            server.run()
            if not server.started:
                typer.echo(f"ironworks: could not listen on {settings.api.host}:{settings.api.port}"
                           " (see the error above); is another server using the port?", err=True)  # fmt: skip
                raise typer.Exit(1)
        else:
            done = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: done.set())
            signal.signal(signal.SIGINT, lambda *_: done.set())
            done.wait()
    finally:
        if conductor:
            conductor.stop(wait=False)
        db.dispose()


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        config: ConfigOpt = None,
        host: Annotated[
            str | None, typer.Option(help="Listen address (default 127.0.0.1).")
        ] = None,
        port: Annotated[int | None, typer.Option(help="Listen port (default 6385).")] = None,
        home: Annotated[
            Path | None, typer.Option(envvar="IRONWORKS_HOME", help="State directory.")
        ] = None,
    ) -> None:
        """Run everything in one process: API, conductor; embedded SQLite under $IRONWORKS_HOME."""
        api = {k: val for k, val in {"host": host, "port": port}.items() if val is not None}
        overrides: dict[str, object] = {"home": home}
        if api:
            base = settings_from(config, home=home)
            overrides["api"] = base.api.model_copy(update=api)
        _run(settings_from(config, **overrides), with_api=True, with_conductor=True, upgrade=True)

    @app.command("api")
    def api_cmd(
        config: ConfigOpt = None,
        host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
        port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    ) -> None:
        """Run only the API (scale out against PostgreSQL; needs `ironworks db upgrade` first)."""
        base = settings_from(config)
        api = base.api.model_copy(
            update={k: val for k, val in {"host": host, "port": port}.items() if val is not None}
        )
        _run(settings_from(config, api=api), with_api=True, with_conductor=False, upgrade=False)

    @app.command("conductor")
    def conductor_cmd(config: ConfigOpt = None) -> None:
        """Run only a conductor (against PostgreSQL; many may run)."""
        _run(settings_from(config), with_api=False, with_conductor=True, upgrade=False)

    db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("upgrade")
    def db_upgrade(config: ConfigOpt = None) -> None:
        """Apply every migration the database lacks."""
        settings = settings_from(config)
        db = open_database(settings, upgrade=True)
        typer.echo(f"database at revision {migrate.current_revision(db)}")

    config_app = typer.Typer(help="Settings.", no_args_is_help=True)
    app.add_typer(config_app, name="config")

    @config_app.command("sample")
    def config_sample() -> None:
        """Print every option with its help text and default, as TOML."""
        sys.stdout.write(sample_toml() + "\n")

    @app.command("states")
    def states_cmd(
        dot: Annotated[bool, typer.Option("--dot", help="Graphviz output.")] = False,
    ) -> None:
        """The provision state machine: a table, or a Graphviz diagram with --dot."""
        if dot:
            typer.echo(states.to_dot())
            return
        for t in states.TRANSITIONS:
            typer.echo(f"{t.source:>16} --{t.event}--> {t.target}")
