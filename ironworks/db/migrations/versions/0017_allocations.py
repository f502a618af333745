"""allocations: Ironic's allocations and the node's allocation_uuid (#14)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allocation_uuid", sa.String(length=36), nullable=True))
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=15), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("resource_class", sa.String(length=80), nullable=True),
        sa.Column("traits", JSON, nullable=False),
        sa.Column("candidate_nodes", JSON, nullable=False),
        sa.Column("extra", JSON, nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("node_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["nodes.id"],
            name=op.f("fk_allocations_node_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
        sa.UniqueConstraint("name", name=op.f("uq_allocations_name")),
        sa.UniqueConstraint("node_id", name=op.f("uq_allocations_node_id")),
        sa.UniqueConstraint("uuid", name=op.f("uq_allocations_uuid")),
    )


def downgrade() -> None:
    op.drop_table("allocations")
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_column("allocation_uuid")
