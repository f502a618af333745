"""The migrated schema is exactly what db/schema.py declares, on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.dialects.postgresql import JSONB

from ironworks.db import migrate, schema
from ironworks.db.engine import Database
from ironworks.db.schema import host_nics, metadata


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


def _row(table: sa.Table, **given: Any) -> dict[str, Any]:
    """A row for a reflected table: `given`, and a plain value for every other required column
    (so the test survives columns added by later revisions)."""
    out = dict(given)
    for col in table.columns:
        if col.name in out or col.nullable or col.primary_key or col.server_default is not None:
            continue
        kind = col.type
        if isinstance(kind, sa.JSON | JSONB):
            out[col.name] = {}
        elif isinstance(kind, sa.Boolean):
            out[col.name] = False
        elif isinstance(kind, sa.Integer):
            out[col.name] = 0
        elif isinstance(kind, sa.DateTime):
            out[col.name] = datetime.now(UTC)
        else:  # text: as long as the column holds
            out[col.name] = uuid.uuid4().hex[: getattr(kind, "length", None) or 32]
    return out


def test_0011_moves_the_vifs_of_internal_info_into_host_nics(database_url: str) -> None:
    """VIFs attached before host_nics held them lived in a port's (or port group's)
    internal_info; the upgrade makes each a host NIC on that port and takes it out of there."""
    db = Database(database_url)
    try:
        migrate.upgrade(db, "0010")
        with db.engine.begin() as conn:
            meta = sa.MetaData()
            nodes, ports, portgroups = (
                sa.Table(name, meta, autoload_with=conn)
                for name in ("nodes", "ports", "portgroups")
            )
            node_id = conn.execute(
                sa.insert(nodes).values(**_row(nodes, uuid=str(uuid.uuid4()))).returning(nodes.c.id)
            ).scalar_one()
            conn.execute(sa.insert(ports).values(**_row(
                ports, uuid=str(uuid.uuid4()), node_id=node_id, address="52:54:00:70:99:01",
                internal_info={"tenant_vif_port_id": "old-vif", "kept": 1})))  # fmt: skip
            conn.execute(sa.insert(portgroups).values(**_row(
                portgroups, uuid=str(uuid.uuid4()), node_id=node_id, address="52:54:00:70:99:02",
                internal_info={"tenant_vif_port_id": "old-bond-vif"})))  # fmt: skip
        migrate.upgrade(db)
        with db.engine.connect() as conn:
            nics = conn.execute(
                sa.select(
                    host_nics.c.vif_id,
                    host_nics.c.node_id,
                    host_nics.c.mac,
                    host_nics.c.host_id,
                    host_nics.c.network_id,
                    host_nics.c.port_id.is_not(None),
                ).order_by(host_nics.c.vif_id)
            ).all()
            infos = conn.execute(sa.select(schema.ports.c.internal_info)).scalars().all()
            group_infos = conn.execute(sa.select(schema.portgroups.c.internal_info)).scalars().all()
        assert [tuple(n) for n in nics] == [
            ("old-bond-vif", node_id, "52:54:00:70:99:02", None, None, False),
            ("old-vif", node_id, "52:54:00:70:99:01", None, None, True),
        ]
        assert infos == [{"kept": 1}] and group_infos == [{}]
    finally:
        db.dispose()
