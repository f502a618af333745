"""usage metering: usage records per host interval, flavor prices with their history (#13)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_uuid", sa.String(length=36), nullable=False),
        sa.Column("host_name", sa.String(length=255), nullable=False),
        sa.Column("flavor_uuid", sa.String(length=36), nullable=False),
        sa.Column("flavor_name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("project_name", sa.String(length=255), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("department_name", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=16), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
    )
    op.create_index("ix_usage_records_host_uuid", "usage_records", ["host_uuid"])
    op.create_index(
        "ix_usage_records_project_id_started_at", "usage_records", ["project_id", "started_at"]
    )
    op.create_index(
        "ix_usage_records_department_id_started_at",
        "usage_records",
        ["department_id", "started_at"],
    )
    op.create_table(
        "flavor_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("flavor_uuid", sa.String(length=36), nullable=False),
        sa.Column("flavor_name", sa.String(length=255), nullable=False),
        sa.Column("price", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flavor_prices")),
        sa.UniqueConstraint("uuid", name=op.f("uq_flavor_prices_uuid")),
        sa.UniqueConstraint(
            "flavor_uuid",
            "effective_from",
            name=op.f("uq_flavor_prices_flavor_uuid_effective_from"),
        ),
    )


def downgrade() -> None:
    op.drop_table("flavor_prices")
    op.drop_index("ix_usage_records_department_id_started_at", table_name="usage_records")
    op.drop_index("ix_usage_records_project_id_started_at", table_name="usage_records")
    op.drop_index("ix_usage_records_host_uuid", table_name="usage_records")
    op.drop_table("usage_records")
