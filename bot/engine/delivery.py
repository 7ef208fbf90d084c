"""Delivery: post pending alerts and redraw changed cards through an AlertSender.

Alerts of one job go out in order, at most one post per second per channel; a channel in
quiet hours or a snoozed watch holds its alerts (on-call copies still go). Cards are edited
in place, paced per workspace because chat.update has a lower rate limit than posting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.channel_settings import ChannelSettings
from bot.engine.backoff import backoff_delay, log_context
from bot.engine.config import Clock, EngineConfig
from bot.storage.store import AlertClaim, CardClaim, Store

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
    """Posts alerts and edits cards; raises DeliveryError on failure."""

    async def send(self, alert: AlertClaim) -> str:
        """Post one alert and return its message ts."""
        ...

    async def update_card(self, card: CardClaim) -> None: ...


class Deliverer:
    def __init__(self, store: Store, sender: AlertSender, config: EngineConfig, clock: Clock):
        self.store = store
        self.sender = sender
        self.config = config
        self.clock = clock
        # Monotonic times before which a channel gets no post or a workspace no card edit,
        # after a 429; per process, so several workers each keep their own pace.
        self._team_paused_until: dict[str, float] = {}
        self._last_post: dict[str, float] = {}

    async def deliver_pending(self) -> int:
        """Post due alerts, one channel's alerts in order, channels in parallel, then redraw
        changed cards; return how many alerts were posted."""
        await asyncio.to_thread(self.store.supersede_stale_queue_moves)
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
        await self.sync_cards()
        return sum(results)

    async def _deliver_channel(self, alerts: list[AlertClaim]) -> int:
        batch = alerts[: self.config.per_channel_batch]
        rest = [alert.id for alert in alerts[self.config.per_channel_batch :]]
        await asyncio.to_thread(self.store.release_alerts, rest, self.config.owner)

        settings = await asyncio.to_thread(
            self.store.settings.get, batch[0].team_id, batch[0].channel_id
        )
        sent = 0
        for alert in batch:
            if await self._held(alert, settings):
                continue
            await self._pace(alert.channel_id)
            sent += await self._deliver_one(alert)
        return sent

    async def _pace(self, channel_id: str) -> None:
        """Wait until the channel's last post is `post_interval` old, across ticks."""
        wait = self._last_post.get(channel_id, 0.0) + self.config.post_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_post[channel_id] = time.monotonic()

    async def _held(self, alert: AlertClaim, settings: ChannelSettings) -> bool:
        """Keep a channel alert pending while its watch is snoozed or the channel is in quiet
        hours; on-call alerts always go."""
        if alert.oncall:
            return False

        now = self.clock()
        until = _hold_until(alert, settings, now)
        if until is None:
            return False

        context = log_context(alert.job_id, alert.channel_id, alert.team_id)
        log.info("alert held until %s (snooze or quiet hours) %s", until.isoformat(), context)
        await asyncio.to_thread(self.store.hold_alert, alert.id, self.config.owner, until)
        return True

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

    # Cards.

    async def sync_cards(self) -> int:
        """Redraw cards whose content changed, workspaces in parallel; return how many."""
        cards = await asyncio.to_thread(
            self.store.claim_dirty_cards,
            limit=self.config.batch_size,
            now=self.clock(),
            lease=self.config.lease,
        )
        by_team: dict[str, list[CardClaim]] = defaultdict(list)
        for card in cards:
            by_team[card.team_id].append(card)

        results = await asyncio.gather(
            *(self._sync_team(team, team_cards) for team, team_cards in by_team.items())
        )
        return sum(results)

    async def _sync_team(self, team_id: str, cards: list[CardClaim]) -> int:
        updated = 0
        for index, card in enumerate(cards):
            if index >= self.config.per_channel_batch or self._team_paused(team_id):
                # Give the rest back now rather than when their lease ends.
                for rest in cards[index:]:
                    await asyncio.to_thread(self.store.release_card, rest)
                break
            if updated:
                await asyncio.sleep(self.config.card_update_interval)
            updated += await self._sync_card(card)
        return updated

    def _team_paused(self, team_id: str) -> bool:
        return time.monotonic() < self._team_paused_until.get(team_id, 0.0)

    async def _sync_card(self, card: CardClaim) -> int:
        context = log_context(card.view.job_id, card.channel_id, card.team_id)
        try:
            await self.sender.update_card(card)
        except DeliveryError as exc:
            return await self._card_failed(card, exc, context)
        except Exception:
            log.exception("card update failed unexpectedly %s", context)
            self._pause_team(card.team_id, DELIVERY_RETRY_BASE)
            await asyncio.to_thread(self.store.release_card, card)
            return 0

        await asyncio.to_thread(
            self.store.mark_card_synced, card.watch_id, card.version, self.clock()
        )
        return 1

    async def _card_failed(self, card: CardClaim, error: DeliveryError, context: str) -> int:
        if error.permanent:
            # The card is gone (deleted message or channel): stop trying to redraw this version.
            log.warning("card cannot be updated, skipped: %s %s", error.reason, context)
            await asyncio.to_thread(
                self.store.mark_card_synced, card.watch_id, card.version, self.clock()
            )
            return 0

        pause = error.retry_after or DELIVERY_RETRY_BASE
        log.warning("card update failed, retry in %.0f s: %s %s", pause, error.reason, context)
        self._pause_team(card.team_id, pause)
        await asyncio.to_thread(self.store.release_card, card)
        return 0

    def _pause_team(self, team_id: str, seconds: float) -> None:
        self._team_paused_until[team_id] = time.monotonic() + seconds


def _hold_until(alert: AlertClaim, settings: ChannelSettings, now: datetime) -> datetime | None:
    holds = []
    if alert.snoozed_until is not None and alert.snoozed_until > now:
        holds.append(alert.snoozed_until)
    quiet_end = settings.hold_until(now)
    if quiet_end is not None:
        holds.append(quiet_end)
    return max(holds) if holds else None
