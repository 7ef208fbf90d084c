"""The IBM API's health as the bot observes it: a state machine and the source feeding it.

States are `ok` and `degraded`. The API turns degraded after `failures_to_degrade` failed
requests in a row (across polls and watches), or when requests keep failing for
`degraded_after` seconds since the last success. The first success afterwards makes it `ok`
again. Each change stores one notice for the operator channel; the notices are alert rows
with a dedup key per outage episode, so a restart neither repeats nor loses one.

Answers that prove the API works (a job not found, access denied) count as successes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import AccessDenied, JobNotFound, JobSourceError
from bot.domain.events import EventKind, JobEvent
from bot.domain.snapshot import ApiFlavor, JobSnapshot
from bot.domain.source import JobSource
from bot.engine.config import Clock
from bot.storage.notices import NoticeStore

log = logging.getLogger(__name__)

# Fetch outcomes reported to an observer such as the metrics: "ok" or an error kind.
FetchObserver = Callable[[str], None]


@dataclass(frozen=True)
class HealthPolicy:
    failures_to_degrade: int = 5
    degraded_after: timedelta = timedelta(minutes=2)


class ApiHealth:
    """Tracks IBM API failures and stores a notice when the API degrades or recovers."""

    def __init__(
        self,
        notices: NoticeStore,
        clock: Clock,
        *,
        operator_channel: str | None,
        operator_team: str = "",
        policy: HealthPolicy = HealthPolicy(),
    ):
        self.notices = notices
        self.clock = clock
        self.operator_channel = operator_channel
        self.operator_team = operator_team
        self.policy = policy
        self.last_success: datetime | None = None
        self.failures = 0
        self._first_failure: datetime | None = None
        self._degraded: bool | None = None  # None until the stored state is read
        self._episode = 0
        self._lock = asyncio.Lock()

    @property
    def degraded(self) -> bool:
        return bool(self._degraded)

    async def record_success(self) -> None:
        self.last_success = self.clock()
        self.failures = 0
        self._first_failure = None
        if self._degraded is False:
            return

        async with self._lock:
            await self._load()
            if self._degraded:
                await self._change(EventKind.API_RECOVERED, self._recovery_detail())

    async def record_failure(self, error: JobSourceError) -> None:
        now = self.clock()
        self.failures += 1
        self._first_failure = self._first_failure or now
        if not self._should_degrade(now):
            return

        async with self._lock:
            await self._load()
            if not self._degraded and self._should_degrade(now):
                await self._change(EventKind.API_DEGRADED, self._failure_detail(error))

    def _should_degrade(self, now: datetime) -> bool:
        if self.failures == 0:
            return False
        if self.failures >= self.policy.failures_to_degrade:
            return True
        since = self.last_success or self._first_failure
        return since is not None and now - since >= self.policy.degraded_after

    async def _load(self) -> None:
        """Read the last stored notice once, so that a restart continues its episode."""
        if self._degraded is not None:
            return
        last = await asyncio.to_thread(self.notices.last_notice)
        self._degraded = last is not None and last.kind is EventKind.API_DEGRADED
        self._episode = last.episode if last is not None else 0

    async def _change(self, kind: EventKind, detail: str) -> None:
        """Store the notice first, then switch state: a failed write is retried next time."""
        degraded = kind is EventKind.API_DEGRADED
        episode = self._episode + 1 if degraded else self._episode
        if self.operator_channel is not None:
            event = JobEvent(kind=kind, job_id="", key=kind.value, error_message=detail)
            await asyncio.to_thread(
                self.notices.add_notice,
                event,
                episode=episode,
                team_id=self.operator_team,
                channel_id=self.operator_channel,
                now=self.clock(),
            )

        self._degraded = degraded
        self._episode = episode
        if degraded:
            log.warning("IBM API degraded, alerts may be late: %s", detail)
        else:
            log.warning("IBM API recovered: %s", detail)

    def _failure_detail(self, error: JobSourceError) -> str:
        since = self._first_failure.strftime("%H:%M:%S UTC") if self._first_failure else "now"
        return f"{self.failures} requests failed in a row since {since}. Last error: {error}"

    def _recovery_detail(self) -> str:
        return "Polls of watched jobs succeed again."


class TrackedSource:
    """A JobSource that reports each fetch to the API health and to an optional observer."""

    def __init__(self, source: JobSource, health: ApiHealth, observer: FetchObserver | None = None):
        self.source = source
        self.health = health
        self.observer = observer

    @property
    def flavor(self) -> ApiFlavor:
        return self.source.flavor

    async def fetch(self, job_id: str, instance: str | None = None) -> JobSnapshot:
        try:
            snapshot = await self.source.fetch(job_id, instance)
        except (JobNotFound, AccessDenied) as exc:
            await self._report(exc.kind, None)
            raise
        except JobSourceError as exc:
            await self._report(exc.kind, exc)
            raise

        await self._report("ok", None)
        return snapshot

    async def aclose(self) -> None:
        await self.source.aclose()

    async def _report(self, outcome: str, error: JobSourceError | None) -> None:
        if self.observer is not None:
            self.observer(outcome)
        try:
            if error is None:
                await self.health.record_success()
            else:
                await self.health.record_failure(error)
        except Exception:
            # The fetch itself succeeded or failed on its own terms; a broken health store
            # (the database is down) must not turn it into another error.
            log.exception("could not record the IBM API's health")

    def __getattr__(self, name: str) -> object:
        # Sources carry extras (the request budget, settings); pass them through.
        return getattr(self.source, name)
