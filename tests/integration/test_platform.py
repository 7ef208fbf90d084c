"""Watches on the IBM Quantum Platform API: IAM tokens, instances, failures, final usage."""

from __future__ import annotations

from bot.sim.ibm_api import ScriptedJob
from bot.sim.stack import CHANNEL_ID
from bot.storage.models import WatchStatus
from tests.integration.conftest import Harness

JOB = "d305ck0ocacs73ajagvg"
FAILING = "d7gthd493s0c738s1gk0"
TOO_LONG = "dar1ltrt55cs738sff3g"


async def watch(harness: Harness, text: str, job_id: str) -> None:
    before = len(harness.slack.posts(CHANNEL_ID))
    await harness.stack.command(text)
    await harness.until(lambda: len(harness.slack.posts(CHANNEL_ID)) > before)
    await harness.settle(job_id)


def last_text(harness: Harness) -> str:
    return str(harness.slack.posts(CHANNEL_ID)[-1].params["text"])


async def test_queued_to_failed_with_reason(platform_harness: Harness) -> None:
    harness = platform_harness
    harness.ibm.add(
        ScriptedJob(
            FAILING, queue_positions=(0,), step_seconds=10, run_seconds=10, outcome="failed"
        )
    )
    await watch(harness, f"watch {FAILING}", FAILING)

    await harness.step(FAILING, 10)
    await harness.step(FAILING, 30)

    assert harness.alerts() == [(FAILING, "started"), (FAILING, "finished")]
    assert "failed" in last_text(harness)
    assert harness.watch_status(FAILING) == WatchStatus.FINISHED
    blocks = str(harness.slack.posts(CHANNEL_ID)[-1].params["blocks"])
    assert "1517" in blocks or "reason" in blocks.lower()


async def test_ran_too_long_is_a_failure(platform_harness: Harness) -> None:
    harness = platform_harness
    harness.ibm.add(
        ScriptedJob(
            TOO_LONG, queue_positions=(0,), step_seconds=5, run_seconds=10, outcome="ran_too_long"
        )
    )
    await watch(harness, f"watch {TOO_LONG}", TOO_LONG)

    await harness.step(TOO_LONG, 60)

    assert harness.alerts() == [(TOO_LONG, "finished")]
    blocks = str(harness.slack.posts(CHANNEL_ID)[-1].params["blocks"])
    assert "1305" in blocks


async def test_completed_then_final_usage(platform_harness: Harness) -> None:
    harness = platform_harness
    harness.ibm.add(
        ScriptedJob(
            JOB,
            queue_positions=(0,),
            step_seconds=10,
            run_seconds=20,
            billed_seconds=12,
            usage_final_delay=30,
        )
    )
    await watch(harness, f"watch {JOB} 5", JOB)

    await harness.step(JOB, 10)
    await harness.step(JOB, 25)
    finished_while_pending = harness.watch_status(JOB)
    await harness.step(JOB, 40)

    assert harness.alerts() == [
        (JOB, "started"),
        (JOB, "threshold_exceeded"),
        (JOB, "finished"),
        (JOB, "usage_final"),
    ]
    assert finished_while_pending == WatchStatus.ACTIVE
    assert "12 s" in last_text(harness)
    assert harness.watch_status(JOB) == WatchStatus.FINISHED


async def test_started_alert_does_not_claim_billing(platform_harness: Harness) -> None:
    harness = platform_harness
    harness.ibm.add(ScriptedJob(JOB, queue_positions=(0,), step_seconds=10, run_seconds=100))
    await watch(harness, f"watch {JOB}", JOB)

    await harness.step(JOB, 15)

    assert harness.alerts() == [(JOB, "started")]
    assert "billing started" not in last_text(harness).lower()


async def test_job_in_second_instance_is_found_and_remembered(platform_harness: Harness) -> None:
    harness = platform_harness
    second = harness.ibm.crns[1]
    harness.ibm.add(
        ScriptedJob(JOB, queue_positions=(0,), step_seconds=10, run_seconds=10, instance=second)
    )

    await watch(harness, f"watch {JOB}", JOB)
    harness.ibm.reset_counts()
    await harness.step(JOB, 30)

    polled_instances = {request.service_crn for request in harness.ibm.recent_requests}
    assert harness.alerts() == [(JOB, "finished")]
    assert polled_instances == {second}


async def test_unknown_job_names_instances_and_regions(platform_harness: Harness) -> None:
    await platform_harness.stack.command("cz0000000000notfound")
    [reply] = await platform_harness.replies(1)

    assert "instance" in reply
    assert "region" in reply


async def test_expired_tokens_are_refreshed(platform_harness: Harness) -> None:
    harness = platform_harness
    harness.ibm.add(ScriptedJob(JOB, queue_positions=(0,), step_seconds=10, run_seconds=100))
    await watch(harness, f"watch {JOB}", JOB)
    exchanges = harness.ibm.iam_exchanges

    harness.ibm.revoke_tokens()
    await harness.step(JOB, 15)

    assert harness.ibm.iam_exchanges == exchanges + 1
    assert harness.alerts() == [(JOB, "started")]
