"""Retry delays shared by polling and delivery."""

from __future__ import annotations

import random


def backoff_delay(
    attempts: int, *, base: float, maximum: float, retry_after: float | None = None
) -> float:
    """Exponential backoff from `base` with +-20% jitter, capped at `maximum`, and never
    shorter than the server's Retry-After."""
    delay = min(base * 2 ** (attempts - 1), maximum)
    delay *= random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def log_context(job_id: str, channel_id: str, team_id: str) -> str:
    """The ids every log line about a watch carries."""
    return f"job_id={job_id} channel={channel_id} team={team_id}"
