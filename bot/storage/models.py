"""Tables: watches, the last snapshot of each watched job, and alerts waiting to be posted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite stores datetimes without an offset, so values are normalised to UTC on the way in
    and marked as UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class WatchStatus:
    """Values of `Watch.status`."""

    ACTIVE = "active"
    PAUSED = "paused"  # the token lost access; polled slowly until access returns
    FINISHED = "finished"  # the job reached a final state with final usage
    STOPPED = "stopped"  # the job is no longer found
    UNWATCHED = "unwatched"  # a user stopped the watch
    UNINSTALLED = "uninstalled"  # the app was uninstalled from the workspace or its token revoked

    POLLED = (ACTIVE, PAUSED)


class AlertStatus:
    """Values of `Alert.status`."""

    PENDING = "pending"
    SENT = "sent"
    SUPERSEDED = "superseded"  # a queue move overtaken by a newer event before it was posted
    FAILED = "failed"  # Slack rejected it for good (for example channel_not_found)


class Watch(Base):
    __tablename__ = "watches"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "job_id", name="uq_watches_team_channel_job"),
        Index("ix_watches_due", "status", "next_poll_at"),
        Index("ix_watches_card_dirty", "card_version", "card_synced_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(32))
    flavor: Mapped[str] = mapped_column(String(16))
    instance: Mapped[str | None] = mapped_column(String(255))
    thresholds: Mapped[list[float]] = mapped_column(JSON, default=list)

    status: Mapped[str] = mapped_column(String(16), default=WatchStatus.ACTIVE)
    job_state: Mapped[str | None] = mapped_column(String(24))
    announced_position: Mapped[int | None] = mapped_column(Integer)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_poll_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)

    # The living card: a channel message edited in place when its content changes.
    card_ts: Mapped[str | None] = mapped_column(String(32))
    card_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    card_synced_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    card_synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    refresh_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    snoozed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_queue_alert_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    forecast_threshold: Mapped[float | None] = mapped_column(Float)
    forecast_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stopped_by: Mapped[str | None] = mapped_column(String(32))


class Snapshot(Base):
    __tablename__ = "snapshots"

    watch_id: Mapped[int] = mapped_column(
        ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_alerts_dedup_key"),
        Index("ix_alerts_pending", "status", "next_attempt_at"),
        # Serves the delivery claim's "no older pending alert of this watch" check, which
        # otherwise scans every pending alert per candidate when a backlog builds up.
        Index(
            "ix_alerts_pending_stream",
            "watch_id",
            "channel_id",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    watch_id: Mapped[int | None] = mapped_column(
        ForeignKey("watches.id", ondelete="SET NULL"), index=True
    )
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(255))
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    mention: Mapped[str | None] = mapped_column(String(64))

    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    message_ts: Mapped[str | None] = mapped_column(String(32))

    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    broadcast: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    oncall: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ChannelSettingsRow(Base):
    __tablename__ = "channel_settings"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    thresholds: Mapped[list[float] | None] = mapped_column(JSON)
    oncall_channel: Mapped[str | None] = mapped_column(String(32))
    oncall_mention: Mapped[str | None] = mapped_column(String(64))
    final_in_channel: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    quiet_timezone: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """An audit entry: one watch, unwatch, snooze, stop or settings change, with its author."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_channel", "team_id", "channel_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


# slack_sdk's installation and OAuth state stores keep their own tables; they are declared here
# too so that the migrations and the models can be compared as one schema.
SQLAlchemyInstallationStore.build_installations_table(Base.metadata, "slack_installations")
SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots")
SQLAlchemyOAuthStateStore.build_oauth_states_table(Base.metadata, "slack_oauth_states")
