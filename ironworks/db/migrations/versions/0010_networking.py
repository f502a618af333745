"""networking: physical networks, switches, networks, subnets, host NICs, IP allocations (#11)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "physical_networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("segmentation_ranges", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_physical_networks")),
        sa.UniqueConstraint("name", name=op.f("uq_physical_networks_name")),
        sa.UniqueConstraint("uuid", name=op.f("uq_physical_networks_uuid")),
    )
    op.create_table(
        "switches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("password", sa.Text(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("physical_network_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["physical_network_id"],
            ["physical_networks.id"],
            name=op.f("fk_switches_physical_network_id_physical_networks"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_switches")),
        sa.UniqueConstraint("name", name=op.f("uq_switches_name")),
        sa.UniqueConstraint("uuid", name=op.f("uq_switches_uuid")),
    )
    op.create_index(
        "ix_switches_physical_network_id", "switches", ["physical_network_id"], unique=False
    )
    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("network_type", sa.String(length=8), nullable=False),
        sa.Column("segmentation_id", sa.Integer(), nullable=True),
        sa.Column("physical_network_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("external", sa.Boolean(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["physical_network_id"],
            ["physical_networks.id"],
            name=op.f("fk_networks_physical_network_id_physical_networks"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_networks_project_id_projects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
        sa.UniqueConstraint(
            "physical_network_id",
            "segmentation_id",
            name=op.f("uq_networks_physical_network_id_segmentation_id"),
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_networks_uuid")),
    )
    op.create_index("ix_networks_project_id", "networks", ["project_id"], unique=False)
    op.create_table(
        "subnets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("gateway_ip", sa.String(length=64), nullable=True),
        sa.Column("allocation_pools", JSON, nullable=False),
        sa.Column("dns_nameservers", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_subnets_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subnets")),
        sa.UniqueConstraint("uuid", name=op.f("uq_subnets_uuid")),
    )
    op.create_index("ix_subnets_network_id", "subnets", ["network_id"], unique=False)
    op.create_table(
        "host_nics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("port_id", sa.Integer(), nullable=True),
        sa.Column("portgroup_id", sa.Integer(), nullable=True),
        sa.Column("mac", sa.String(length=18), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_host_nics_host_id_hosts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_host_nics_network_id_networks"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["port_id"], ["ports.id"], name=op.f("fk_host_nics_port_id_ports"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["portgroup_id"],
            ["portgroups.id"],
            name=op.f("fk_host_nics_portgroup_id_portgroups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_nics")),
        sa.UniqueConstraint("port_id", name=op.f("uq_host_nics_port_id")),
        sa.UniqueConstraint("portgroup_id", name=op.f("uq_host_nics_portgroup_id")),
        sa.UniqueConstraint("uuid", name=op.f("uq_host_nics_uuid")),
    )
    op.create_index("ix_host_nics_host_id", "host_nics", ["host_id"], unique=False)
    op.create_table(
        "ip_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subnet_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("host_nic_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_nic_id"],
            ["host_nics.id"],
            name=op.f("fk_ip_allocations_host_nic_id_host_nics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subnet_id"],
            ["subnets.id"],
            name=op.f("fk_ip_allocations_subnet_id_subnets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ip_allocations")),
        sa.UniqueConstraint(
            "subnet_id", "address", name=op.f("uq_ip_allocations_subnet_id_address")
        ),
    )
    op.create_index(
        "ix_ip_allocations_host_nic_id", "ip_allocations", ["host_nic_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ip_allocations_host_nic_id", table_name="ip_allocations")
    op.drop_table("ip_allocations")
    op.drop_index("ix_host_nics_host_id", table_name="host_nics")
    op.drop_table("host_nics")
    op.drop_index("ix_subnets_network_id", table_name="subnets")
    op.drop_table("subnets")
    op.drop_index("ix_networks_project_id", table_name="networks")
    op.drop_table("networks")
    op.drop_index("ix_switches_physical_network_id", table_name="switches")
    op.drop_table("switches")
    op.drop_table("physical_networks")
