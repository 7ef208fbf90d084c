"""Operator notices about the IBM API, stored as alert rows, and figures for health checks.

A notice is an alert row with no watch and an empty job id. Its dedup key names the outage
episode (`api:3:degraded`), so a restarted process reads the last notice, knows whether an
outage was already announced, and never stores the same notice twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from bot.domain.events import EventKind, JobEvent
from bot.storage.database import make_session_factory
from bot.storage.models import Alert, AlertStatus

NOTICE_KINDS = (EventKind.API_DEGRADED.value, EventKind.API_RECOVERED.value)


@dataclass(frozen=True)
class LastNotice:
    """The newest API notice: its kind and the outage episode it belongs to."""

    kind: EventKind
    episode: int


def notice_key(episode: int, kind: EventKind) -> str:
    return f"api:{episode}:{kind.value.removeprefix('api_')}"


class NoticeStore:
    def __init__(self, engine: Engine):
        self._sessions = make_session_factory(engine)

    def last_notice(self) -> LastNotice | None:
        with self._sessions() as session:
            row = session.execute(
                select(Alert.kind, Alert.dedup_key)
                .where(Alert.kind.in_(NOTICE_KINDS), Alert.watch_id.is_(None))
                .order_by(Alert.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return LastNotice(EventKind(row.kind), int(row.dedup_key.split(":")[1]))

    def add_notice(
        self, event: JobEvent, *, episode: int, team_id: str, channel_id: str, now: datetime
    ) -> bool:
        """Store a pending notice; return False when this episode's notice exists already."""
        row = Alert(
            watch_id=None,
            team_id=team_id,
            channel_id=channel_id,
            job_id="",
            kind=event.kind.value,
            dedup_key=notice_key(episode, event.kind),
            event=event.model_dump(mode="json"),
            status=AlertStatus.PENDING,
            attempts=0,
            oncall=True,
            created_at=now,
            next_attempt_at=now,
        )
        try:
            with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            return False
        return True

    def oldest_due_pending(self, now: datetime) -> datetime | None:
        """The earliest retry time among pending alerts already due, or None.

        Alerts held for a snooze or quiet hours are due later, so they do not count.
        """
        with self._sessions() as session:
            return session.scalar(
                select(func.min(Alert.next_attempt_at)).where(
                    Alert.status == AlertStatus.PENDING, Alert.next_attempt_at <= now
                )
            )
