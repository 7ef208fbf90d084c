"""The watch engine: polls due watches, turns changes into alert rows, delivers them.

One poll is three steps: claim due watches (a short transaction), fetch each job over HTTP
(no transaction open), then write the snapshot and its alerts in one transaction while still
holding the lease. Delivery claims pending alerts, posts them through an AlertSender and
records the Slack message ts.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.domain.errors import AccessDenied, JobNotFound, JobSourceError, RateLimited
from bot.domain.events import EventKind, JobEvent
from bot.domain.snapshot import JobSnapshot
from bot.domain.source import JobSource
from bot.engine.detect import WatchContext, detect_changes, is_done
from bot.storage.models import WatchStatus
from bot.storage.store import AlertClaim, NewAlert, PollOutcome, Store, WatchClaim

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

DELIVERY_RETRY_BASE = 2.0  # seconds before the first retry of a failed post


def utc_now() -> datetime:
    return datetime.now(UTC)


class DeliveryError(Exception):
    """Posting an alert failed. Permanent failures are recorded and never retried."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class AlertSender(Protocol):
    """Posts one alert and returns the message ts; raises DeliveryError on failure."""

    async def send(self, alert: AlertClaim) -> str: ...


@dataclass(frozen=True)
class EngineConfig:
    poll_interval: float = 60.0
    oncall_channel: str | None = None
    oncall_mention: str | None = None
    batch_size: int = 200
    concurrency: int = 20
    lease: timedelta = timedelta(seconds=120)
    max_backoff: float = 900.0
    max_delivery_attempts: int = 12
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}")

    @property
    def paused_interval(self) -> float:
        """Watches whose token lost access are polled this often, to notice access returning."""
        return min(self.poll_interval * 10, self.max_backoff)


