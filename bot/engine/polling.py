"""Polling: claim due watches, fetch each job, write its snapshot and alerts together.

One poll is three steps: claim due watches (a short transaction), fetch each job over HTTP
(no transaction open), then write the snapshot and its alerts while still holding the lease.
The results of polls that finish close together share one write transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from bot.domain.cards import ThresholdForecast, forecast_next_threshold
from bot.domain.errors import AccessDenied, JobNotFound, JobSourceError
from bot.domain.events import EventKind, JobEvent
from bot.domain.snapshot import JobSnapshot, JobState
from bot.domain.source import JobSource
from bot.engine.backoff import backoff_delay, log_context
from bot.engine.budget import next_poll_delay
from bot.engine.config import Clock, EngineConfig
from bot.engine.detect import WatchContext, detect_changes, is_done
from bot.storage.models import WatchStatus
from bot.storage.store import NewAlert, PollOutcome, Store, WatchClaim

log = logging.getLogger(__name__)

# Events that end a watch or its job: also posted in the channel, not only in the thread.
FINAL_KINDS = frozenset({EventKind.FINISHED, EventKind.USAGE_FINAL, EventKind.NOT_FOUND})
# Seconds to wait for more polls to finish so that their results share one transaction.
RESULT_BATCH_WAIT = 0.02


class Poller:
    def __init__(self, store: Store, source: JobSource, config: EngineConfig, clock: Clock):
        self.store = store
        self.source = source
        self.config = config
        self.clock = clock
        self.last_tick: datetime | None = None
        # Called with the claim time and each batch of claims, for metrics.
        self.on_claim: Callable[[datetime, list[WatchClaim]], None] | None = None

    async def poll_due(self) -> int:
        """Poll due watches until none is left or the tick's claim window closes; return how
        many were polled.

        At most `batch_size` watches are leased at a time and `concurrency` fetched at once. A
        new batch is claimed as soon as half of the current one is done, so that one slow
        request does not hold back the watches behind it.
        """
        now = self.clock()
        self.last_tick = now
        window_ends = time.monotonic() + self.config.tick_claim_window
        limit = asyncio.Semaphore(self.config.concurrency)
        in_flight: set[asyncio.Task[tuple[WatchClaim, PollOutcome]]] = set()
        polled = 0
        more_due = True

        while True:
            # Claim more work while the current batch is at most half done.
            room = self.config.batch_size - len(in_flight)
            if more_due and room > 0 and room >= self.config.batch_size // 2:
                claims = await self._claim(room)
                more_due = len(claims) == room and time.monotonic() < window_ends
                polled += len(claims)
                in_flight.update(asyncio.create_task(self._poll_limited(c, limit)) for c in claims)

            # Wait for polls to finish, then write their results in one transaction.
            if not in_flight:
                return polled
            done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            if in_flight:
                more, in_flight = await asyncio.wait(in_flight, timeout=RESULT_BATCH_WAIT)
                done |= more
            await self._record([task.result() for task in done])

    async def _claim(self, limit: int) -> list[WatchClaim]:
        now = self.clock()
        claims = await asyncio.to_thread(
            self.store.claim_due_watches,
            self.config.owner,
            now=now,
            limit=limit,
            lease=self.config.lease,
        )
        if self.on_claim is not None:
            self.on_claim(now, claims)
        return claims

    async def _poll_limited(
        self, claim: WatchClaim, limit: asyncio.Semaphore
    ) -> tuple[WatchClaim, PollOutcome]:
        async with limit:
            return claim, await self._poll_one(claim)

    async def _poll_one(self, claim: WatchClaim) -> PollOutcome:
        context = log_context(claim.job_id, claim.channel_id, claim.team_id)
        try:
            snapshot = await self.source.fetch(claim.job_id, claim.instance)
            return self._success_outcome(claim, snapshot)
        except JobSourceError as exc:
            return self._failure_outcome(claim, exc)
        except Exception:
            log.exception("poll failed unexpectedly; will retry with backoff %s", context)
            return self._failure_outcome(claim, JobSourceError("unexpected error in poll"))

    async def _record(self, results: list[tuple[WatchClaim, PollOutcome]]) -> None:
        written = await asyncio.to_thread(
            self.store.record_polls, results, self.config.owner, self.clock()
        )
        for (claim, outcome), ok in zip(results, written, strict=True):
            context = log_context(claim.job_id, claim.channel_id, claim.team_id)
            if not ok:
                log.warning("poll result dropped: lease lost or watch removed %s", context)
            elif outcome.alerts:
                kinds = ",".join(alert.event.kind.value for alert in outcome.alerts)
                log.info("alerts queued kinds=%s %s", kinds, context)

    def _success_outcome(self, claim: WatchClaim, snapshot: JobSnapshot) -> PollOutcome:
        now = self.clock()
        watch = WatchContext(
            claim.thresholds, claim.announced_position, self._queue_alert_allowed(claim, now)
        )
        detection = detect_changes(claim.previous, snapshot, watch)

        events = detection.events
        if claim.status == WatchStatus.PAUSED:
            restored = JobEvent(
                kind=EventKind.ACCESS_RESTORED,
                job_id=claim.job_id,
                key=f"access_restored:{now.isoformat()}",
                snapshot=snapshot,
            )
            events = [restored, *events]

        status = WatchStatus.FINISHED if is_done(snapshot) else WatchStatus.ACTIVE
        moved = any(event.kind is EventKind.QUEUE_MOVED for event in events)
        return PollOutcome(
            status=status,
            next_poll_at=now + timedelta(seconds=self._delay_after(snapshot, now)),
            snapshot=snapshot,
            announced_position=detection.announced_position,
            alerts=self._alerts_for(claim, events),
            card_changed=self._card_changed(claim, snapshot, status, now),
            last_queue_alert_at=now if moved else None,
            forecast=self._forecast(claim, snapshot, now),
        )

    def _delay_after(self, snapshot: JobSnapshot, now: datetime) -> float:
        interval = self.config.poll_interval
        if not self.config.adaptive_polling:
            return interval
        factor = self.config.max_queued_factor
        return next_poll_delay(snapshot, interval, now=now, max_factor=factor)

    def _queue_alert_allowed(self, claim: WatchClaim, now: datetime) -> bool:
        """Queue replies keep a minimum gap per job; the card shows every position anyway."""
        last = claim.last_queue_alert_at
        gap = timedelta(seconds=self.config.queue_alert_min_gap)
        return last is None or now - last >= gap

    def _card_changed(
        self, claim: WatchClaim, snapshot: JobSnapshot, status: str, now: datetime
    ) -> bool:
        """Redraw the card when what it shows changed, when a user asked, or when its
        "last checked" time is older than the card refresh interval."""
        if claim.refresh_requested or status != claim.status or snapshot != claim.previous:
            return True
        synced = claim.card_synced_at
        return synced is None or now - synced >= timedelta(seconds=self.config.card_refresh)

    @staticmethod
    def _forecast(
        claim: WatchClaim, snapshot: JobSnapshot, now: datetime
    ) -> ThresholdForecast | None:
        if snapshot.state is not JobState.RUNNING or claim.previous is None:
            return None
        return forecast_next_threshold(
            claim.previous.billed_seconds,
            claim.previous_observed_at,
            snapshot.billed_seconds,
            now,
            claim.thresholds,
        )

    def _failure_outcome(self, claim: WatchClaim, error: JobSourceError) -> PollOutcome:
        now = self.clock()
        errors = claim.error_count + 1
        context = log_context(claim.job_id, claim.channel_id, claim.team_id)

        if isinstance(error, JobNotFound):
            log.warning("job not found, watch stopped: %s %s", error, context)
            event = self._error_event(EventKind.NOT_FOUND, claim, "not_found", error)
            return PollOutcome(
                status=WatchStatus.STOPPED,
                next_poll_at=now,
                error_count=errors,
                last_error=error.message,
                alerts=self._alerts_for(claim, [event]),
                card_changed=True,
            )

        if isinstance(error, AccessDenied):
            paused_until = now + timedelta(seconds=self.config.paused_interval)
            alerts: list[NewAlert] = []
            if claim.status == WatchStatus.ACTIVE:
                log.warning("access lost, watch paused: %s %s", error, context)
                key = f"access_lost:{now.isoformat()}"
                event = self._error_event(EventKind.ACCESS_LOST, claim, key, error)
                alerts = self._alerts_for(claim, [event])
            return PollOutcome(
                status=WatchStatus.PAUSED,
                next_poll_at=paused_until,
                snapshot=None,
                error_count=errors,
                last_error=error.message,
                alerts=alerts,
                card_changed=claim.status != WatchStatus.PAUSED,
            )

        delay = backoff_delay(
            errors,
            base=self.config.poll_interval,
            maximum=self.config.max_backoff,
            retry_after=getattr(error, "retry_after", None),
        )
        log.warning("poll failed (%s), retry in %.0f s: %s %s", error.kind, delay, error, context)
        return PollOutcome(
            status=claim.status,
            next_poll_at=now + timedelta(seconds=delay),
            error_count=errors,
            last_error=error.message,
        )

    @staticmethod
    def _error_event(
        kind: EventKind, claim: WatchClaim, key: str, error: JobSourceError
    ) -> JobEvent:
        return JobEvent(
            kind=kind,
            job_id=claim.job_id,
            key=key,
            snapshot=claim.previous,
            error_message=error.message,
        )

    def _alerts_for(self, claim: WatchClaim, events: Iterable[JobEvent]) -> list[NewAlert]:
        """One reply per event in the card's thread (final events also in the channel unless
        the channel chose thread-only), plus a copy of each usage alert in the on-call
        channel with its mention. The channel's settings override the deployment's."""
        settings = claim.settings
        oncall = settings.oncall_channel or self.config.oncall_channel
        mention = settings.oncall_mention or self.config.oncall_mention
        alerts = []
        for event in events:
            key = f"{claim.id}:{event.key}"
            same_channel = oncall == claim.channel_id and event.is_usage_alert
            alerts.append(
                NewAlert(
                    team_id=claim.team_id,
                    channel_id=claim.channel_id,
                    dedup_key=key,
                    event=event,
                    mention=mention if same_channel else None,
                    thread_ts=claim.card_ts,
                    broadcast=event.kind in FINAL_KINDS and settings.final_in_channel,
                    oncall=same_channel,
                )
            )
            if event.is_usage_alert and oncall and not same_channel:
                alerts.append(
                    NewAlert(
                        team_id=claim.team_id,
                        channel_id=oncall,
                        dedup_key=f"{key}:oncall",
                        event=event,
                        mention=mention,
                        oncall=True,
                    )
                )
        return alerts
