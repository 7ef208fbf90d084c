"""Every read and write of the bot's tables, each in one short transaction.

Methods are synchronous; the engine calls them through `asyncio.to_thread` so that no
transaction is ever held across an HTTP call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.domain.cards import CardView, ThresholdForecast
from bot.domain.channel_settings import ChannelSettings
from bot.domain.events import JobEvent
from bot.domain.snapshot import JobSnapshot
from bot.storage import poll_sql
from bot.storage.database import make_session_factory
from bot.storage.models import Alert, AlertStatus, Snapshot, Watch, WatchStatus
from bot.storage.settings_store import SettingsStore, release_held_alerts, settings_from_row


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
    # When `previous` was first observed: the snapshot row is rewritten only when it changes.
    previous_observed_at: datetime | None = None
    card_ts: str | None = None
    last_queue_alert_at: datetime | None = None
    refresh_requested: bool = False
    card_synced_at: datetime | None = None
    settings: ChannelSettings = ChannelSettings()
    # The watch's next_poll_at when claimed: how late a poll runs is the time after it.
    due_at: datetime | None = None


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
    thread_ts: str | None = None
    broadcast: bool = False
    oncall: bool = False


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
    card_changed: bool = False
    last_queue_alert_at: datetime | None = None
    forecast: ThresholdForecast | None = None


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
    thread_ts: str | None = None
    broadcast: bool = False
    oncall: bool = False
    snoozed_until: datetime | None = None


@dataclass(frozen=True)
class CardClaim:
    """A watch whose card changed since it was last posted, with what the card shows."""

    watch_id: int
    team_id: str
    channel_id: str
    card_ts: str
    version: int
    view: CardView
    # When the card was last redrawn, and the end of this claim's lease.
    synced_at: datetime | None = None
    lease_until: datetime | None = None


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions: sessionmaker[Session] = make_session_factory(engine)
        self.settings = SettingsStore(self._sessions)

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
        """Create the watch of `key`, or re-activate an ended one; return its id and whether
        it is new. An active watch is left as it is, so a command Slack delivers twice, even
        to two processes at once, makes one watch."""
        arguments = (key, user_id, flavor, instance, thresholds, baseline, now)
        try:
            return self._add_watch(*arguments)
        except IntegrityError:
            # Another request inserted the same watch between our read and our insert.
            return self._add_watch(*arguments)

    def _add_watch(
        self,
        key: WatchKey,
        user_id: str | None,
        flavor: str,
        instance: str | None,
        thresholds: Sequence[float],
        baseline: JobSnapshot | None,
        now: datetime,
    ) -> tuple[int, bool]:
        with self._sessions.begin() as session:
            watch = session.scalars(_watch_query(key).with_for_update()).one_or_none()
            if watch is not None and watch.status in WatchStatus.POLLED:
                return watch.id, False

            if watch is None:
                watch = Watch(team_id=key.team_id, channel_id=key.channel_id, job_id=key.job_id)
                watch.created_at = now
                session.add(watch)
            _reset_watch(watch, user_id, flavor, instance, thresholds, baseline, now)
            session.flush()
            _store_snapshot(session, watch.id, baseline, now)
            return watch.id, True

    def remove_watch(self, key: WatchKey, *, now: datetime, user_id: str | None = None) -> bool:
        """Stop polling the watch of `key`; return False when no such watch is active."""
        with self._sessions.begin() as session:
            watch = session.scalars(_watch_query(key)).one_or_none()
            if watch is None or watch.status == WatchStatus.UNWATCHED:
                return False
            if watch.status in WatchStatus.POLLED:
                return _stop(watch, now, user_id)

            # A finished or stopped watch only leaves the channel's list.
            watch.status = WatchStatus.UNWATCHED
            watch.updated_at = now
            return True

    def stop_team_watches(self, team_id: str, now: datetime) -> int:
        """Stop every polled watch of a workspace that uninstalled the app; return how many.
        Their pending alerts are marked failed, since nothing can be posted there any more."""
        with self._sessions.begin() as session:
            watches = session.scalars(
                select(Watch).where(Watch.team_id == team_id, Watch.status.in_(WatchStatus.POLLED))
            ).all()
            for watch in watches:
                watch.status = WatchStatus.UNINSTALLED
                watch.updated_at = now
                watch.lease_owner = None
                watch.lease_until = None
            session.execute(
                update(Alert)
                .where(Alert.team_id == team_id, Alert.status == AlertStatus.PENDING)
                .values(
                    status=AlertStatus.FAILED, error="the app was uninstalled from the workspace"
                )
                .execution_options(synchronize_session=False)
            )
            return len(watches)

    def set_thresholds(self, watch_id: int, thresholds: Sequence[float], now: datetime) -> None:
        """Change an active watch's thresholds and redraw its card."""
        with self._sessions.begin() as session:
            watch = session.get(Watch, watch_id)
            if watch is None:
                return
            watch.thresholds = sorted(set(thresholds))
            watch.card_version += 1
            watch.updated_at = now

    def stop_watch(self, watch_id: int, *, now: datetime, user_id: str) -> Watch | None:
        """Stop the watch with this id (the card's Stop button); None when it was not active."""
        with self._sessions.begin() as session:
            watch = session.get(Watch, watch_id)
            if watch is None or not _stop(watch, now, user_id):
                return None
            return watch

    def set_card(self, watch_id: int, card_ts: str, now: datetime) -> None:
        """Remember the card message of a watch, as posted at watch time."""
        with self._sessions.begin() as session:
            session.execute(
                update(Watch)
                .where(Watch.id == watch_id)
                .values(card_ts=card_ts, card_synced_version=Watch.card_version, card_synced_at=now)
            )

    def snooze(
        self,
        team_id: str,
        channel_id: str,
        job_id: str | None,
        until: datetime | None,
        now: datetime,
    ) -> list[str]:
        """Snooze one active watch of a channel, or all when `job_id` is None (None `until`
        ends a snooze); return the job ids changed."""
        with self._sessions.begin() as session:
            query = select(Watch).where(
                Watch.team_id == team_id,
                Watch.channel_id == channel_id,
                Watch.status.in_(WatchStatus.POLLED),
            )
            if job_id is not None:
                query = query.where(Watch.job_id == job_id)
            watches = session.scalars(query).all()
            for watch in watches:
                watch.snoozed_until = until
                watch.card_version += 1
                watch.updated_at = now
            job_ids = [watch.job_id for watch in watches]
            if until is None and job_ids:
                release_held_alerts(session, team_id, channel_id, job_ids, now)
            return job_ids

    def request_refresh(self, watch_id: int, now: datetime) -> Watch | None:
        """Poll the watch at once and redraw its card (the card's Refresh button)."""
        with self._sessions.begin() as session:
            watch = session.get(Watch, watch_id)
            if watch is None or watch.status not in WatchStatus.POLLED:
                return watch
            watch.next_poll_at = now
            watch.refresh_requested = True
            return watch

    def get_watch_by_id(self, watch_id: int) -> Watch | None:
        with self._sessions() as session:
            return session.get(Watch, watch_id)

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
        with self.engine.begin() as connection:
            rows = connection.execute(poll_sql.due_watches(now, limit)).all()
            if not rows:
                return []
            ids = [row.id for row in rows]
            connection.execute(poll_sql.lease_watches(ids, owner, now + lease))
            settings = _settings_of(connection, rows)

        # Snapshots are parsed after the commit, so that the write lock is held briefly.
        return [_claim(row, settings.get((row.team_id, row.channel_id))) for row in rows]

    def record_poll(
        self, claim: WatchClaim, owner: str, outcome: PollOutcome, now: datetime
    ) -> bool:
        """Write a poll's snapshot, watch changes and alerts together, while `owner` holds the
        lease; return False (and write nothing) when the lease was lost or the watch removed."""
        return self.record_polls([(claim, outcome)], owner, now)[0]

    def record_polls(
        self, results: Sequence[tuple[WatchClaim, PollOutcome]], owner: str, now: datetime
    ) -> list[bool]:
        """Write several polls as `record_poll` does, in one transaction; return for each
        whether it was written.

        A snapshot equal to the claim's previous one is not written again. Alerts whose dedup
        key exists already are skipped.
        """
        if not results:
            return []
        with self.engine.begin() as connection:
            leased = connection.scalars(
                poll_sql.leased_watch_ids((claim.id for claim, _ in results), owner)
            )
            flags = _writable(results, set(leased))
            written = [result for result, ok in zip(results, flags, strict=True) if ok]
            _write_results(connection, written, owner, now)
        return flags

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
            snoozes = _snoozes_of(session, alerts)
            return [_alert_claim(alert, snoozes.get(alert.watch_id)) for alert in alerts]

    def release_alerts(self, alert_ids: Sequence[int], owner: str) -> None:
        """Give claimed alerts back untouched, for another tick to deliver."""
        if not alert_ids:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(Alert)
                .where(Alert.id.in_(alert_ids), Alert.lease_owner == owner)
                .values(lease_owner=None, lease_until=None, attempts=Alert.attempts - 1)
            )

    def hold_alert(self, alert_id: int, owner: str, until: datetime) -> None:
        """Keep an alert pending until `until` (quiet hours or a snooze), not as a failure."""
        with self._sessions.begin() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.lease_owner == owner)
                .values(
                    next_attempt_at=until,
                    lease_owner=None,
                    lease_until=None,
                    attempts=Alert.attempts - 1,
                )
            )

    def supersede_stale_queue_moves(self) -> int:
        """Drop pending queue-move alerts that a newer pending alert of the same watch and
        channel overtook, so that a held backlog does not post outdated positions."""
        newer = aliased(Alert)
        overtaken = (
            select(newer.id)
            .where(newer.watch_id == Alert.watch_id, newer.channel_id == Alert.channel_id)
            .where(newer.status == AlertStatus.PENDING, newer.id > Alert.id)
            .where(newer.kind.in_(_OVERTAKING_KINDS))
            .exists()
        )
        with self._sessions.begin() as session:
            result = session.execute(
                update(Alert)
                .where(Alert.status == AlertStatus.PENDING, Alert.kind == "queue_moved")
                .where(Alert.lease_owner.is_(None), overtaken)
                .values(status=AlertStatus.SUPERSEDED)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount or 0)

    # Cards.

    def claim_dirty_cards(self, *, limit: int, now: datetime, lease: timedelta) -> list[CardClaim]:
        """Lease watches whose card content changed since it was last posted.

        While a card is being redrawn, `card_synced_at` contains the end of its lease, a time
        in the future, so that another worker skips it until then. `mark_card_synced` and
        `release_card` end the lease.
        """
        with self._sessions.begin() as session:
            watches = session.scalars(
                select(Watch)
                .where(Watch.card_ts.is_not(None), Watch.card_version > Watch.card_synced_version)
                .where(or_(Watch.card_synced_at.is_(None), Watch.card_synced_at <= now))
                .order_by(Watch.updated_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            snapshots = _snapshots_of(session, [watch.id for watch in watches])
            claims = [_card_claim(watch, snapshots.get(watch.id)) for watch in watches]
            for watch in watches:
                watch.card_synced_at = now + lease
            return [replace(claim, lease_until=now + lease) for claim in claims]

    def release_card(self, card: CardClaim) -> None:
        """End a card's lease without redrawing it, for a later tick to try again."""
        with self._sessions.begin() as session:
            session.execute(
                update(Watch)
                .where(Watch.id == card.watch_id, Watch.card_synced_at == card.lease_until)
                .values(card_synced_at=card.synced_at)
            )

    def mark_card_synced(self, watch_id: int, version: int, now: datetime) -> None:
        """Record that the card shows `version`, and end its lease."""
        with self._sessions.begin() as session:
            session.execute(
                update(Watch)
                .where(Watch.id == watch_id, Watch.card_synced_version < version)
                .values(card_synced_version=version, card_synced_at=now)
            )
            session.execute(
                update(Watch)
                .where(Watch.id == watch_id, Watch.card_synced_at > now)
                .values(card_synced_at=now)
            )

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

    def release_all_leases(self, now: datetime) -> int:
        """End every lease on watches, alerts and cards; return how many rows had one.

        Only for SQLite at startup: the process lock proves that no other bot process runs,
        so every lease left belongs to a process that died. Without this, a killed process's
        watches would wait for their lease to run out before anyone polled them again.
        """
        with self._sessions.begin() as session:
            released = 0
            for table in (Watch, Alert):
                result = session.execute(
                    update(table)
                    .where(table.lease_owner.is_not(None))
                    .values(lease_owner=None, lease_until=None)
                )
                released += result.rowcount or 0
            cards = session.execute(
                update(Watch).where(Watch.card_synced_at > now).values(card_synced_at=None)
            )
            return released + (cards.rowcount or 0)

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
    watch.card_ts = None
    watch.snoozed_until = None
    watch.stopped_by = None
    watch.last_queue_alert_at = None
    watch.forecast_threshold = None
    watch.forecast_at = None
    watch.refresh_requested = False


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


def _snapshots_of(
    session: Session, watch_ids: list[int]
) -> dict[int, tuple[JobSnapshot, datetime]]:
    if not watch_ids:
        return {}
    rows = session.scalars(select(Snapshot).where(Snapshot.watch_id.in_(watch_ids)))
    return {row.watch_id: (JobSnapshot.model_validate(row.data), row.observed_at) for row in rows}


def _settings_of(
    connection: Connection, watches: Sequence[Row[Any]]
) -> dict[tuple[str, str], ChannelSettings]:
    channels = {(watch.team_id, watch.channel_id) for watch in watches}
    rows = connection.execute(poll_sql.channel_settings(channels))
    return {(row.team_id, row.channel_id): settings_from_row(row) for row in rows}


def _claim(watch: Row[Any], settings: ChannelSettings | None) -> WatchClaim:
    data = watch.snapshot_data
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
        previous=JobSnapshot.model_validate(data) if data is not None else None,
        due_at=watch.next_poll_at,
        previous_observed_at=watch.snapshot_observed_at,
        card_ts=watch.card_ts,
        last_queue_alert_at=watch.last_queue_alert_at,
        refresh_requested=watch.refresh_requested,
        card_synced_at=watch.card_synced_at,
        settings=settings or ChannelSettings(),
    )


def _writable(results: Sequence[tuple[WatchClaim, PollOutcome]], leased: set[int]) -> list[bool]:
    """Flag the results to write: those of leased watches, only the first of each watch,
    because writing a result ends the lease."""
    flags = []
    for claim, _ in results:
        flags.append(claim.id in leased)
        leased.discard(claim.id)
    return flags


def _write_results(
    connection: Connection,
    results: Sequence[tuple[WatchClaim, PollOutcome]],
    owner: str,
    now: datetime,
) -> None:
    """Write watch changes, changed snapshots and new alerts, one executemany each."""
    dialect = connection.dialect.name
    plain = [_watch_params(c, o, owner, now) for c, o in results if o.snapshot is None]
    observed = [_watch_params(c, o, owner, now) for c, o in results if o.snapshot is not None]
    snapshots = [_snapshot_params(c, o, now) for c, o in results if _snapshot_changed(c, o)]
    alerts = [_alert_params(c, alert, now) for c, o in results for alert in o.alerts]

    _execute_many(connection, poll_sql.POLL_RESULT, plain)
    _execute_many(connection, poll_sql.POLL_RESULT_WITH_SNAPSHOT, observed)
    _execute_many(connection, poll_sql.upsert_snapshots(dialect), snapshots)
    _execute_many(connection, poll_sql.insert_new_alerts(dialect), alerts)


def _execute_many(connection: Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(statement, rows)


def _watch_params(
    claim: WatchClaim, outcome: PollOutcome, owner: str, now: datetime
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "b_id": claim.id,
        "b_owner": owner,
        "b_status": outcome.status,
        "b_next_poll_at": outcome.next_poll_at,
        "b_error_count": outcome.error_count,
        "b_last_error": outcome.last_error,
        "b_now": now,
        "b_card_bump": 1 if outcome.card_changed else 0,
        "b_queue_alert_at": outcome.last_queue_alert_at,
    }
    snapshot = outcome.snapshot
    if snapshot is not None:
        forecast = outcome.forecast
        params["b_job_state"] = snapshot.state.value
        params["b_announced_position"] = outcome.announced_position
        params["b_forecast_threshold"] = forecast.threshold_seconds if forecast else None
        params["b_forecast_at"] = forecast.expected_at if forecast else None
        params["b_instance"] = snapshot.instance or None
    return params


def _snapshot_changed(claim: WatchClaim, outcome: PollOutcome) -> bool:
    return outcome.snapshot is not None and outcome.snapshot != claim.previous


def _snapshot_params(claim: WatchClaim, outcome: PollOutcome, now: datetime) -> dict[str, Any]:
    assert outcome.snapshot is not None
    return {
        "watch_id": claim.id,
        "job_id": outcome.snapshot.job_id,
        "data": outcome.snapshot.model_dump(mode="json"),
        "observed_at": now,
    }


def _alert_params(claim: WatchClaim, alert: NewAlert, now: datetime) -> dict[str, Any]:
    return {
        "watch_id": claim.id,
        "team_id": alert.team_id,
        "channel_id": alert.channel_id,
        "job_id": alert.event.job_id,
        "kind": alert.event.kind.value,
        "dedup_key": alert.dedup_key,
        "event": alert.event.model_dump(mode="json"),
        "mention": alert.mention,
        "thread_ts": alert.thread_ts,
        "broadcast": alert.broadcast,
        "oncall": alert.oncall,
        "status": AlertStatus.PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


def _alert_claim(alert: Alert, snoozed_until: datetime | None) -> AlertClaim:
    return AlertClaim(
        id=alert.id,
        watch_id=alert.watch_id,
        team_id=alert.team_id,
        channel_id=alert.channel_id,
        job_id=alert.job_id,
        event=JobEvent.model_validate(alert.event),
        mention=alert.mention,
        attempts=alert.attempts,
        thread_ts=alert.thread_ts,
        broadcast=alert.broadcast,
        oncall=alert.oncall,
        snoozed_until=snoozed_until,
    )


UNINSTALLED_ERROR = "the app was uninstalled from the workspace"
_OVERTAKING_KINDS = ("queue_moved", "started", "finished", "not_found")


def _stop(watch: Watch, now: datetime, user_id: str | None) -> bool:
    if watch.status not in WatchStatus.POLLED:
        return False
    watch.status = WatchStatus.UNWATCHED
    watch.stopped_by = user_id
    watch.updated_at = now
    watch.lease_owner = None
    watch.lease_until = None
    watch.card_version += 1
    return True


def _snoozes_of(session: Session, alerts: Sequence[Alert]) -> dict[int, datetime]:
    watch_ids = {alert.watch_id for alert in alerts if alert.watch_id is not None}
    if not watch_ids:
        return {}
    rows = session.execute(
        select(Watch.id, Watch.snoozed_until).where(
            Watch.id.in_(watch_ids), Watch.snoozed_until.is_not(None)
        )
    )
    return {watch_id: until for watch_id, until in rows}


def _card_claim(watch: Watch, snapshot: tuple[JobSnapshot, datetime] | None) -> CardClaim:
    forecast = None
    if watch.forecast_threshold is not None and watch.forecast_at is not None:
        forecast = ThresholdForecast(watch.forecast_threshold, watch.forecast_at)
    view = CardView(
        watch_id=watch.id,
        job_id=watch.job_id,
        snapshot=snapshot[0] if snapshot else None,
        thresholds=tuple(watch.thresholds or ()),
        watch_status=watch.status,
        last_checked=watch.last_polled_at,
        snoozed_until=watch.snoozed_until,
        forecast=forecast,
        last_error=watch.last_error,
    )
    assert watch.card_ts is not None
    return CardClaim(
        watch.id,
        watch.team_id,
        watch.channel_id,
        watch.card_ts,
        watch.card_version,
        view,
        synced_at=watch.card_synced_at,
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
