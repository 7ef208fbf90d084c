"""How often to poll: the request budget of a process and the delay until a watch's next poll."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.domain.snapshot import JobSnapshot, JobState

# A queued job is polled at most this many poll intervals apart, however far back it waits.
MAX_QUEUED_FACTOR = 10.0
# Queue positions that add one poll interval to the delay of a queued job without an estimate.
POSITIONS_PER_INTERVAL = 5


class RequestBudget:
    """Token bucket of `rate` requests per second with bursts up to `burst`, shared by every
    caller in one process.

    `acquire()` reserves a token at once and sleeps until the bucket has refilled enough, so
    callers leave in the order they asked and a waiting caller never blocks the event loop.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"request rate must be positive, got {rate}")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()

    def reserve(self) -> float:
        """Take one token; return the seconds the caller must wait before sending."""
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._updated = now

        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.rate

    async def acquire(self) -> None:
        """Wait until one more request fits in the budget."""
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)


def next_poll_delay(
    snapshot: JobSnapshot | None,
    interval: float,
    *,
    now: datetime,
    max_factor: float = MAX_QUEUED_FACTOR,
) -> float:
    """Seconds until the next poll of a job after a successful poll returned `snapshot`.

    Running jobs, jobs next in line and jobs whose usage is not final yet get `interval`. A
    queued job with an estimated start time waits half the time left until that estimate. A
    queued job without one waits one more interval per POSITIONS_PER_INTERVAL places ahead of
    it. A queued job is polled at least every `max_factor` intervals, because queues also move
    faster than estimated and a queued job can be cancelled at any time.
    """
    if snapshot is None or snapshot.state is not JobState.QUEUED:
        return interval

    longest = interval * max(1.0, max_factor)
    if snapshot.estimated_start_at is not None:
        until_start = (snapshot.estimated_start_at - now).total_seconds()
        return _clamp(until_start / 2, interval, longest)

    position = snapshot.position_in_queue
    if position is None:
        return interval
    return _clamp(interval * (1 + position // POSITIONS_PER_INTERVAL), interval, longest)


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)
