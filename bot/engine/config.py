"""Engine settings and the clock type, shared by polling and delivery."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


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
    # Minimum seconds between two queue-move replies of one job.
    queue_alert_min_gap: float = 300.0
    # Seconds after which a card is redrawn even when nothing changed, to refresh "last checked".
    card_refresh: float = 600.0
    # Seconds between two posts to one channel (Slack allows about one per second).
    post_interval: float = 1.0
    # Seconds between two card edits in one workspace (chat.update allows about 50 a minute).
    card_update_interval: float = 1.2
    # Posts to one channel, and card edits in one workspace, per delivery tick.
    per_channel_batch: int = 10
    # Poll queued jobs far from their start less often (see budget.next_poll_delay).
    adaptive_polling: bool = True
    # A queued job is polled at least every this many poll intervals when adaptive.
    max_queued_factor: float = 10.0
    # Seconds after which one poll tick stops claiming new batches; the next tick goes on.
    tick_claim_window: float = 10.0
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}")

    @property
    def paused_interval(self) -> float:
        """Watches whose token lost access are polled this often, to notice access returning."""
        return min(self.poll_interval * 10, self.max_backoff)
