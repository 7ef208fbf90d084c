"""IBM API faults: the bot backs off, keeps ticking, tells the operator channel once that
the API is degraded and once that it recovered, and posts every alert of a job that
changed during the outage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from bot.sim.ibm_api import ScriptedJob
from bot.sim.stack import LocalStack
from tests.faults.conftest import OPERATOR_CHANNEL
from tests.integration.conftest import Harness

JOB = "d305ck0ocacs73ajagvg"
FOREVER = 10**6

Fault = Callable[[Harness], None]


def fail_with(kind: int | str, retry_after: float | None = None) -> Fault:
    return lambda harness: harness.ibm.fail_next(kind, FOREVER, retry_after=retry_after)


def time_out(harness: Harness) -> None:
    harness.ibm.latency = 1.0  # the stack's IBM timeout is 0.5 s


def refuse_connections(harness: Harness) -> None:
    harness.port = int(harness.ibm.origin.rsplit(":", 1)[1])  # type: ignore[attr-defined]
    harness.ibm.stop()


def end_faults(harness: Harness) -> None:
    harness.ibm.clear_faults()
    harness.ibm.latency = 0.0
    if harness.ibm._thread is None:
        harness.ibm.start(harness.port)  # type: ignore[attr-defined]


FAULTS = {
    "server_errors": fail_with(500),
    "rate_limit_storm": fail_with(429, retry_after=0.3),
    "maintenance_page": fail_with("html"),
    "truncated_json": fail_with("truncated"),
    "timeout": time_out,
    "connection_refused": refuse_connections,
}


def operator_notices(harness: Harness) -> list[str]:
    return [kind for _, kind in harness.alerts(OPERATOR_CHANNEL)]


def shorten_backoff(stack: LocalStack) -> None:
    """Cap the poll backoff at 0.3 s so that an outage of a few seconds sees many polls."""
    assert stack.service is not None
    poller = stack.service.engine.poller
    poller.config = replace(poller.config, max_backoff=0.3)


async def ride_out_outage(harness: Harness, fault: Fault) -> None:
    """Watch a job, break the API while the job runs and finishes, then mend it; the bot
    must keep ticking in between."""
    harness.ibm.add(
        ScriptedJob(
            JOB, queue_positions=(2, 0), step_seconds=10, run_seconds=20, billed_seconds=6.5
        )
    )
    await harness.stack.command(f"watch {JOB} 3")
    await harness.settle(JOB)
    shorten_backoff(harness.stack)

    fault(harness)
    harness.ibm.advance(60)  # the job runs, passes 3 s billed and finishes, unseen
    await harness.until(lambda: "api_degraded" in operator_notices(harness), timeout=15)
    service = harness.stack.service
    assert service is not None
    tick = service.engine.last_poll_tick
    await harness.until(lambda: service.engine.last_poll_tick != tick, timeout=5)

    end_faults(harness)
    await harness.until(lambda: (JOB, "finished") in harness.alerts(), timeout=15)
    await harness.until(lambda: "api_recovered" in operator_notices(harness), timeout=10)


@pytest.mark.parametrize("fault_name", list(FAULTS))
async def test_ibm_outage_told_once(fault_name: str, sqlite_url: str) -> None:
    async with LocalStack(
        database_url=sqlite_url,
        poll_interval=0.1,
        operator_channel=OPERATOR_CHANNEL,
        ibm_timeout_seconds=0.5,
    ) as stack:
        harness = Harness(stack)
        await ride_out_outage(harness, FAULTS[fault_name])
        await harness.settle(JOB)

        assert operator_notices(harness) == ["api_degraded", "api_recovered"]
        job_alerts = [kind for job, kind in harness.alerts() if job == JOB]
        assert job_alerts.count("threshold_exceeded") == 1
        assert job_alerts.count("finished") == 1


async def test_ibm_outage_notice_survives_restart(fault_harness: Harness) -> None:
    """A restart during an outage neither repeats the degraded notice nor loses the
    recovered one, on both databases."""
    harness = fault_harness
    harness.ibm.add(
        ScriptedJob(
            JOB, queue_positions=(2, 0), step_seconds=10, run_seconds=20, billed_seconds=6.5
        )
    )
    await harness.stack.command(f"watch {JOB} 3")
    await harness.settle(JOB)
    shorten_backoff(harness.stack)

    harness.ibm.fail_next(503, FOREVER)
    harness.ibm.advance(60)
    await harness.until(lambda: "api_degraded" in operator_notices(harness), timeout=15)
    await harness.stack.stop_bot()
    await harness.stack.start_bot()
    shorten_backoff(harness.stack)
    polls = harness.ibm.requests_by_job[JOB]
    await harness.until(lambda: harness.ibm.requests_by_job[JOB] >= polls + 6, timeout=10)

    harness.ibm.clear_faults()
    await harness.until(lambda: (JOB, "finished") in harness.alerts(), timeout=15)
    await harness.until(lambda: "api_recovered" in operator_notices(harness), timeout=10)
    await harness.settle(JOB)

    assert operator_notices(harness) == ["api_degraded", "api_recovered"]
