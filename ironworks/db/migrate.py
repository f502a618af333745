"""Apply Alembic migrations programmatically (`ironworks db upgrade`, and every start).

Rolling upgrades split the migrations in two phases (docs/operations.md, "Upgrades"). Each
migration file says which with a module-level `phase`:

* `phase = "expand"`: additive only (new tables, nullable columns or columns with a server
  default, new indexes); the previous release's processes keep working on the expanded schema.
* `phase = "contract"`: drops, renames, NOT NULL tightening, data moves the previous release
  still needs; applied once no process of the previous release runs.

Migrations up to BASE predate the split and count as expand. `upgrade_expand` applies every
pending migration up to (not including) the first pending contract one; an expand migration
ordered after a pending contract one is refused, naming both, so its author orders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ironworks.db.engine import Database

_HERE = Path(__file__).parent / "migrations"

EXPAND = "expand"
CONTRACT = "contract"
PHASES = (EXPAND, CONTRACT)
# The last migration written before migrations declared a phase; it and those before are expand.
BASE = "0018"


class PhaseError(Exception):
    """The migrations cannot be split as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Migration:
    revision: str
    phase: str
    doc: str


def alembic_config(db: Database | None = None, script_location: Path | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location or _HERE))
    if db is not None:
        cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def script_directory(script_location: Path | None = None) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(script_location=script_location))


def chain(scripts: ScriptDirectory | None = None) -> list[Migration]:
    """Every migration, oldest first, with its phase (a file without one counts as expand: the
    ones up to BASE; tests/api/test_migrations.py insists later ones say it)."""
    scripts = scripts or script_directory()
    out: list[Migration] = []
    for script in scripts.walk_revisions():  # head first
        phase = getattr(script.module, "phase", EXPAND)
        if phase not in PHASES:
            raise PhaseError(
                f"migration {script.revision} has phase {phase!r}; it must be one of {PHASES}"
            )
        out.append(Migration(script.revision, phase, (script.doc or "").strip()))
    out.reverse()
    return out


def pending(migrations: list[Migration], current: str | None) -> list[Migration] | None:
    """The migrations after `current`, in order; None if `current` is not one of them (a newer
    release's migration: this code is the older one)."""
    if current is None:
        return list(migrations)
    revisions = [m.revision for m in migrations]
    if current not in revisions:
        return None
    return migrations[revisions.index(current) + 1 :]


def expand_target(todo: list[Migration]) -> str | None:
    """The revision `--expand` upgrades to: the last pending migration before the first pending
    contract one (None: nothing to expand). Refused if an expand migration follows it."""
    target: str | None = None
    first_contract: Migration | None = None
    for m in todo:
        if m.phase == CONTRACT:
            first_contract = first_contract or m
        elif first_contract is not None:
            raise PhaseError(
                f"expand migration {m.revision} comes after contract migration "
                f"{first_contract.revision}, which is not applied yet: the expand phase cannot "
                f"include it. Order the migrations (expand ones first), or run "
                f"`ironworks db upgrade --contract` once the previous release is gone"
            )
        else:
            target = m.revision
    return target


def upgrade(db: Database, revision: str = "head", script_location: Path | None = None) -> None:
    cfg = alembic_config(db, script_location)
    lock = db._write_lock
    if lock is not None:
        lock.acquire()
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if lock is not None:
            lock.release()


def _todo(db: Database, script_location: Path | None) -> list[Migration]:
    cur = current_revision(db)
    todo = pending(chain(script_directory(script_location)), cur)
    if todo is None:
        raise PhaseError(
            f"the database is at revision {cur}, which this release does not know (a newer "
            f"release upgraded it); use that release's `ironworks db upgrade`"
        )
    return todo


def upgrade_expand(db: Database, script_location: Path | None = None) -> list[Migration]:
    """Apply the pending expand migrations (see the module's doc); returns what was applied."""
    todo = _todo(db, script_location)
    target = expand_target(todo)
    if target is None:
        return []
    upgrade(db, target, script_location)
    return todo[: [m.revision for m in todo].index(target) + 1]


def upgrade_all(db: Database, script_location: Path | None = None) -> list[Migration]:
    """Apply every pending migration, expand and contract; returns what was applied."""
    todo = _todo(db, script_location)
    if todo:
        upgrade(db, "head", script_location)
    return todo


def missing_for_code(db: Database, script_location: Path | None = None) -> list[Migration] | None:
    """What this code needs before it can run on the database: the pending expand migrations
    (pending contract ones it does without). None when the database is newer than this code
    (expanded by the next release: this code runs side by side with it)."""
    todo = pending(chain(script_directory(script_location)), current_revision(db))
    if todo is None:
        return None
    return [m for m in todo if m.phase == EXPAND]


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db: Database | None = None, script_location: Path | None = None) -> str | None:
    return script_directory(script_location).get_current_head()


@cache
def code_head() -> str | None:
    """The newest migration this code knows (recorded by each conductor it runs)."""
    return head_revision()
