"""Slack faults: pending alerts wait and go out once Slack is back; alerts that can never be
posted are recorded with the reason, shown by `/jobmetrics list`, and not retried forever."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from bot.sim.ibm_api import ScriptedJob
from bot.sim.stack import CHANNEL_ID
from bot.storage.models import AlertStatus
from tests.integration.conftest import Harness

JOB = "d305ck0ocacs73ajagvg"


def quick_retries(harness: Harness, max_attempts: int = 12) -> None:
    assert harness.stack.service is not None
    deliverer = harness.stack.service.engine.deliverer
    deliverer.config = replace(
        deliverer.config, max_backoff=0.3, max_delivery_attempts=max_attempts
    )


def server_errors(harness: Harness) -> Callable[[], None]:
    harness.slack.fail_next(4, status=503)
    return lambda: None


def rate_limited(harness: Harness) -> Callable[[], None]:
    harness.slack.rate_limit_next(3, retry_after=1)
    return lambda: None


def refused(harness: Harness) -> Callable[[], None]:
    port = int(harness.slack.root_url.rsplit(":", 1)[1])
    harness.slack.stop()
    return lambda: harness.slack.start(port)


def invalid_auth(harness: Harness) -> Callable[[], None]:
    harness.slack.fail_auth(True)
    return lambda: harness.slack.fail_auth(False)


FAULTS = {
    "server_errors": server_errors,
    "rate_limited": rate_limited,
    "connection_refused": refused,
    "invalid_auth": invalid_auth,
}


async def watch_job(harness: Harness) -> None:
    harness.ibm.add(ScriptedJob(JOB, queue_positions=(2, 0), step_seconds=10, run_seconds=20))
    await harness.stack.command(f"watch {JOB}")
    await harness.settle(JOB)
    quick_retries(harness)


@pytest.mark.parametrize("fault_name", list(FAULTS))
async def test_alert_waits_for_slack(fault_name: str, harness: Harness) -> None:
    await watch_job(harness)

    mend = FAULTS[fault_name](harness)
    harness.ibm.advance(60)
    await harness.until(lambda: harness.ibm.requests_by_job[JOB] >= 4, timeout=10)
    mend()
    await harness.until(lambda: (JOB, "finished") in harness.alerts(), timeout=15)
    await harness.settle(JOB)

    assert harness.alerts().count((JOB, "finished")) == 1
    assert harness.stack.service is not None
    assert harness.stack.service.store.count_alerts(AlertStatus.FAILED) == 0


async def test_undeliverable_alert_listed(harness: Harness) -> None:
    await watch_job(harness)

    harness.slack.fail_channel(CHANNEL_ID, "channel_not_found")
    harness.ibm.advance(60)
    service = harness.stack.service
    assert service is not None
    await harness.until(lambda: service.store.count_alerts(AlertStatus.FAILED) >= 1, timeout=10)
    await harness.stack.command("list")
    replies = await harness.replies(1)

    assert "channel_not_found" in replies[-1]
    assert "cannot be posted" in replies[-1]


async def test_retries_stop_at_max_attempts(harness: Harness) -> None:
    await watch_job(harness)
    quick_retries(harness, max_attempts=3)

    harness.slack.fail_auth(True)
    harness.ibm.advance(60)
    service = harness.stack.service
    assert service is not None
    await harness.until(lambda: service.store.count_alerts(AlertStatus.FAILED) >= 1, timeout=15)
    await harness.until(lambda: service.store.count_alerts(AlertStatus.PENDING) == 0, timeout=15)
    attempts = [a.attempts for a in service.store.alerts_of_watch(1) if a.status == "failed"]

    assert attempts
    assert max(attempts) <= 3
