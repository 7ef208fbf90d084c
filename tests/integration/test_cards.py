"""Living cards: one message per watched job, edited in place, events in its thread."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.sim.ibm_api import ScriptedJob
from bot.sim.stack import CHANNEL_ID, TEAM_ID, USER_ID
from bot.storage.models import AlertStatus, WatchStatus
from bot.storage.store import WatchKey
from tests.integration.conftest import Harness

JOB = "c5dge2d3rn7breq27i9g"


def lifecycle_job() -> ScriptedJob:
    return ScriptedJob(
        JOB, queue_positions=(8, 4, 2, 0), step_seconds=10, run_seconds=40, billed_seconds=40
    )


async def watch(harness: Harness, text: str = f"watch {JOB} 20", settle: bool = True) -> str:
    """Watch the job and return its card's ts."""
    await harness.stack.command(text)
    await harness.until(lambda: len(harness.slack.posts(CHANNEL_ID)) >= 1)
    if settle:
        await harness.settle(JOB)
    return str(harness.slack.posts(CHANNEL_ID)[0].response["ts"])


def card_text(harness: Harness, ts: str) -> str:
    return json.dumps(harness.slack.message(CHANNEL_ID, ts))


def thread_calls(harness: Harness, ts: str) -> list:
    return [call for call in harness.slack.thread(CHANNEL_ID, ts) if call.ok]


def updates_of(harness: Harness, ts: str) -> int:
    return len([c for c in harness.slack.calls("chat.update") if c.ok and c.params.get("ts") == ts])


