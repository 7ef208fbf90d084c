"""APScheduler ticks that drive the watch engine inside an asyncio event loop.

Each watch's own schedule lives in the `watches.next_poll_at` column, not in APScheduler's
job store, so that several processes can share the work through the database.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.engine.watcher import WatchEngine

log = logging.getLogger(__name__)


class EngineScheduler:
    def __init__(self, engine: WatchEngine, tick_seconds: float = 1.0):
        self.engine = engine
        self.tick_seconds = tick_seconds
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    def start(self) -> None:
        """Start ticking in the running event loop."""
        self._scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.tick_seconds,
            id="watch-engine-tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._scheduler.start()
        log.info("scheduler started, tick every %.2f s owner=%s", self.tick_seconds, self.engine.config.owner)

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
            log.info("scheduler stopped owner=%s", self.engine.config.owner)

    async def _tick(self) -> None:
        # A failing database or API must never kill the scheduler: log and go on next tick.
        try:
            await self.engine.tick()
        except Exception:
            log.exception("engine tick failed; retrying on the next tick")
