"""APScheduler ticks that drive the watch engine inside an asyncio event loop.

Each watch's own schedule lives in the `watches.next_poll_at` column, not in APScheduler's
job store, so that several processes can share the work through the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.engine.watcher import WatchEngine

log = logging.getLogger(__name__)


class _SkippedTickFilter(logging.Filter):
    """Drop APScheduler's warning that a tick was skipped because the previous one still runs:
    with `max_instances=1` that is the intended behaviour, not a fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_SkippedTickFilter())


class EngineScheduler:
    """Two interval jobs: polling and delivery, so that paced posts never delay polls."""

    def __init__(self, engine: WatchEngine, tick_seconds: float = 1.0):
        self.engine = engine
        self.tick_seconds = tick_seconds
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._running = {"poll": asyncio.Lock(), "deliver": asyncio.Lock()}
        # Health checks count a scheduler that started moments ago as ticking.
        self.started_at: datetime | None = None

    def start(self) -> None:
        """Start ticking in the running event loop."""
        for name, step in (
            ("poll", self.engine.poller.poll_due),
            ("deliver", self.engine.deliverer.deliver_pending),
        ):
            self._scheduler.add_job(
                self._tick,
                "interval",
                args=(name, step),
                seconds=self.tick_seconds,
                id=f"watch-engine-{name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        self._scheduler.start()
        self.started_at = datetime.now(UTC)
        owner = self.engine.config.owner
        log.info("scheduler started, tick every %.2f s owner=%s", self.tick_seconds, owner)

    async def shutdown(self) -> None:
        """Stop ticking, letting ticks in flight finish so that their results are written:
        APScheduler's asyncio executor would cancel them mid-poll."""
        if not self._scheduler.running:
            return
        self._scheduler.pause()
        for lock in self._running.values():
            async with lock:
                pass
        self._scheduler.shutdown(wait=False)
        log.info("scheduler stopped owner=%s", self.engine.config.owner)

    async def _tick(self, name: str, step: Callable[[], Awaitable[int]]) -> None:
        # A failing database or API must never kill the scheduler: log and go on next tick.
        async with self._running[name]:
            try:
                await step()
            except Exception:
                log.exception("%s tick failed; retrying on the next tick", name)
