"""floating IPs: routers, floating_ips, the floating_ips quota (#11)

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def _address_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["subnet_id", "address"],
        ["ip_allocations.subnet_id", "ip_allocations.address"],
        name=f"fk_{table}_address_ip_allocations",
        ondelete="RESTRICT",
    )


def upgrade() -> None:
    for table in ("departments", "projects"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("quota_floating_ips", sa.Integer(), nullable=True))
    op.create_table(
        "routers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("subnet_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_routers_project_id_projects"),
            ondelete="RESTRICT",
        ),
        _address_fk("routers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routers")),
        sa.UniqueConstraint("project_id", name=op.f("uq_routers_project_id")),
        sa.UniqueConstraint("uuid", name=op.f("uq_routers_uuid")),
    )
    op.create_table(
        "floating_ips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("subnet_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("host_nic_id", sa.Integer(), nullable=True),
        sa.Column("fixed_ip", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["host_nic_id"],
            ["host_nics.id"],
            name=op.f("fk_floating_ips_host_nic_id_host_nics"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_floating_ips_project_id_projects"),
            ondelete="RESTRICT",
        ),
        _address_fk("floating_ips"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_floating_ips")),
        sa.UniqueConstraint(
            "host_nic_id", "fixed_ip", name=op.f("uq_floating_ips_host_nic_id_fixed_ip")
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_floating_ips_uuid")),
    )
    with op.batch_alter_table("floating_ips", schema=None) as batch_op:
        batch_op.create_index("ix_floating_ips_project_id", ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("floating_ips", schema=None) as batch_op:
        batch_op.drop_index("ix_floating_ips_project_id")
    op.drop_table("floating_ips")
    op.drop_table("routers")
    for table in ("projects", "departments"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("quota_floating_ips")
