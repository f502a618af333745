"""`ironworks serve | api | conductor | db upgrade | db status | config sample | states`."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from ironworks.common.crypto import PREFIX, SecretBox, new_key
from ironworks.common.errors import ConfigError, IronworksError
from ironworks.common.logging import setup_logging
from ironworks.common.settings import Settings, load_settings, sample_toml
from ironworks.db import conductors as conductor_db
from ironworks.db import migrate
from ironworks.db import nodes as node_db
from ironworks.db.engine import Database, as_utc, utcnow
from ironworks.domain import states

log = logging.getLogger("ironworks")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="IRONWORKS_CONFIG", help="TOML settings file."),
]


def settings_from(config: Path | None, **overrides: object) -> Settings:
    """Settings or a clean exit naming every bad option."""
    if config is None:
        home = Path(os.environ.get("IRONWORKS_HOME", "var"))
        if (home / "ironworks.toml").is_file():
            config = home / "ironworks.toml"
    try:
        return load_settings(config, **{k: val for k, val in overrides.items() if val is not None})
    except ConfigError as e:
        typer.echo(f"ironworks: {e.message}", err=True)
        raise typer.Exit(2) from None


def open_database(settings: Settings, upgrade: bool = True, check: bool = True) -> Database:
    db = Database(
        settings.effective_database_url, pool_size=max(10, settings.conductor.workers // 2)
    )
    try:
        if upgrade:
            migrate.upgrade(db)
        elif check:
            check_schema(db)
    except typer.Exit:
        raise
    except Exception as e:
        typer.echo(f"ironworks: cannot use database {db.engine.url!r}: {e}", err=True)
        raise typer.Exit(2) from None
    return db


def check_schema(db: Database) -> None:
    """A scaled-out process runs once its expand migrations are applied (pending contract ones
    are for after the previous release is gone), and alongside the next release's expand."""
    missing = migrate.missing_for_code(db)
    cur = migrate.current_revision(db)
    if missing is None:
        log.warning(
            "the database is at revision %s, newer than this release knows (%s): running on the "
            "next release's expanded schema; replace this process with that release",
            cur,
            migrate.code_head(),
        )
    elif missing:
        typer.echo(
            f"ironworks: the database is at revision {cur}, this version needs "
            f"{missing[-1].revision}; run `ironworks db upgrade --expand` (or `ironworks db "
            "upgrade` with every process stopped) first",
            err=True,
        )
        raise typer.Exit(2)


KEY_FILE = "secret.key"


def load_secret_box(settings: Settings) -> SecretBox:
    """The key for secrets at rest: the `secret_key` setting, else `$IRONWORKS_HOME/secret.key`,
    generated (mode 0600) on first start. A clean exit naming the setting or file if unusable."""
    try:
        if settings.secret_key is not None:
            return SecretBox(settings.secret_key.get_secret_value())
        path = settings.home / KEY_FILE
        source = f"the key file {path}"
        if not path.exists():
            settings.home.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process of this home made it first
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(new_key() + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                log.warning(
                    "generated the key for stored secrets in %s; keep a copy: without it the "
                    "BMC passwords stored in the database cannot be read%s",
                    path,
                    ""
                    if settings.effective_database_url.startswith("sqlite")
                    else ", and give the same key (secret_key) to every api and conductor process",
                )
        if path.stat().st_mode & 0o077:
            log.warning("%s is readable by other users; run: chmod 600 %s", path, path)
        return SecretBox(path.read_text(encoding="ascii", errors="replace"), source=source)
    except ConfigError as e:
        typer.echo(f"ironworks: {e.message}", err=True)
        raise typer.Exit(2) from None
    except OSError as e:
        typer.echo(
            f"ironworks: cannot use the key file {e.filename or settings.home / KEY_FILE}: "
            f"{e.strerror or e}; fix it or set secret_key",
            err=True,
        )
        raise typer.Exit(2) from None


def check_secret_key(db: Database, box: SecretBox) -> None:
    """Refuse to start with a key that does not open the secrets already stored."""
    with db.read() as conn:
        node = node_db.one_with_sealed_secret(conn, PREFIX)
    if node is None:
        return
    try:
        box.open(node["driver_info"] or {})
    except ConfigError as e:
        typer.echo(f"ironworks: node {node['uuid']}: {e.message}", err=True)
        raise typer.Exit(2) from None


def first_admin(svc: Any) -> None:
    """Create the cloud admin on the first start; a generated password is shown once and kept
    in $IRONWORKS_HOME/initial-admin-password (mode 0600) until the operator deletes it."""
    from ironworks.services import auth

    settings = svc.settings
    try:
        password = auth.bootstrap_admin(svc)
    except IronworksError as e:
        typer.echo(f"ironworks: {e.field or 'auth'}: {e.message}", err=True)
        raise typer.Exit(2) from None
    if password is None:
        return
    path = settings.home / "initial-admin-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    typer.echo(
        f"\nironworks: created the cloud admin {settings.auth.admin_user!r} with password "
        f"{password}\n  (also in {path}; log in with `ironworks login`, then delete the "
        "file)\n",
        err=True,
    )


