"""monitoring: sensor readings, SEL entries, alarms, notifications, sensor cycles (#13)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _node_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["node_id"], ["nodes.id"], name=op.f(f"fk_{table}_node_id_nodes"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "sensor_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("read_at", TS, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _node_fk("sensor_readings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_readings")),
    )
    op.create_index("ix_sensor_readings_node_id", "sensor_readings", ["node_id", "read_at"])
    op.create_index("ix_sensor_readings_read_at", "sensor_readings", ["read_at"])
    op.create_table(
        "sel_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("logged_at", TS, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("sensor", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=255), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("asserted", sa.Boolean(), nullable=False),
        sa.Column("condition", sa.String(length=32), nullable=False),
        _node_fk("sel_entries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sel_entries")),
        sa.UniqueConstraint("node_id", "record_id", name=op.f("uq_sel_entries_node_id_record_id")),
    )
    op.create_index("ix_sel_entries_received_at", "sel_entries", ["received_at"])
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("condition", sa.String(length=160), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("fired_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=255), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        _node_fk("alarms"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sa.UniqueConstraint("uuid", name=op.f("uq_alarms_uuid")),
    )
    op.create_index("ix_alarms_node_id", "alarms", ["node_id", "state"])
    op.create_index("ix_alarms_state", "alarms", ["state"])
    op.create_table(
        "conductor_cycles",
        sa.Column("conductor", sa.String(length=255), nullable=False),
        sa.Column("cycle", sa.String(length=16), nullable=False),
        sa.Column("finished_at", TS, nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("owned", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("errors_by_kind", JSON, nullable=False),
        sa.PrimaryKeyConstraint("conductor", "cycle", name=op.f("pk_conductor_cycles")),
    )
    op.create_table(
        "alarm_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=512), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"],
            ["alarms.id"],
            name=op.f("fk_alarm_notifications_alarm_id_alarms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_notifications")),
        sa.UniqueConstraint(
            "alarm_id",
            "event",
            "channel",
            "target",
            name=op.f("uq_alarm_notifications_alarm_id_event_channel_target"),
        ),
    )
    op.create_index("ix_alarm_notifications_next_at", "alarm_notifications", ["next_at"])


def downgrade() -> None:
    op.drop_table("alarm_notifications")
    op.drop_table("conductor_cycles")
    op.drop_table("alarms")
    op.drop_table("sel_entries")
    op.drop_table("sensor_readings")
