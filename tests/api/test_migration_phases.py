"""Expand/contract migrations (rolling upgrades): which migrations `--expand` applies, on both
backends, with a copy of the real migrations and a few made-up ones after them."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from ironworks.db import conductors as conductor_db
from ironworks.db import migrate
from ironworks.db.engine import Database, utcnow
from ironworks.db.migrate import CONTRACT, EXPAND, Migration, PhaseError

REAL = Path(migrate.__file__).parent / "migrations"


def _m(rev: str, phase: str) -> Migration:
    return Migration(rev, phase, "")


def test_expand_stops_before_the_first_contract_migration():
    todo = [_m("a", EXPAND), _m("b", EXPAND), _m("c", CONTRACT), _m("d", CONTRACT)]
    assert migrate.expand_target(todo) == "b"
    assert migrate.expand_target(todo[2:]) is None
    assert migrate.expand_target([]) is None


def test_an_expand_after_a_pending_contract_is_refused_naming_both():
    todo = [_m("a", EXPAND), _m("c", CONTRACT), _m("e", EXPAND)]
    with pytest.raises(PhaseError, match="expand migration e comes after contract migration c"):
        migrate.expand_target(todo)


def test_pending_of_an_unknown_revision_is_none():
    chain = [_m("a", EXPAND), _m("b", EXPAND)]
    assert migrate.pending(chain, None) == chain
    assert migrate.pending(chain, "a") == chain[1:]
    assert migrate.pending(chain, "b") == []
    assert migrate.pending(chain, "z") is None  # a newer release's migration


def test_every_migration_after_the_base_says_its_phase():
    """A migration written since rolling upgrades must say whether the previous release can run
    on the schema it makes (phase = "expand") or not (phase = "contract")."""
    scripts = migrate.script_directory()
    base_seen = False
    missing = []
    for script in reversed(list(scripts.walk_revisions())):
        if base_seen and getattr(script.module, "phase", None) not in migrate.PHASES:
            missing.append(script.revision)
        base_seen = base_seen or script.revision == migrate.BASE
    assert base_seen
    assert not missing, f'add phase = "expand" or "contract" to migration(s) {missing}'


def _add(versions: Path, rev: str, down: str, phase: str, up: str) -> None:
    (versions / f"{rev}_probe.py").write_text(
        f'"""probe {rev}"""\n'
        "import sqlalchemy as sa\n"
        "from alembic import op\n\n"
        f'revision = "{rev}"\ndown_revision = "{down}"\n'
        f"branch_labels = None\ndepends_on = None\nphase = {phase!r}\n\n\n"
        f"def upgrade() -> None:\n    {up}\n\n\n"
        "def downgrade() -> None:\n    pass\n"
    )


def test_expand_then_contract_on_a_copy_of_the_migrations(database_url: str, tmp_path: Path):
    scripts = tmp_path / "migrations"
    shutil.copytree(REAL, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head_revision()
    _add(
        scripts / "versions",
        "0901",
        head,
        EXPAND,
        'op.create_table("probe", sa.Column("id", sa.Integer, primary_key=True), '
        'sa.Column("old", sa.String(8)))',
    )
    _add(scripts / "versions", "0902", "0901", CONTRACT, 'op.drop_table("probe")')
    db = Database(database_url)
    try:
        applied = migrate.upgrade_expand(db, scripts)
        assert applied[-1].revision == "0901" and applied[0].revision == "0001"
        assert migrate.current_revision(db) == "0901"
        # the code of this (made-up) release runs: only a contract migration is pending
        assert migrate.missing_for_code(db, scripts) == []
        assert migrate.upgrade_expand(db, scripts) == []

        # an expand migration ordered after the pending contract one: refused, nothing applied
        _add(scripts / "versions", "0903", "0902", EXPAND, "pass")
        with pytest.raises(PhaseError, match="0903 comes after contract migration 0902"):
            migrate.upgrade_expand(db, scripts)
        assert migrate.current_revision(db) == "0901"
        assert [m.revision for m in migrate.missing_for_code(db, scripts)] == ["0903"]

        assert [m.revision for m in migrate.upgrade_all(db, scripts)] == ["0902", "0903"]
        assert migrate.current_revision(db) == "0903"
        # the real release's code on this database: newer than it knows, it runs side by side
        assert migrate.missing_for_code(db) is None
        with pytest.raises(PhaseError, match="which this release does not know"):
            migrate.upgrade_expand(db)
    finally:
        db.engine.dispose()


def test_conductors_of_another_release_are_found(db):
    now = utcnow()
    with db.write() as conn:
        for host, head in (("old", None), ("same", migrate.code_head()), ("gone", None)):
            conductor_db.claim_name(
                conn,
                host,
                group="",
                incarnation=host,
                drivers=[],
                heard_after=now,
                schema_head=head,
            )
        conductor_db.mark_offline(conn, "gone")
    with db.read() as conn:
        found = conductor_db.running_other_code(
            conn, migrate.code_head() or "", now - timedelta(seconds=60)
        )
        later = conductor_db.running_other_code(
            conn, migrate.code_head() or "", now + timedelta(seconds=60)
        )
    assert found == [{"hostname": "old", "release": None, "schema_head": None}]
    assert later == [], "a conductor silent longer than the timeout is dead, not running"
