"""Every read and write of the bot's tables, each in one short transaction.

Methods are synchronous; the engine calls them through `asyncio.to_thread` so that no
transaction is ever held across an HTTP call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.domain.events import JobEvent
from bot.domain.snapshot import JobSnapshot
from bot.storage.database import make_session_factory
from bot.storage.models import Alert, AlertStatus, Snapshot, Watch, WatchStatus


@dataclass(frozen=True)
class WatchKey:
    team_id: str
    channel_id: str
    job_id: str


@dataclass(frozen=True)
class WatchClaim:
    """A due watch leased to one poller, with what the change detector needs."""

    id: int
    team_id: str
    channel_id: str
    job_id: str
    flavor: str
    instance: str | None
    thresholds: tuple[float, ...]
    status: str
    announced_position: int | None
    error_count: int
    previous: JobSnapshot | None


@dataclass(frozen=True)
class WatchRow:
    """A watch as `/jobmetrics list` shows it."""

    id: int
    job_id: str
    status: str
    job_state: str | None
    thresholds: tuple[float, ...]
    last_polled_at: datetime | None
    last_error: str | None
    undeliverable: str | None


@dataclass(frozen=True)
class NewAlert:
    """An alert to insert beside the snapshot that caused it."""

    team_id: str
    channel_id: str
    dedup_key: str
    event: JobEvent
    mention: str | None = None


@dataclass(frozen=True)
class PollOutcome:
    """What one poll changes on its watch, written in one transaction with its alerts."""

    status: str
    next_poll_at: datetime
    snapshot: JobSnapshot | None = None
    announced_position: int | None = None
    error_count: int = 0
    last_error: str | None = None
    alerts: Sequence[NewAlert] = ()


@dataclass(frozen=True)
class AlertClaim:
    """A pending alert leased to one deliverer."""

    id: int
    watch_id: int | None
    team_id: str
    channel_id: str
    job_id: str
    event: JobEvent
    mention: str | None
    attempts: int


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions: sessionmaker[Session] = make_session_factory(engine)

    # Watches, as the slash command changes them.

    def add_watch(
        self,
        key: WatchKey,
        *,
        user_id: str | None,
        flavor: str,
        instance: str | None,
        thresholds: Sequence[float],
        baseline: JobSnapshot | None,
        now: datetime,
    ) -> tuple[int, bool]:
        """Create or re-activate the watch of `key`; return its id and whether it is new."""
        with self._sessions.begin() as session:
            watch = session.scalars(_watch_query(key)).one_or_none()
            created = watch is None or watch.status not in WatchStatus.POLLED
            if watch is None:
                watch = Watch(team_id=key.team_id, channel_id=key.channel_id, job_id=key.job_id)
                watch.created_at = now
                session.add(watch)

            _reset_watch(watch, user_id, flavor, instance, thresholds, baseline, now)
            session.flush()
            _store_snapshot(session, watch.id, baseline, now)
            return watch.id, created

    def remove_watch(self, key: WatchKey, *, now: datetime) -> bool:
        """Stop polling the watch of `key`; return False when no such watch is active."""
        with self._sessions.begin() as session:
            watch = session.scalars(_watch_query(key)).one_or_none()
            if watch is None or watch.status not in WatchStatus.POLLED:
                return False

            watch.status = WatchStatus.UNWATCHED
            watch.updated_at = now
            watch.lease_owner = None
            watch.lease_until = None
            return True

    def list_watches(self, team_id: str, channel_id: str) -> list[WatchRow]:
        with self._sessions() as session:
            watches = session.scalars(
                select(Watch)
                .where(Watch.team_id == team_id, Watch.channel_id == channel_id)
                .where(Watch.status != WatchStatus.UNWATCHED)
                .order_by(Watch.created_at)
            ).all()
            failures = _undeliverable_reasons(session, [watch.id for watch in watches])
            return [_watch_row(watch, failures.get(watch.id)) for watch in watches]

    # Polling.

    def claim_due_watches(
        self, owner: str, *, now: datetime, limit: int, lease: timedelta
    ) -> list[WatchClaim]:
        """Lease up to `limit` due watches to `owner`; other replicas skip locked rows."""
        with self._sessions.begin() as session:
            watches = session.scalars(
                select(Watch)
                .where(Watch.status.in_(WatchStatus.POLLED), Watch.next_poll_at <= now)
                .where(or_(Watch.lease_until.is_(None), Watch.lease_until < now))
                .order_by(Watch.next_poll_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for watch in watches:
                watch.lease_owner = owner
                watch.lease_until = now + lease

            snapshots = _snapshots_of(session, [watch.id for watch in watches])
            return [_claim(watch, snapshots.get(watch.id)) for watch in watches]

    def record_poll(
        self, claim: WatchClaim, owner: str, outcome: PollOutcome, now: datetime
    ) -> bool:
        """Write a poll's snapshot, watch changes and alerts together, while `owner` holds the
        lease; return False (and write nothing) when the lease was lost or the watch removed."""
        with self._sessions.begin() as session:
            watch = session.get(Watch, claim.id, with_for_update=True)
            if (
                watch is None
                or watch.lease_owner != owner
                or watch.status not in WatchStatus.POLLED
            ):
                return False

            _apply_outcome(watch, outcome, now)
            if outcome.snapshot is not None:
                _store_snapshot(session, watch.id, outcome.snapshot, now)
            for alert in outcome.alerts:
                _insert_alert(session, watch.id, alert, now)
            return True

    # Delivery.

    def claim_pending_alerts(
        self, owner: str, *, now: datetime, limit: int, lease: timedelta
    ) -> list[AlertClaim]:
        """Lease the oldest due alerts, skipping any alert whose watch has an older one still
        pending in the same channel, so that the alerts of one job go out in order."""
        earlier = aliased(Alert)
        older_pending = (
            select(earlier.id)
            .where(earlier.watch_id == Alert.watch_id, earlier.channel_id == Alert.channel_id)
            .where(earlier.status == AlertStatus.PENDING, earlier.id < Alert.id)
            .exists()
        )
        with self._sessions.begin() as session:
            alerts = session.scalars(
                select(Alert)
                .where(Alert.status == AlertStatus.PENDING, Alert.next_attempt_at <= now)
                .where(or_(Alert.lease_until.is_(None), Alert.lease_until < now))
                .where(~older_pending)
                .order_by(Alert.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for alert in alerts:
                alert.lease_owner = owner
                alert.lease_until = now + lease
                alert.attempts += 1
            return [_alert_claim(alert) for alert in alerts]

    def mark_alert_sent(self, alert_id: int, owner: str, message_ts: str, now: datetime) -> None:
        self._finish_alert(alert_id, owner, status=AlertStatus.SENT, ts=message_ts, now=now)

    def mark_alert_failed(self, alert_id: int, owner: str, reason: str, now: datetime) -> None:
        self._finish_alert(alert_id, owner, status=AlertStatus.FAILED, error=reason, now=now)

    def retry_alert_later(self, alert_id: int, owner: str, at: datetime, reason: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.lease_owner == owner)
                .values(next_attempt_at=at, error=reason, lease_owner=None, lease_until=None)
            )

    def _finish_alert(
        self,
        alert_id: int,
        owner: str,
        *,
        status: str,
        now: datetime,
        ts: str | None = None,
        error: str | None = None,
    ) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.lease_owner == owner)
                .values(
                    status=status,
                    message_ts=ts,
                    error=error,
                    sent_at=now if status == AlertStatus.SENT else None,
                    lease_owner=None,
                    lease_until=None,
                )
            )

    # Reads for health checks and tests.

    def count_alerts(self, status: str) -> int:
        with self._sessions() as session:
            return len(session.scalars(select(Alert.id).where(Alert.status == status)).all())

    def alerts_of_watch(self, watch_id: int) -> list[Alert]:
        with self._sessions() as session:
            return list(
                session.scalars(select(Alert).where(Alert.watch_id == watch_id).order_by(Alert.id))
            )

    def get_watch(self, key: WatchKey) -> Watch | None:
        with self._sessions() as session:
            return session.scalars(_watch_query(key)).one_or_none()


def _watch_query(key: WatchKey) -> Any:
    return select(Watch).where(
        Watch.team_id == key.team_id,
        Watch.channel_id == key.channel_id,
        Watch.job_id == key.job_id,
    )


def _reset_watch(
    watch: Watch,
    user_id: str | None,
    flavor: str,
    instance: str | None,
    thresholds: Sequence[float],
    baseline: JobSnapshot | None,
    now: datetime,
) -> None:
    watch.created_by = user_id
    watch.flavor = flavor
    watch.instance = instance
    watch.thresholds = sorted(set(thresholds))
    watch.status = WatchStatus.ACTIVE
    watch.job_state = baseline.state.value if baseline else None
    watch.announced_position = baseline.position_in_queue if baseline else None
    watch.error_count = 0
    watch.last_error = None
    watch.updated_at = now
    watch.next_poll_at = now
    watch.lease_owner = None
    watch.lease_until = None


def _store_snapshot(
    session: Session, watch_id: int, snapshot: JobSnapshot | None, now: datetime
) -> None:
    existing = session.get(Snapshot, watch_id)
    if snapshot is None:
        if existing is not None:
            session.delete(existing)
        return

    data = snapshot.model_dump(mode="json")
    if existing is None:
        session.add(Snapshot(watch_id=watch_id, job_id=snapshot.job_id, data=data, observed_at=now))
    else:
        existing.data = data
        existing.observed_at = now


def _snapshots_of(session: Session, watch_ids: list[int]) -> dict[int, JobSnapshot]:
    if not watch_ids:
        return {}
    rows = session.scalars(select(Snapshot).where(Snapshot.watch_id.in_(watch_ids)))
    return {row.watch_id: JobSnapshot.model_validate(row.data) for row in rows}


def _claim(watch: Watch, previous: JobSnapshot | None) -> WatchClaim:
    return WatchClaim(
        id=watch.id,
        team_id=watch.team_id,
        channel_id=watch.channel_id,
        job_id=watch.job_id,
        flavor=watch.flavor,
        instance=watch.instance,
        thresholds=tuple(watch.thresholds or ()),
        status=watch.status,
        announced_position=watch.announced_position,
        error_count=watch.error_count,
        previous=previous,
    )


def _apply_outcome(watch: Watch, outcome: PollOutcome, now: datetime) -> None:
    watch.status = outcome.status
    watch.next_poll_at = outcome.next_poll_at
    watch.error_count = outcome.error_count
    watch.last_error = outcome.last_error
    watch.last_polled_at = now
    watch.updated_at = now
    watch.lease_owner = None
    watch.lease_until = None
    if outcome.snapshot is not None:
        watch.job_state = outcome.snapshot.state.value
        watch.announced_position = outcome.announced_position
        if outcome.snapshot.instance:
            watch.instance = outcome.snapshot.instance


def _insert_alert(session: Session, watch_id: int, alert: NewAlert, now: datetime) -> None:
    """Insert an alert unless one with its dedup key exists (a replayed poll)."""
    exists = session.scalars(select(Alert.id).where(Alert.dedup_key == alert.dedup_key)).first()
    if exists is not None:
        return

    row = Alert(
        watch_id=watch_id,
        team_id=alert.team_id,
        channel_id=alert.channel_id,
        job_id=alert.event.job_id,
        kind=alert.event.kind.value,
        dedup_key=alert.dedup_key,
        event=alert.event.model_dump(mode="json"),
        mention=alert.mention,
        status=AlertStatus.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another writer inserted the same key between the check and the insert.
        pass


def _alert_claim(alert: Alert) -> AlertClaim:
    return AlertClaim(
        id=alert.id,
        watch_id=alert.watch_id,
        team_id=alert.team_id,
        channel_id=alert.channel_id,
        job_id=alert.job_id,
        event=JobEvent.model_validate(alert.event),
        mention=alert.mention,
        attempts=alert.attempts,
    )


def _undeliverable_reasons(session: Session, watch_ids: list[int]) -> dict[int, str]:
    if not watch_ids:
        return {}
    rows = session.execute(
        select(Alert.watch_id, Alert.error)
        .where(Alert.watch_id.in_(watch_ids), Alert.status == AlertStatus.FAILED)
        .order_by(Alert.id)
    )
    return {watch_id: error for watch_id, error in rows if watch_id is not None}


def _watch_row(watch: Watch, undeliverable: str | None) -> WatchRow:
    return WatchRow(
        id=watch.id,
        job_id=watch.job_id,
        status=watch.status,
        job_state=watch.job_state,
        thresholds=tuple(watch.thresholds or ()),
        last_polled_at=watch.last_polled_at,
        last_error=watch.last_error,
        undeliverable=undeliverable,
    )
