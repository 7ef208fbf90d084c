"""Channel settings and the audit log of who changed what."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.channel_settings import ChannelSettings, QuietHours
from bot.storage.models import Alert, AlertStatus, AuditEntry, ChannelSettingsRow


@dataclass(frozen=True)
class Actor:
    """The author of a change and the workspace and channel it was made in."""

    team_id: str
    channel_id: str
    user_id: str


class SettingsStore:
    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions

    def get(self, team_id: str, channel_id: str) -> ChannelSettings:
        with self._sessions() as session:
            return settings_in(session, team_id, channel_id)

    def change(
        self,
        actor: Actor,
        apply: Callable[[ChannelSettings], ChannelSettings],
        description: str,
        now: datetime,
    ) -> ChannelSettings:
        """Apply one change to a channel's settings under a row lock, so that two changes at
        once both land, and record it in the audit log; return the new settings."""
        with self._sessions.begin() as session:
            row = _locked_row(session, actor, now)
            changed = apply(settings_in(session, actor.team_id, actor.channel_id))
            _fill(row, changed)
            row.updated_by = actor.user_id
            row.updated_at = now
            session.add(_entry(actor, "settings", None, description, now))
            # Alerts held for the old quiet hours get another look under the new settings.
            release_held_alerts(session, actor.team_id, actor.channel_id, None, now)
            return changed

    def record(
        self, actor: Actor, action: str, job_id: str | None, detail: str | None, now: datetime
    ) -> None:
        with self._sessions.begin() as session:
            session.add(_entry(actor, action, job_id, detail, now))

    def audit_log(self, team_id: str, channel_id: str) -> list[AuditEntry]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.team_id == team_id, AuditEntry.channel_id == channel_id)
                    .order_by(AuditEntry.id)
                )
            )


def release_held_alerts(
    session: Session, team_id: str, channel_id: str, job_ids: list[str] | None, now: datetime
) -> None:
    """Make held alerts of a channel (or of some of its jobs) due now; delivery holds them
    again if a snooze or quiet hours still apply."""
    query = (
        update(Alert)
        .where(Alert.team_id == team_id, Alert.channel_id == channel_id)
        .where(Alert.status == AlertStatus.PENDING, Alert.next_attempt_at > now)
        .where(Alert.lease_owner.is_(None))
    )
    if job_ids is not None:
        query = query.where(Alert.job_id.in_(job_ids))
    session.execute(query.values(next_attempt_at=now).execution_options(synchronize_session=False))


def _locked_row(session: Session, actor: Actor, now: datetime) -> ChannelSettingsRow:
    """Return the channel's settings row, created if missing, locked until commit."""
    key = (actor.team_id, actor.channel_id)
    try:
        with session.begin_nested():
            if session.get(ChannelSettingsRow, key) is None:
                session.add(
                    ChannelSettingsRow(
                        team_id=actor.team_id,
                        channel_id=actor.channel_id,
                        final_in_channel=True,
                        updated_at=now,
                    )
                )
    except IntegrityError:
        pass  # another change created the row first

    row = session.get(ChannelSettingsRow, key, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def settings_in(session: Session, team_id: str, channel_id: str) -> ChannelSettings:
    row = session.get(ChannelSettingsRow, (team_id, channel_id))
    if row is None:
        return ChannelSettings()
    return settings_from_row(row)


def settings_from_row(row: Any) -> ChannelSettings:
    """Build settings from a `channel_settings` row: an ORM object or a Core result row."""
    quiet = None
    if row.quiet_start and row.quiet_end:
        quiet = QuietHours(
            start=time.fromisoformat(row.quiet_start),
            end=time.fromisoformat(row.quiet_end),
            timezone=row.quiet_timezone or "UTC",
        )
    return ChannelSettings(
        thresholds=tuple(row.thresholds) if row.thresholds is not None else None,
        oncall_channel=row.oncall_channel,
        oncall_mention=row.oncall_mention,
        final_in_channel=row.final_in_channel,
        quiet_hours=quiet,
    )


def _fill(row: ChannelSettingsRow, settings: ChannelSettings) -> None:
    row.thresholds = list(settings.thresholds) if settings.thresholds is not None else None
    row.oncall_channel = settings.oncall_channel
    row.oncall_mention = settings.oncall_mention
    row.final_in_channel = settings.final_in_channel
    quiet = settings.quiet_hours
    row.quiet_start = f"{quiet.start:%H:%M}" if quiet else None
    row.quiet_end = f"{quiet.end:%H:%M}" if quiet else None
    row.quiet_timezone = quiet.timezone if quiet else None


def _entry(
    actor: Actor, action: str, job_id: str | None, detail: str | None, now: datetime
) -> AuditEntry:
    return AuditEntry(
        team_id=actor.team_id,
        channel_id=actor.channel_id,
        user_id=actor.user_id,
        action=action,
        job_id=job_id,
        detail=detail,
        at=now,
    )