def serve_http(app: Any, settings: Settings) -> None:
    """Serve the API with uvicorn until SIGTERM or SIGINT; exit 1 if it could not listen."""
    import uvicorn

    config = uvicorn.Config(
        app,
        host=settings.api.host,
        port=settings.api.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    # uvicorn stops on SIGTERM/SIGINT, puts back the handlers it found and raises the signal
    # again; with Python's default for SIGTERM that would end the process before the caller
    # stops the conductor and the boot services. Ours only notes it.
    stopped_by: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stopped_by.append(signum))
    server.run()
    # a second signal while the conductor and running jobs wind down ends it for good
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if stopped_by:
        log.info("stopping on %s", signal.Signals(stopped_by[0]).name)
    if not server.started:
        typer.echo(
            f"ironworks: could not listen on {settings.api.host}:{settings.api.port} (see the "
            "error above); is another server using the port?",
            err=True,
        )
        raise typer.Exit(1)


PRIVATE_UMASK = 0o027  # files 0640, directories 0750, whatever the shell's umask was


def prepare_home(settings: Settings) -> None:
    """Make the state directory private before anything is written into it: the database,
    the key of stored secrets, image files. The process umask becomes 027 and a new home is
    created 0700; an existing one readable by others is named in a warning."""
    os.umask(PRIVATE_UMASK)
    home = settings.home
    if not home.exists():
        home.mkdir(mode=0o700, parents=True)
        home.chmod(0o700)
    elif home.stat().st_mode & 0o077:
        log.warning("%s is open to other users; run: chmod 700 %s", home, home)


_M_ARENA_MAX = -8  # glibc's mallopt parameter
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> None:
    """glibc gives every thread that allocates while another holds the heap an arena of its
    own, up to 8 per core, each keeping its free memory: with the API's thread pool, the
    database pool and the conductor's workers that is tens of MiB of RSS for no speed this
    process needs (its threads mostly wait on the database). Python's small objects do not
    come from malloc; this bounds the rest. A no-op where malloc is not glibc's, or when
    MALLOC_ARENA_MAX is set (the operator's choice wins). Call before threads start."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.mallopt(_M_ARENA_MAX, arenas)
    except (OSError, AttributeError):  # musl or another libc: nothing to bound
        return


def _run(settings: Settings, *, with_api: bool, with_conductor: bool, upgrade: bool) -> None:
    from ironworks.conductor.conductor import Conductor

    limit_malloc_arenas()
    setup_logging(settings.log_level)
    prepare_home(settings)
    box = load_secret_box(settings)
    # Threads that wait on the database give up the GIL for every round trip and then wait up
    # to the switch interval to get it back from a busy thread: at Python's default 5 ms, a
    # request with eight round trips could spend 40 ms queueing. 0.5 ms keeps them short.
    sys.setswitchinterval(0.0005)
    db = open_database(settings, upgrade=upgrade)
    check_secret_key(db, box)
    conductor = Conductor(db, settings, secret_box=box) if with_conductor else None
    boot_services: Any = None
    console_server: Any = None
    if conductor and not with_api:  # split: the API relays consoles to this process
        from ironworks.cmd.consoleserver import ConsoleServer
        from ironworks.services.context import Services

        try:
            console_server = ConsoleServer(Services(db=db, settings=settings, secret_box=box))
        except IronworksError as e:
            typer.echo(f"ironworks: {e.message}", err=True)
            raise typer.Exit(2) from None
        console_server.start()
        conductor.console_url = console_server.url
    name_lock = None
    if conductor:
        from ironworks.cmd.identity import NameLock

        name_lock = NameLock(settings.home, conductor.host)
        try:
            conductor.replaces = name_lock.acquire()
            conductor.on_registered = name_lock.record
            conductor.start()
        except IronworksError as e:
            if console_server is not None:
                console_server.stop()
            db.dispose()
            typer.echo(f"ironworks: {e.message}", err=True)
            raise typer.Exit(2) from None
    try:
        if with_api:
            from ironworks.api.app import create_app
            from ironworks.services.context import Services

            svc = Services(db=db, settings=settings, secret_box=box)
            first_admin(svc)
            if settings.gateway.enabled:  # the network node: its routers from the database
                from ironworks.services import gateway

                try:
                    gateway.apply(svc)
                except IronworksError as e:
                    typer.echo(f"ironworks: gateway: {e.message}", err=True)
                    raise typer.Exit(2) from None
            if settings.boot.enabled:
                from ironworks.cmd.bootsvc import BootServices

                boot_services = BootServices(svc, settings)
                try:
                    boot_services.start()
                except IronworksError as e:
                    typer.echo(f"ironworks: boot services: {e.message}", err=True)
                    raise typer.Exit(2) from None
            app = create_app(svc, console_relay=not with_conductor)
            log.info(
                "API on http://%s:%d (database %s)",
                settings.api.host,
                settings.api.port,
                db.engine.url.render_as_string(hide_password=True),
            )
            serve_http(app, settings)
        else:
            done = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: done.set())
            signal.signal(signal.SIGINT, lambda *_: done.set())
            assert conductor is not None
            while not done.wait(1.0):
                if conductor.lost_name.is_set():  # another process took our name: exit, loudly
                    raise typer.Exit(1)
    finally:
        if console_server is not None:
            console_server.stop()
        if boot_services is not None:
            boot_services.stop()
        if conductor:
            conductor.stop(wait=False)
            log.info(
                "conductor %s stopped; running jobs finish before the process exits", conductor.host
            )
        if name_lock is not None:
            name_lock.release()
        db.dispose()


def register(app: typer.Typer) -> None:
    """Add the server's commands to the `ironworks` application."""
    add_run_commands(app)
    add_db_commands(app)
    add_config_commands(app)
    add_reference_commands(app)


