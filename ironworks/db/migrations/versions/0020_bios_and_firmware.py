"""bios_settings and firmware_components: a node's BIOS and firmware as its BMC reported (#14)

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-01 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None
phase = "expand"


def _node_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["node_id"], ["nodes.id"], name=op.f(f"fk_{table}_node_id_nodes"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "bios_settings",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("attribute_type", sa.String(length=255), nullable=True),
        sa.Column("allowable_values", JSON, nullable=True),
        sa.Column("lower_bound", sa.Integer(), nullable=True),
        sa.Column("upper_bound", sa.Integer(), nullable=True),
        sa.Column("min_length", sa.Integer(), nullable=True),
        sa.Column("max_length", sa.Integer(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=True),
        sa.Column("reset_required", sa.Boolean(), nullable=True),
        sa.Column("unique", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        _node_fk("bios_settings"),
        sa.PrimaryKeyConstraint("node_id", "name", name=op.f("pk_bios_settings")),
    )
    op.create_table(
        "firmware_components",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("component", sa.String(length=64), nullable=False),
        sa.Column("initial_version", sa.String(length=255), nullable=False),
        sa.Column("current_version", sa.String(length=255), nullable=True),
        sa.Column("last_version_flashed", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        _node_fk("firmware_components"),
        sa.PrimaryKeyConstraint("node_id", "component", name=op.f("pk_firmware_components")),
    )


def downgrade() -> None:
    op.drop_table("firmware_components")
    op.drop_table("bios_settings")
