"""Create watches, snapshots and alerts.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=True),
        sa.Column("flavor", sa.String(16), nullable=False),
        sa.Column("instance", sa.String(255), nullable=True),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job_state", sa.String(24), nullable=True),
        sa.Column("announced_position", sa.Integer(), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("last_polled_at", UtcDateTime(), nullable=True),
        sa.Column("next_poll_at", UtcDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("team_id", "channel_id", "job_id", name="uq_watches_team_channel_job"),
    )
    op.create_index("ix_watches_due", "watches", ["status", "next_poll_at"])

    op.create_table(
        "snapshots",
        sa.Column(
            "watch_id",
            sa.Integer(),
            sa.ForeignKey("watches.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("observed_at", UtcDateTime(), nullable=False),
    )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "watch_id",
            sa.Integer(),
            sa.ForeignKey("watches.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("mention", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("dedup_key", name="uq_alerts_dedup_key"),
    )
    op.create_index("ix_alerts_pending", "alerts", ["status", "next_attempt_at"])
    op.create_index("ix_alerts_watch_id", "alerts", ["watch_id"])


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("snapshots")
    op.drop_table("watches")
