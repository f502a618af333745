"""conductor console_url: where the API relays a node's console WebSocket (#13)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conductors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("console_url", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conductors", schema=None) as batch_op:
        batch_op.drop_column("console_url")
