"""Delivery: post pending alerts through an AlertSender and record the Slack message ts."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta
from typing import Protocol

from bot.engine.backoff import backoff_delay, log_context
from bot.engine.config import Clock, EngineConfig
from bot.storage.store import AlertClaim, Store

log = logging.getLogger(__name__)

DELIVERY_RETRY_BASE = 2.0  # seconds before the first retry of a failed post


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


class Deliverer:
    def __init__(self, store: Store, sender: AlertSender, config: EngineConfig, clock: Clock):
        self.store = store
        self.sender = sender
        self.config = config
        self.clock = clock

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
        context = log_context(alert.job_id, alert.channel_id, alert.team_id)
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
            await asyncio.to_thread(
                self.store.mark_alert_failed, alert.id, owner, error.reason, now
            )
            return

        delay = backoff_delay(
            alert.attempts,
            base=DELIVERY_RETRY_BASE,
            maximum=self.config.max_backoff,
            retry_after=error.retry_after,
        )
        log.warning("alert delivery failed, retry in %.0f s: %s %s", delay, error.reason, context)
        retry_at = now + timedelta(seconds=delay)
        await asyncio.to_thread(
            self.store.retry_alert_later, alert.id, owner, retry_at, error.reason
        )
