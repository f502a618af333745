"""console sessions: one-time console tickets, their sessions and kept output (#13)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("host_uuid", sa.String(length=36), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_name", sa.String(length=255), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("project_name", sa.String(length=255), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("conductor", sa.String(length=255), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("output_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["nodes.id"],
            name=op.f("fk_console_sessions_node_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_sessions_token_hash")),
        sa.UniqueConstraint("uuid", name=op.f("uq_console_sessions_uuid")),
    )
    op.create_index("ix_console_sessions_node_id", "console_sessions", ["node_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_console_sessions_node_id", table_name="console_sessions")
    op.drop_table("console_sessions")