async def test_card_is_updated_in_place(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    ts = await watch(harness)

    await harness.step(JOB, 10)
    await harness.until(lambda: '"4"' in card_text(harness, ts) or " 4" in card_text(harness, ts))
    for seconds in (10, 10, 10, 25, 20):
        await harness.step(JOB, seconds)
    await harness.until(lambda: "ompleted" in card_text(harness, ts))

    cards = [call for call in harness.slack.posts(CHANNEL_ID) if not call.params.get("thread_ts")]
    assert len(cards) == 1
    assert updates_of(harness, ts) >= 5
    assert "card_refresh" not in card_text(harness, ts)


async def test_events_are_thread_replies(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    ts = await watch(harness)

    for seconds in (10, 10, 10, 10, 25, 20):
        await harness.step(JOB, seconds)

    replies = thread_calls(harness, ts)
    kinds = [call.params["metadata"]["event_type"] for call in replies]
    assert kinds == [
        "jobmetrics_queue_moved",
        "jobmetrics_queue_moved",
        "jobmetrics_queue_moved",
        "jobmetrics_started",
        "jobmetrics_threshold_exceeded",
        "jobmetrics_finished",
    ]
    broadcast = [call.params.get("reply_broadcast") for call in replies]
    assert broadcast[-1] in (True, "true", "1")
    assert all(flag in (None, False, "false", "0") for flag in broadcast[:-1])


async def test_thread_only_channel_keeps_final_in_thread(harness: Harness) -> None:
    await harness.stack.command("settings final thread")
    await harness.replies(1)
    harness.ibm.add(lifecycle_job())
    ts = await watch(harness)

    await harness.step(JOB, 200)

    final = thread_calls(harness, ts)[-1]
    assert final.params["metadata"]["event_type"] == "jobmetrics_finished"
    assert final.params.get("reply_broadcast") in (None, False, "false", "0")


async def test_refresh_button_polls_now(harness: Harness) -> None:
    harness.ibm.add(ScriptedJob(JOB, queue_positions=(5,), step_seconds=1000))
    harness.stack._extra_settings.update(poll_interval_seconds=3600)
    await harness.stack.stop_bot()
    await harness.stack.start_bot()
    ts = await watch(harness, f"watch {JOB}", settle=False)
    await harness.until(lambda: harness.ibm.requests_by_job[JOB] >= 2)
    polls = harness.ibm.requests_by_job[JOB]

    await harness.stack.click("card_refresh", _watch_id(harness))
    await harness.until(lambda: harness.ibm.requests_by_job[JOB] > polls)
    await harness.until(lambda: updates_of(harness, ts) >= 1)

    entries = _audit(harness)
    assert ("refresh", JOB, USER_ID) in entries


async def test_stop_button_requires_channel_member(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    await watch(harness)
    harness.slack.set_members(CHANNEL_ID, ["U0SOMEONE"])

    await harness.stack.click("card_stop", _watch_id(harness))
    [reply] = await harness.replies(1)

    assert "members of this channel" in reply
    assert harness.watch_status(JOB) == WatchStatus.ACTIVE


async def test_stop_button_stops_and_records_who(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    ts = await watch(harness)
    harness.slack.set_members(CHANNEL_ID, [USER_ID])

    await harness.stack.click("card_stop", _watch_id(harness))
    await harness.replies(1)
    await harness.until(lambda: "card_stop" not in card_text(harness, ts))

    assert harness.watch_status(JOB) == WatchStatus.UNWATCHED
    assert ("unwatch", JOB, USER_ID) in _audit(harness)


async def test_snooze_holds_alerts_until_expiry(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    ts = await watch(harness)
    await harness.stack.command(f"snooze {JOB} 3s")
    await harness.replies(1)

    harness.ibm.advance(40)
    await harness.until(lambda: _pending(harness) == 1)
    held = len(thread_calls(harness, ts))
    await harness.until(lambda: len(thread_calls(harness, ts)) > held, timeout=10)

    assert held == 0
    assert ("snooze", JOB, USER_ID) in _audit(harness)
    assert harness.alerts() == [(JOB, "started")]


async def test_quiet_hours_hold_channel_but_not_oncall(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    zone = "Pacific/Kiritimati"
    local = datetime.now(UTC).astimezone(ZoneInfo(zone))
    start = (local - timedelta(hours=1)).strftime("%H:%M")
    end = (local + timedelta(hours=1)).strftime("%H:%M")
    await harness.stack.command(f"settings quiet {start}-{end} {zone}")
    await harness.stack.command("settings oncall C0ONCALL <!here>")
    await harness.replies(2)
    ts = await watch(harness, f"watch {JOB} 5")

    harness.ibm.advance(100)
    await harness.until(lambda: harness.alerts("C0ONCALL") != [])
    await harness.until(lambda: harness.watch_status(JOB) == WatchStatus.FINISHED)

    assert thread_calls(harness, ts) == []
    assert harness.alerts("C0ONCALL") == [(JOB, "threshold_exceeded")]
    assert _pending(harness) == 2

    await harness.stack.command("settings quiet off")
    await harness.until(lambda: _pending(harness) == 0, timeout=15)
    kinds = [call.params["metadata"]["event_type"] for call in thread_calls(harness, ts)]
    assert kinds == ["jobmetrics_threshold_exceeded", "jobmetrics_finished"]


async def test_slack_rate_limit_is_honoured(harness: Harness) -> None:
    harness.ibm.add(lifecycle_job())
    ts = await watch(harness)
    harness.slack.rate_limit_next(1, retry_after=2, method="chat.postMessage")

    await harness.step(JOB, 40)
    await harness.until(lambda: len(thread_calls(harness, ts)) == 1, timeout=10)

    limited = [call for call in harness.slack.calls("chat.postMessage") if call.status == 429]
    assert len(limited) == 1
    delivered = thread_calls(harness, ts)[0]
    assert delivered.at - limited[0].at >= 1.5
    assert harness.alerts() == [(JOB, "started")]


def _watch_id(harness: Harness) -> str:
    service = harness.stack.service
    assert service is not None
    watch = service.store.get_watch(WatchKey(TEAM_ID, CHANNEL_ID, JOB))
    assert watch is not None
    return str(watch.id)


def _audit(harness: Harness) -> list[tuple[str, str | None, str]]:
    service = harness.stack.service
    assert service is not None
    entries = service.store.settings.audit_log(TEAM_ID, CHANNEL_ID)
    return [(entry.action, entry.job_id, entry.user_id) for entry in entries]


def _pending(harness: Harness) -> int:
    service = harness.stack.service
    assert service is not None
    return service.store.count_alerts(AlertStatus.PENDING)


async def test_posts_to_one_channel_are_paced(harness: Harness) -> None:
    jobs = ["c5dge2d3rn7breq27i9g", "d305ck0ocacs73ajagvg", "d7gthd493s0c738s1gk0"]
    for job_id in jobs:
        harness.ibm.add(ScriptedJob(job_id, queue_positions=(0,), step_seconds=10, run_seconds=500))
        await harness.stack.command(f"watch {job_id}")
    await harness.until(lambda: len(harness.slack.posts(CHANNEL_ID)) == 3)
    for job_id in jobs:
        await harness.settle(job_id)

    harness.ibm.advance(15)
    await harness.until(lambda: len(harness.alerts()) == 3, timeout=15)

    replies = [call for call in harness.slack.posts(CHANNEL_ID) if call.params.get("thread_ts")]
    times = sorted(call.at for call in replies)
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert len(gaps) == 2
    assert min(gaps) >= 0.9
