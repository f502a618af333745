"""conductor release and schema_head: which code each conductor runs (rolling upgrades, #16)

Revision ID: 0024
Revises: 0018
Create Date: 2026-12-01 20:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0021"
branch_labels = None
depends_on = None
phase = "expand"


def upgrade() -> None:
    with op.batch_alter_table("conductors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("release", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("schema_head", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conductors", schema=None) as batch_op:
        batch_op.drop_column("schema_head")
        batch_op.drop_column("release")
