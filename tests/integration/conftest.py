"""Fixtures that run the whole bot on loopback: simulated IBM API, Slack stand-in, database."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

import pytest

from bot.demo import alert_kinds
from bot.domain.snapshot import ApiFlavor
from bot.sim.stack import CHANNEL_ID, TEAM_ID, LocalStack
from bot.storage.models import AlertStatus, WatchStatus
from bot.storage.store import WatchKey


class Harness:
    """A running LocalStack plus waits that make lifecycle tests deterministic."""

    def __init__(self, stack: LocalStack):
        self.stack = stack

    @property
    def ibm(self):  # noqa: ANN201 - the simulator type is obvious from the stack
        return self.stack.ibm

    @property
    def slack(self):  # noqa: ANN201
        return self.stack.slack

    def alerts(self, channel: str = CHANNEL_ID) -> list[tuple[str, str]]:
        return alert_kinds(self.slack.all_calls(), channel)

    async def settle(self, job_id: str, polls: int = 2, timeout: float = 10.0) -> None:
        """Wait until the bot polled `job_id` at least `polls` more times and every alert
        is delivered or given up."""
        # A platform poll makes two requests (job, then metrics); an admin poll makes one.
        per_poll = 2 if self.stack.flavor is ApiFlavor.PLATFORM else 1
        start = self.ibm.requests_by_job[job_id]
        # One poll more than asked: a poll's request is counted when it starts, and the next
        # poll of the same watch starts only after the previous one wrote its results.
        wanted = start + (polls + 1) * per_poll
        await self.until(
            lambda: self.ibm.requests_by_job[job_id] >= wanted or self.watch_ended(job_id),
            timeout,
        )
        await self.until(self._nothing_pending, timeout)

    async def step(self, job_id: str, seconds: float) -> None:
        """Advance the simulated IBM clock and wait for the bot to see the change."""
        self.ibm.advance(seconds)
        await self.settle(job_id)

    async def replies(self, count: int, timeout: float = 10.0) -> list[str]:
        """Wait for `count` response_url replies; return each one's fallback text and blocks
        as one JSON string, to search for what a reader would see."""
        await self.until(lambda: len(self.slack.responses()) >= count, timeout)
        return [json.dumps(call.params) for call in self.slack.responses()]

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.05)

    def watch_status(self, job_id: str, channel: str = CHANNEL_ID) -> str | None:
        service = self.stack.service
        if service is None:
            return None
        watch = service.store.get_watch(WatchKey(TEAM_ID, channel, job_id))
        return watch.status if watch is not None else None

    def watch_ended(self, job_id: str) -> bool:
        return self.watch_status(job_id) in (WatchStatus.FINISHED, WatchStatus.STOPPED)

    def _nothing_pending(self) -> bool:
        service = self.stack.service
        return service is not None and service.store.count_alerts(AlertStatus.PENDING) == 0


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    """The admin flavour on each database backend."""
    async with LocalStack(database_url=database_url, poll_interval=0.1) as stack:
        yield Harness(stack)


@pytest.fixture
async def platform_harness(database_url: str) -> AsyncIterator[Harness]:
    async with LocalStack(
        flavor=ApiFlavor.PLATFORM, database_url=database_url, poll_interval=0.1
    ) as stack:
        yield Harness(stack)
