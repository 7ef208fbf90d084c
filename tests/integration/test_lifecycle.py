"""Watched jobs through their lifecycles: each expected alert once, in order, on both databases."""

from __future__ import annotations

from bot.sim.ibm_api import ScriptedJob
from bot.sim.stack import CHANNEL_ID
from bot.storage.models import WatchStatus
from tests.integration.conftest import Harness

JOB = "c5dge2d3rn7breq27i9g"
OTHER = "d305ck0ocacs73ajagvg"


def lifecycle_job(job_id: str = JOB) -> ScriptedJob:
    # Queued at 8, 4, 2, 0 for 10 s each, then 40 s of running billed up to 40 s.
    return ScriptedJob(
        job_id, queue_positions=(8, 4, 2, 0), step_seconds=10, run_seconds=40, billed_seconds=40
    )


def watch_status(harness: Harness, job_id: str = JOB) -> str | None:
    return harness.watch_status(job_id)


async def watch(harness: Harness, text: str, job_id: str = JOB) -> None:
    before = len(harness.slack.posts(CHANNEL_ID))
    response = await harness.stack.command(text)
    assert response.status_code == 200
    await harness.until(lambda: len(harness.slack.posts(CHANNEL_ID)) > before)
    await harness.settle(job_id)


async def test_lifecycle_alerts_once_in_order(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    await watch(harness, f"watch {JOB} 20")

    for seconds in (10, 10, 10, 10, 25, 20):
        await harness.step(JOB, seconds)

    assert harness.alerts() == [
        (JOB, "queue_moved"),
        (JOB, "queue_moved"),
        (JOB, "queue_moved"),
        (JOB, "started"),
        (JOB, "threshold_exceeded"),
        (JOB, "finished"),
    ]
    assert watch_status(harness) == WatchStatus.FINISHED


async def test_finished_job_is_no_longer_polled(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    await watch(harness, f"watch {JOB}")
    await harness.step(JOB, 200)

    polls = harness.ibm.requests_by_job[JOB]
    harness.ibm.advance(10)
    await harness.until(lambda: harness.ibm.requests_by_job[OTHER] >= 0)
    for _ in range(5):
        await harness.stack.command("help")
    await harness.replies(5)

    assert harness.ibm.requests_by_job[JOB] == polls
    assert harness.alerts()[-1] == (JOB, "finished")


async def test_cancelled_in_queue_says_so(harness: Harness) -> None:
    harness.ibm.add(
        ScriptedJob(OTHER, queue_positions=(3, 2), step_seconds=10, outcome="cancelled_in_queue")
    )
    await watch(harness, f"watch {OTHER}", OTHER)

    await harness.step(OTHER, 25)

    assert harness.alerts() == [(OTHER, "finished")]
    final = harness.slack.posts(CHANNEL_ID)[-1].params["text"]
    assert "without running" in final
    assert "cancelled or failed" in final


async def test_restart_mid_lifecycle_posts_each_alert_once(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    await watch(harness, f"watch {JOB} 20")
    await harness.step(JOB, 40)
    before_restart = harness.alerts()

    await harness.stack.stop_bot()
    harness.ibm.advance(60)
    await harness.stack.start_bot()
    await harness.settle(JOB)

    assert before_restart == [(JOB, "started")]
    assert harness.alerts() == before_restart + [(JOB, "threshold_exceeded"), (JOB, "finished")]


async def test_alerts_wait_for_slack_across_restart(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    await watch(harness, f"watch {JOB}")
    harness.slack.fail_next(1000, status=500)

    harness.ibm.advance(40)
    await harness.until(
        lambda: any(not call.ok for call in harness.slack.calls("chat.postMessage"))
    )
    await harness.stack.stop_bot()
    harness.slack.clear_faults()
    await harness.stack.start_bot()
    await harness.until(lambda: harness.alerts() != [], timeout=15)
    await harness.settle(JOB)

    assert harness.alerts() == [(JOB, "started")]


async def test_job_gone_is_said_once_and_stops(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    await watch(harness, f"watch {JOB}")

    harness.ibm.fail_next(404, count=1000, job_id=JOB)
    await harness.until(lambda: watch_status(harness) == WatchStatus.STOPPED)
    # The alert is written with the status change and posted by the next delivery tick.
    await harness.until(lambda: harness.alerts() != [])
    await harness.settle(JOB, polls=1)

    assert harness.alerts() == [(JOB, "not_found")]


async def test_access_lost_pauses_then_recovers(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    await watch(harness, f"watch {JOB}")

    harness.ibm.fail_next(401, count=1, job_id=JOB)
    await harness.until(lambda: watch_status(harness) == WatchStatus.PAUSED)
    await harness.until(lambda: (JOB, "access_lost") in harness.alerts())
    await harness.until(lambda: watch_status(harness) == WatchStatus.ACTIVE, timeout=15)
    await harness.settle(JOB)

    assert harness.alerts() == [(JOB, "access_lost"), (JOB, "access_restored")]


async def test_transient_errors_lose_no_alert(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    await watch(harness, f"watch {JOB}")

    harness.ibm.fail_next(500, count=2, job_id=JOB)
    harness.ibm.fail_next(429, count=1, job_id=JOB, retry_after=0)
    harness.ibm.fail_next("html", count=1, job_id=JOB)
    harness.ibm.advance(40)
    await harness.settle(JOB, polls=6, timeout=20)

    assert harness.alerts() == [(JOB, "started")]


async def test_usage_alert_goes_to_oncall_with_mention(harness: Harness) -> None:
    harness.stack._extra_settings.update(
        oncall_channel="C0ONCALL", oncall_mention="<!subteam^S0ONCALL>"
    )
    await harness.stack.stop_bot()
    await harness.stack.start_bot()
    harness.ibm.add(lifecycle_job())
    await watch(harness, f"watch {JOB} 5")

    await harness.step(JOB, 50)

    assert harness.alerts("C0ONCALL") == [(JOB, "threshold_exceeded")]
    oncall = harness.slack.posts("C0ONCALL")[0].params["text"]
    assert oncall.startswith("<!subteam^S0ONCALL>")


async def test_undeliverable_alert_is_listed(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    await watch(harness, f"watch {JOB}")

    harness.slack.fail_channel(CHANNEL_ID, "channel_not_found")
    await harness.step(JOB, 40)
    await harness.stack.command("list")
    [reply] = await harness.replies(1)

    assert "channel_not_found" in reply
