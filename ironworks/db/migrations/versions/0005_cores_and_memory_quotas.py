"""cores and memory quotas

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 19:00:35.630155
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quota_cores", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quota_ram_mb", sa.Integer(), nullable=True))

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quota_cores", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quota_ram_mb", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("quota_ram_mb")
        batch_op.drop_column("quota_cores")

    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_column("quota_ram_mb")
        batch_op.drop_column("quota_cores")