class WatchEngine:
    def __init__(
        self,
        store: Store,
        source: JobSource,
        sender: AlertSender,
        config: EngineConfig,
        clock: Clock = utc_now,
    ):
        self.store = store
        self.source = source
        self.sender = sender
        self.config = config
        self.clock = clock
        self.last_poll_tick: datetime | None = None

    async def tick(self) -> None:
        """Poll due watches, then deliver what they produced and anything still pending."""
        await self.poll_due()
        await self.deliver_pending()

    # Polling.

    async def poll_due(self) -> int:
        """Poll every due watch once; return how many were polled."""
        now = self.clock()
        self.last_poll_tick = now
        claims = await asyncio.to_thread(
            self.store.claim_due_watches,
            self.config.owner,
            now=now,
            limit=self.config.batch_size,
            lease=self.config.lease,
        )
        if not claims:
            return 0

        limit = asyncio.Semaphore(self.config.concurrency)

        async def poll_limited(claim: WatchClaim) -> None:
            async with limit:
                await self._poll_one(claim)

        await asyncio.gather(*(poll_limited(claim) for claim in claims))
        return len(claims)

    async def _poll_one(self, claim: WatchClaim) -> None:
        context = _log_context(claim.job_id, claim.channel_id, claim.team_id)
        try:
            snapshot = await self.source.fetch(claim.job_id, claim.instance)
        except JobSourceError as exc:
            outcome = self._failure_outcome(claim, exc)
        except Exception:
            log.exception("poll failed unexpectedly; will retry with backoff %s", context)
            outcome = self._failure_outcome(claim, JobSourceError("unexpected error in poll"))
        else:
            outcome = self._success_outcome(claim, snapshot)

        written = await asyncio.to_thread(
            self.store.record_poll, claim, self.config.owner, outcome, self.clock()
        )
        if not written:
            log.warning("poll result dropped: lease lost or watch removed %s", context)
        elif outcome.alerts:
            kinds = ",".join(alert.event.kind.value for alert in outcome.alerts)
            log.info("alerts queued kinds=%s %s", kinds, context)

    def _success_outcome(self, claim: WatchClaim, snapshot: JobSnapshot) -> PollOutcome:
        now = self.clock()
        watch = WatchContext(claim.thresholds, claim.announced_position)
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
        return PollOutcome(
            status=status,
            next_poll_at=now + timedelta(seconds=self.config.poll_interval),
            snapshot=snapshot,
            announced_position=detection.announced_position,
            alerts=self._alerts_for(claim, events),
        )

    def _failure_outcome(self, claim: WatchClaim, error: JobSourceError) -> PollOutcome:
        now = self.clock()
        errors = claim.error_count + 1
        context = _log_context(claim.job_id, claim.channel_id, claim.team_id)

        if isinstance(error, JobNotFound):
            log.warning("job not found, watch stopped: %s %s", error, context)
            event = self._error_event(EventKind.NOT_FOUND, claim, "not_found", error)
            return PollOutcome(
                status=WatchStatus.STOPPED,
                next_poll_at=now,
                error_count=errors,
                last_error=error.message,
                alerts=self._alerts_for(claim, [event]),
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
            )

        delay = self._backoff(errors, getattr(error, "retry_after", None))
        log.warning("poll failed (%s), retry in %.0f s: %s %s", error.kind, delay, error, context)
        return PollOutcome(
            status=claim.status,
            next_poll_at=now + timedelta(seconds=delay),
            error_count=errors,
            last_error=error.message,
        )

    def _backoff(self, errors: int, retry_after: float | None, base: float | None = None) -> float:
        """Exponential backoff from `base` (default: the poll interval) with +-20% jitter,
        never shorter than the server's Retry-After."""
        base = self.config.poll_interval if base is None else base
        delay = min(base * 2 ** (errors - 1), self.config.max_backoff)
        delay *= random.uniform(0.8, 1.2)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

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
        """One alert per event in the watching channel, plus a copy of each usage alert in
        the on-call channel with its mention."""
        oncall = self.config.oncall_channel
        mention = self.config.oncall_mention
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
                    )
                )
        return alerts

    # Delivery.

    async def deliver_pending(self) -> int:
        """Post due alerts, one channel's alerts in order, channels in parallel; return how
        many were posted."""
        claims = await asyncio.to_thread(
            self.store.claim_pending_alerts,
            self.config.owner,
            now=self.clock(),
            limit=self.config.batch_size,
            lease=self.config.lease,
        )
        by_channel: dict[tuple[str, str], list[AlertClaim]] = defaultdict(list)
        for claim in claims:
            by_channel[(claim.team_id, claim.channel_id)].append(claim)

        results = await asyncio.gather(
            *(self._deliver_channel(alerts) for alerts in by_channel.values())
        )
        return sum(results)

    async def _deliver_channel(self, alerts: list[AlertClaim]) -> int:
        sent = 0
        for alert in alerts:
            sent += await self._deliver_one(alert)
        return sent

    async def _deliver_one(self, alert: AlertClaim) -> int:
        context = _log_context(alert.job_id, alert.channel_id, alert.team_id)
        owner = self.config.owner
        try:
            ts = await self.sender.send(alert)
        except DeliveryError as exc:
            await self._delivery_failed(alert, exc, context)
            return 0
        except Exception:
            log.exception("alert delivery failed unexpectedly %s", context)
            await self._delivery_failed(alert, DeliveryError("unexpected error"), context)
            return 0

        await asyncio.to_thread(self.store.mark_alert_sent, alert.id, owner, ts, self.clock())
        log.info("alert sent kind=%s ts=%s %s", alert.event.kind.value, ts, context)
        return 1

    async def _delivery_failed(self, alert: AlertClaim, error: DeliveryError, context: str) -> None:
        owner = self.config.owner
        now = self.clock()
        if error.permanent or alert.attempts >= self.config.max_delivery_attempts:
            log.warning("alert undeliverable, giving up: %s %s", error.reason, context)
            await asyncio.to_thread(self.store.mark_alert_failed, alert.id, owner, error.reason, now)
            return

        delay = self._backoff(alert.attempts, error.retry_after, base=DELIVERY_RETRY_BASE)
        log.warning("alert delivery failed, retry in %.0f s: %s %s", delay, error.reason, context)
        retry_at = now + timedelta(seconds=delay)
        await asyncio.to_thread(self.store.retry_alert_later, alert.id, owner, retry_at, error.reason)


def _log_context(job_id: str, channel_id: str, team_id: str) -> str:
    return f"job_id={job_id} channel={channel_id} team={team_id}"
