"""The migrated schema is exactly what db/schema.py declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ironworks.db import migrate
from ironworks.db.schema import metadata


def test_migrations_match_the_declared_schema(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    assert diff == []
    assert migrate.current_revision(db) == migrate.head_revision(db)


def test_upgrade_is_idempotent(db):
    migrate.upgrade(db)
    assert migrate.current_revision(db) == migrate.head_revision(db)
