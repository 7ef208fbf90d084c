"""The request budget (token bucket), the adaptive poll delay and the retry backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.snapshot import JobSnapshot, JobState
from bot.engine.backoff import backoff_delay
from bot.engine.budget import RequestBudget, next_poll_delay

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
INTERVAL = 30.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_budget_allows_burst_then_paces() -> None:
    clock = FakeClock()
    budget = RequestBudget(10, burst=3, clock=clock)

    waits = [budget.reserve() for _ in range(5)]

    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.1)
    assert waits[4] == pytest.approx(0.2)


def test_budget_refills_with_time() -> None:
    clock = FakeClock()
    budget = RequestBudget(2, burst=1, clock=clock)
    budget.reserve()

    clock.now += 0.5

    assert budget.reserve() == 0.0
    assert budget.reserve() == pytest.approx(0.5)


def test_budget_refill_is_capped_at_burst() -> None:
    clock = FakeClock()
    budget = RequestBudget(5, burst=2, clock=clock)

    clock.now += 3600
    waits = [budget.reserve() for _ in range(3)]

    assert waits == [0.0, 0.0, pytest.approx(0.2)]


async def test_budget_acquire_holds_rate_over_many_requests() -> None:
    clock = FakeClock()
    budget = RequestBudget(10, burst=10, clock=clock, sleep=clock.sleep)
    start = clock.now

    for _ in range(110):
        await budget.acquire()

    # 10 requests from the full bucket, then 100 at 10 per second.
    assert clock.now - start == pytest.approx(10.0)
    assert all(wait > 0 for wait in clock.slept)


def test_budget_rejects_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        RequestBudget(0)


def snapshot(state: JobState, position: int | None = None, start_in: float | None = None):
    start = NOW + timedelta(seconds=start_in) if start_in is not None else None
    return JobSnapshot(
        job_id="d305ck0ocacs73ajagvg",
        state=state,
        position_in_queue=position,
        estimated_start_at=start,
    )


@pytest.mark.parametrize(
    ("case", "polled", "expected"),
    [
        ("no snapshot yet", None, INTERVAL),
        ("running", snapshot(JobState.RUNNING), INTERVAL),
        ("finished, usage pending", snapshot(JobState.COMPLETED), INTERVAL),
        ("queued, nothing known", snapshot(JobState.QUEUED), INTERVAL),
        ("next in line", snapshot(JobState.QUEUED, position=0), INTERVAL),
        ("position 4", snapshot(JobState.QUEUED, position=4), INTERVAL),
        ("position 5", snapshot(JobState.QUEUED, position=5), 2 * INTERVAL),
        ("position 23", snapshot(JobState.QUEUED, position=23), 5 * INTERVAL),
        ("position 400, capped", snapshot(JobState.QUEUED, position=400), 10 * INTERVAL),
        ("estimate soon", snapshot(JobState.QUEUED, position=50, start_in=40), INTERVAL),
        ("estimate passed", snapshot(JobState.QUEUED, start_in=-600), INTERVAL),
        ("estimate in 4 min", snapshot(JobState.QUEUED, start_in=240), 120.0),
        ("estimate in 3 h, capped", snapshot(JobState.QUEUED, start_in=3 * 3600), 10 * INTERVAL),
    ],
)
def test_next_poll_delay(case: str, polled: JobSnapshot | None, expected: float) -> None:
    assert next_poll_delay(polled, INTERVAL, now=NOW) == pytest.approx(expected), case


def test_next_poll_delay_honours_max_factor() -> None:
    far_back = snapshot(JobState.QUEUED, position=400)

    assert next_poll_delay(far_back, INTERVAL, now=NOW, max_factor=3) == 3 * INTERVAL
    assert next_poll_delay(far_back, INTERVAL, now=NOW, max_factor=0.5) == INTERVAL


@pytest.mark.parametrize("attempts", [1, 2, 3, 6, 20])
def test_backoff_stays_within_jitter_bounds(attempts: int) -> None:
    random.seed(attempts)
    expected = min(10.0 * 2 ** (attempts - 1), 900.0)

    delays = [backoff_delay(attempts, base=10.0, maximum=900.0) for _ in range(500)]

    assert min(delays) >= expected * 0.8
    assert max(delays) <= expected * 1.2
    assert max(delays) - min(delays) > expected * 0.2, "jitter spreads the delays"


def test_backoff_never_shorter_than_retry_after() -> None:
    delays = [backoff_delay(1, base=2.0, maximum=900.0, retry_after=45.0) for _ in range(200)]

    assert min(delays) == 45.0


def test_backoff_keeps_longer_delay_over_short_retry_after() -> None:
    delays = [backoff_delay(4, base=10.0, maximum=900.0, retry_after=1.0) for _ in range(200)]

    assert min(delays) >= 64.0
