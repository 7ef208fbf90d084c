"""Prometheus metrics of one bot process, served at GET /metrics.

The only importer of prometheus_client. Each BotMetrics has its own registry, so that
several services in one process (as in the tests) do not collide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.engine.delivery import AlertSender
from bot.storage.store import AlertClaim, CardClaim, WatchClaim

__all__ = ["CONTENT_TYPE_LATEST", "BotMetrics", "CountingSender"]

# Poll lateness buckets in seconds: from on time to far behind a 60 s interval.
LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class BotMetrics:
    def __init__(self, pending_alerts: Callable[[], int]):
        self.registry = CollectorRegistry()
        self.polls = Counter(
            "jobmetrics_polls",
            "IBM API fetches of watched jobs, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.poll_errors = Counter(
            "jobmetrics_poll_errors",
            "Failed IBM API fetches, by error kind.",
            ["kind"],
            registry=self.registry,
        )
        self.alerts_sent = Counter(
            "jobmetrics_alerts_sent", "Alerts posted to Slack.", registry=self.registry
        )
        self.delivery_errors = Counter(
            "jobmetrics_delivery_errors",
            "Failed Slack posts and card edits.",
            registry=self.registry,
        )
        self.alerts_pending = Gauge(
            "jobmetrics_alerts_pending",
            "Alerts stored and not yet posted.",
            registry=self.registry,
        )
        self.alerts_pending.set_function(pending_alerts)
        self.poll_lateness = Histogram(
            "jobmetrics_poll_lateness_seconds",
            "Seconds between a watch's due time and the poll that claimed it.",
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )

    def observe_fetch(self, outcome: str) -> None:
        """Count one fetch; `outcome` is "ok" or the error kind."""
        self.polls.labels(outcome="ok" if outcome == "ok" else "error").inc()
        if outcome != "ok":
            self.poll_errors.labels(kind=outcome).inc()

    def observe_claims(self, now: datetime, claims: Sequence[WatchClaim]) -> None:
        for claim in claims:
            if claim.due_at is not None:
                self.poll_lateness.observe(max((now - claim.due_at).total_seconds(), 0.0))

    def render(self) -> bytes:
        """Render the text exposition format, reading the pending count from the database."""
        return generate_latest(self.registry)


class CountingSender:
    """An AlertSender that counts posts and failures of the sender it wraps."""

    def __init__(self, sender: AlertSender, metrics: BotMetrics):
        self.sender = sender
        self.metrics = metrics

    async def send(self, alert: AlertClaim) -> str:
        try:
            ts = await self.sender.send(alert)
        except Exception:
            self.metrics.delivery_errors.inc()
            raise
        self.metrics.alerts_sent.inc()
        return ts

    async def update_card(self, card: CardClaim) -> None:
        try:
            await self.sender.update_card(card)
        except Exception:
            self.metrics.delivery_errors.inc()
            raise
