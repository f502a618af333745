"""host_nics: Ironic's VIFs live there too (vif_id, node_id; host and network optional) (#11)

The VIFs that Ironic clients attached before this revision were kept in
`internal_info.tenant_vif_port_id` of the port or port group; they move into host_nics rows
(on the same port, with the host the node carries, without a network) and leave internal_info.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import uuid as uuidlib
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

VIF_KEY = "tenant_vif_port_id"


def upgrade() -> None:
    with op.batch_alter_table("host_nics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("node_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("vif_id", sa.String(length=255), nullable=True))
        batch_op.alter_column("host_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("network_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_host_nics_node_id_nodes"),
            "nodes",
            ["node_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(batch_op.f("uq_host_nics_vif_id"), ["vif_id"])
        batch_op.create_index("ix_host_nics_node_id", ["node_id"], unique=False)
    _move_vifs(op.get_bind())


def _move_vifs(conn: sa.Connection) -> None:
    meta = sa.MetaData()
    nics = sa.Table("host_nics", meta, autoload_with=conn)
    hosts = sa.Table("hosts", meta, autoload_with=conn)
    conn.execute(sa.update(nics).where(nics.c.vif_id.is_(None)).values(vif_id=nics.c.uuid))
    conn.execute(
        sa.update(nics)
        .where(nics.c.node_id.is_(None))
        .values(
            node_id=sa.select(hosts.c.node_id).where(hosts.c.id == nics.c.host_id).scalar_subquery()
        )
    )
    now = datetime.now(UTC)
    for name, column in (("ports", "port_id"), ("portgroups", "portgroup_id")):
        table = sa.Table(name, meta, autoload_with=conn)
        rows = conn.execute(
            sa.select(table.c.id, table.c.node_id, table.c.address, table.c.internal_info)
        ).all()
        for pk, node_id, address, info in rows:
            info = _as_dict(info)
            vif = info.get(VIF_KEY)
            if not vif:
                continue
            host_id = conn.execute(sa.select(hosts.c.id).where(hosts.c.node_id == node_id)).scalar()
            conn.execute(
                sa.insert(nics).values(
                    uuid=str(uuidlib.uuid4()),
                    host_id=host_id,
                    node_id=node_id,
                    vif_id=str(vif),
                    mac=address,
                    created_at=now,
                    **{column: pk},
                )
            )
            rest = {k: v for k, v in info.items() if k != VIF_KEY}
            conn.execute(sa.update(table).where(table.c.id == pk).values(internal_info=rest))


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        import json

        value = json.loads(value)
    return dict(value or {})


def downgrade() -> None:
    conn = op.get_bind()
    meta = sa.MetaData()
    nics = sa.Table("host_nics", meta, autoload_with=conn)
    conn.execute(
        sa.delete(nics).where(sa.or_(nics.c.host_id.is_(None), nics.c.network_id.is_(None)))
    )
    with op.batch_alter_table("host_nics", schema=None) as batch_op:
        batch_op.drop_index("ix_host_nics_node_id")
        batch_op.drop_constraint(batch_op.f("uq_host_nics_vif_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_host_nics_node_id_nodes"), type_="foreignkey")
        batch_op.alter_column("network_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("host_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("vif_id")
        batch_op.drop_column("node_id")
