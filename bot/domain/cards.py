"""What the living status card of a watched job shows, and the billed-time forecast on it.

One card per watch is posted in the channel and kept current with chat.update. This module
contains the data the card is built from, and the Slack surface renders it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.snapshot import JobSnapshot

WATCH_ACTIVE = "active"
WATCH_PAUSED = "paused"
WATCH_FINISHED = "finished"
WATCH_STOPPED = "stopped"
WATCH_UNWATCHED = "unwatched"
WATCH_STATUSES = (WATCH_ACTIVE, WATCH_PAUSED, WATCH_FINISHED, WATCH_STOPPED, WATCH_UNWATCHED)


@dataclass(frozen=True)
class ThresholdForecast:
    """The next billed-time threshold and when the job is expected to pass it."""

    threshold_seconds: float
    expected_at: datetime


@dataclass(frozen=True)
class CardView:
    """Everything the living card of one watch shows.

    `watch_status` is one of WATCH_STATUSES: `paused` while IBM Quantum denies access,
    `stopped` after IBM Quantum returned not found, `unwatched` after a user stopped the watch,
    `finished` once the job and its usage are final. `snapshot` is None before the first poll.
    """

    watch_id: int
    job_id: str
    snapshot: JobSnapshot | None
    thresholds: tuple[float, ...]
    watch_status: str
    last_checked: datetime | None
    snoozed_until: datetime | None = None
    forecast: ThresholdForecast | None = None
    last_error: str | None = None


def forecast_next_threshold(
    previous_billed: float | None,
    previous_at: datetime | None,
    billed: float | None,
    at: datetime,
    thresholds: Iterable[float],
) -> ThresholdForecast | None:
    """Extrapolate billed-time growth between two observations to the next threshold.

    The rate is the billed seconds gained per second between `previous_at` and `at`. The next
    threshold is the lowest one not yet exceeded. As in the change detector, a threshold counts
    as exceeded only when billed time is strictly above it. Returns None when an observation is
    missing, billed time did not grow, or every threshold is already exceeded. The expected time
    is never before `at`. This is an estimate: IBM Quantum counts usage in batches, so billed
    time grows in steps rather than linearly.
    """
    if previous_billed is None or previous_at is None or billed is None:
        return None
    if not (math.isfinite(previous_billed) and math.isfinite(billed)):
        return None

    elapsed = (at - previous_at).total_seconds()
    growth = billed - previous_billed
    if elapsed <= 0 or growth <= 0:
        return None

    pending = sorted(threshold for threshold in thresholds if threshold >= billed)
    if not pending:
        return None

    target = pending[0]
    try:
        expected_at = at + timedelta(seconds=(target - billed) * elapsed / growth)
    except OverflowError:
        # Growth so slow that the date would fall beyond datetime's range is no forecast at all.
        return None
    return ThresholdForecast(threshold_seconds=target, expected_at=max(expected_at, at))