def serve_overrides(
    config: Path | None, home: Path | None, host: str | None, port: int | None, lab: str | None
) -> dict[str, object]:
    """The settings `serve`'s options change: home, the API's address, the lab's boot network."""
    api = {k: val for k, val in {"host": host, "port": port}.items() if val is not None}
    overrides: dict[str, object] = {"home": home}
    if api or lab:
        base = settings_from(config, home=home)
        if api:
            overrides["api"] = base.api.model_copy(update=api)
        if lab:
            lab_boot = {"enabled": True, "netns": lab}
            if base.boot.http_address6 is None:  # the lab's bridge holds fd99::1/64
                lab_boot["http_address6"] = "fd99::1"
            overrides["boot"] = base.boot.model_copy(update=lab_boot)
    return overrides


def add_run_commands(app: typer.Typer) -> None:
    """`serve` (everything in one process), `api` and `conductor` (scaled out)."""

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
        lab: Annotated[
            str | None,
            typer.Option(
                help="Serve the provisioning network of the lab in this network namespace "
                "(`ironworks lab up` prints it; usually iwlab): DHCP/TFTP and the boot listener "
                "on 10.99.0.1. Same as boot.enabled = true and boot.netns = NAME.",
            ),
        ] = None,
    ) -> None:
        """Run everything in one process: API, conductor; embedded SQLite under $IRONWORKS_HOME."""
        overrides = serve_overrides(config, home, host, port, lab)
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


