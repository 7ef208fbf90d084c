"""A LocalStack with an operator channel and short timeouts, for the fault tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.sim.stack import LocalStack
from tests.integration.conftest import Harness

OPERATOR_CHANNEL = "C0OPS"


@pytest.fixture
async def fault_harness(database_url: str) -> AsyncIterator[Harness]:
    async with LocalStack(
        database_url=database_url,
        poll_interval=0.1,
        operator_channel=OPERATOR_CHANNEL,
        ibm_timeout_seconds=0.5,
    ) as stack:
        yield Harness(stack)


@pytest.fixture
async def harness(sqlite_url: str) -> AsyncIterator[Harness]:
    """The admin flavour on SQLite only: these faults do not depend on the database."""
    async with LocalStack(
        database_url=sqlite_url, poll_interval=0.1, operator_channel=OPERATOR_CHANNEL
    ) as stack:
        yield Harness(stack)
