"""Add living cards, snoozes, channel settings and the audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watches") as batch:
        batch.add_column(sa.Column("card_ts", sa.String(32), nullable=True))
        batch.add_column(
            sa.Column("card_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("card_synced_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("card_synced_at", UtcDateTime(), nullable=True))
        batch.add_column(
            sa.Column("refresh_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("snoozed_until", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("last_queue_alert_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("forecast_threshold", sa.Float(), nullable=True))
        batch.add_column(sa.Column("forecast_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("stopped_by", sa.String(32), nullable=True))
    op.create_index("ix_watches_card_dirty", "watches", ["card_version", "card_synced_version"])

    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("thread_ts", sa.String(32), nullable=True))
        batch.add_column(
            sa.Column("broadcast", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("oncall", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    op.create_table(
        "channel_settings",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("thresholds", sa.JSON(), nullable=True),
        sa.Column("oncall_channel", sa.String(32), nullable=True),
        sa.Column("oncall_mention", sa.String(64), nullable=True),
        sa.Column("final_in_channel", sa.Boolean(), nullable=False),
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.Column("quiet_timezone", sa.String(64), nullable=True),
        sa.Column("updated_by", sa.String(32), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_audit_log_channel", "audit_log", ["team_id", "channel_id", "at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("channel_settings")
    with op.batch_alter_table("alerts") as batch:
        for name in ("thread_ts", "broadcast", "oncall"):
            batch.drop_column(name)
    op.drop_index("ix_watches_card_dirty", "watches")
    with op.batch_alter_table("watches") as batch:
        for name in (
            "card_ts",
            "card_version",
            "card_synced_version",
            "card_synced_at",
            "refresh_requested",
            "snoozed_until",
            "last_queue_alert_at",
            "forecast_threshold",
            "forecast_at",
            "stopped_by",
        ):
            batch.drop_column(name)