def add_db_commands(app: typer.Typer) -> None:
    """`db upgrade [--expand | --contract]` and `db status`."""
    db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("upgrade")
    def db_upgrade(
        config: ConfigOpt = None,
        expand: Annotated[
            bool,
            typer.Option(
                "--expand",
                help="Rolling upgrade, step 1: only the additive migrations, which the running "
                "processes of the previous release work with.",
            ),
        ] = False,
        contract: Annotated[
            bool,
            typer.Option(
                "--contract",
                help="Rolling upgrade, last step: the rest, once every process runs this "
                "release (refused while a conductor of another release is online).",
            ),
        ] = False,
    ) -> None:
        """Apply the migrations the database lacks (all of them, with every process stopped; or
        in two phases around a rolling upgrade: --expand, then --contract)."""
        if expand and contract:
            typer.echo("ironworks: --expand and --contract are two steps; give one", err=True)
            raise typer.Exit(2)
        settings = settings_from(config)
        db = open_database(settings, upgrade=False, check=False)
        try:
            if expand:
                applied = migrate.upgrade_expand(db)
            elif contract:
                refuse_contract(db, settings)
                applied = migrate.upgrade_all(db)
            else:
                applied = migrate.upgrade_all(db)
        except migrate.PhaseError as e:
            typer.echo(f"ironworks: {e}", err=True)
            raise typer.Exit(2) from None
        for m in applied:
            typer.echo(f"applied {m.revision} ({m.phase}): {m.doc.splitlines()[0]}")
        left = migrate.pending(migrate.chain(), migrate.current_revision(db)) or []
        typer.echo(f"database at revision {migrate.current_revision(db)}")
        if left:
            typer.echo(
                f"{len(left)} contract migration(s) pending: run `ironworks db upgrade "
                "--contract` once every api and conductor process runs this release"
            )

    @db_app.command("status")
    def db_status(config: ConfigOpt = None) -> None:
        """The applied revision, the pending migrations by phase, and each live conductor's
        release."""
        settings = settings_from(config)
        db = open_database(settings, upgrade=False, check=False)
        cur = migrate.current_revision(db)
        typer.echo(f"database at revision {cur}; this release's newest is {migrate.code_head()}")
        todo = migrate.pending(migrate.chain(), cur)
        if todo is None:
            typer.echo("the database is newer than this release (a newer release expanded it)")
        for m in todo or []:
            typer.echo(f"pending {m.revision} ({m.phase}): {m.doc.splitlines()[0]}")
        if cur is not None and not any(m.phase == migrate.EXPAND for m in todo or []):
            with db.read() as conn:
                rows = conductor_db.list_all(conn)
            since = utcnow() - timedelta(seconds=settings.conductor.heartbeat_timeout)
            for r in rows:
                seen = as_utc(r["updated_at"] or r["created_at"])
                if r["online"] and seen is not None and seen >= since:
                    typer.echo(
                        f"conductor {r['hostname']}: release {r['release'] or 'unknown (older)'}"
                        f", schema {r['schema_head'] or 'unknown'}"
                    )


def refuse_contract(db: Database, settings: Settings) -> None:
    """`--contract` runs once every process runs this release: no expand migration pending, no
    online conductor (heard within heartbeat_timeout) of another release."""
    missing = migrate.missing_for_code(db)
    if missing:
        typer.echo(
            "ironworks: expand migrations are pending; run `ironworks db upgrade --expand`, "
            "replace every api and conductor process with this release, then --contract",
            err=True,
        )
        raise typer.Exit(2)
    since = utcnow() - timedelta(seconds=settings.conductor.heartbeat_timeout)
    with db.read() as conn:
        others = conductor_db.running_other_code(conn, migrate.code_head() or "", since)
    if others:
        names = ", ".join(
            f"{o['hostname']} ({o['release'] or 'a release older than rolling upgrades'})"
            for o in others
        )
        typer.echo(
            f"ironworks: conductors of another release are online: {names}; replace them with "
            "this release (or stop them) before --contract",
            err=True,
        )
        raise typer.Exit(2)


def add_config_commands(app: typer.Typer) -> None:
    """`config sample` and `config new-key`."""
    config_app = typer.Typer(help="Settings.", no_args_is_help=True)
    app.add_typer(config_app, name="config")

    @config_app.command("sample")
    def config_sample() -> None:
        """Print every option with its help text and default, as TOML."""
        sys.stdout.write(sample_toml() + "\n")

    @config_app.command("new-key")
    def config_new_key() -> None:
        """Print a new random key for the secret_key setting (secrets at rest)."""
        typer.echo(new_key())


def add_reference_commands(app: typer.Typer) -> None:
    """`policy` and `states`: the permission table and the state machine, printed."""

    @app.command("policy")
    def policy_cmd(
        markdown: Annotated[bool, typer.Option("--markdown", help="A Markdown table.")] = False,
    ) -> None:
        """The permission table: who may do what (the PRD's rows, then Ironworks' own)."""
        from ironworks.domain import policy

        mark = {"allow": "✓", "joined": "joined", "dept": "own dept", "deny": "✗"}
        if markdown:
            typer.echo(
                "| area | operation | what | cloud admin | dept admin | project admin/member |"
            )
            typer.echo("|---|---|---|---|---|---|")
        for r in policy.RULES:
            cells = [mark[r.admin.value], mark[r.dept_admin.value], mark[r.project.value]]
            if markdown:
                typer.echo(f"| {r.area} | `{r.operation}` | {r.text} | {' | '.join(cells)} |")
            else:
                typer.echo(f"{r.operation:<22} {cells[0]:<9} {cells[1]:<9} {cells[2]:<9} {r.text}")

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
