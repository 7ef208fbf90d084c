"""The watch engine: one tick polls due watches, then delivers pending alerts."""

from __future__ import annotations

from datetime import datetime

from bot.domain.source import JobSource
from bot.engine.config import Clock, EngineConfig, utc_now
from bot.engine.delivery import AlertSender, Deliverer, DeliveryError
from bot.engine.polling import Poller
from bot.storage.store import Store

__all__ = ["AlertSender", "Clock", "DeliveryError", "EngineConfig", "WatchEngine", "utc_now"]


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
        self.config = config
        self.poller = Poller(store, source, config, clock)
        self.deliverer = Deliverer(store, sender, config, clock)

    @property
    def last_poll_tick(self) -> datetime | None:
        return self.poller.last_tick

    async def tick(self) -> None:
        """Poll due watches, then deliver what they produced and anything still pending."""
        await self.poller.poll_due()
        await self.deliverer.deliver_pending()
