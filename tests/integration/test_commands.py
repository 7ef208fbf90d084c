"""Signed slash commands and button clicks through the real HTTP endpoint."""

from __future__ import annotations

import time

import pytest

from bot.sim.ibm_api import ScriptedJob
from bot.sim.slack_requests import signed_headers, slash_command_body
from bot.sim.stack import CHANNEL_ID
from bot.storage.models import WatchStatus
from tests.integration.conftest import Harness

JOB = "c5dge2d3rn7breq27i9g"
QUEUED = ScriptedJob(JOB, queue_positions=(37, 20), step_seconds=100)


async def test_show_replies_to_caller_with_metrics(harness: Harness) -> None:
    harness.ibm.add(QUEUED)

    response = await harness.stack.command(JOB)
    [reply] = await harness.replies(1)

    assert response.status_code == 200
    assert JOB in reply
    assert "37" in reply
    assert '"response_type": "ephemeral"' in reply
    assert '"action_id": "watch_job"' in reply
    assert harness.slack.posts(CHANNEL_ID) == []


async def test_show_accepts_dashboard_link(harness: Harness) -> None:
    harness.ibm.add(QUEUED)

    await harness.stack.command(f"<https://quantum.cloud.ibm.com/jobs/{JOB}?region=us-east|link>")
    [reply] = await harness.replies(1)

    assert "Queued" in reply


async def test_show_unknown_job_says_not_found(harness: Harness) -> None:
    await harness.stack.command("cz0000000000notfound")
    [reply] = await harness.replies(1)

    assert "not found" in reply
    assert "cz0000000000notfound" in reply


async def test_watch_button_watches_in_channel(harness: Harness) -> None:
    harness.ibm.add(QUEUED)

    response = await harness.stack.click("watch_job", JOB)
    await harness.until(lambda: len(harness.slack.posts(CHANNEL_ID)) == 1)

    assert response.status_code == 200
    assert harness.watch_status(JOB) == WatchStatus.ACTIVE
    assert JOB in harness.slack.posts(CHANNEL_ID)[0].params["text"]


async def test_watch_list_unwatch(harness: Harness) -> None:
    harness.ibm.add(QUEUED)

    await harness.stack.command(f"watch {JOB} 90s, 5m")
    await harness.until(lambda: len(harness.slack.posts(CHANNEL_ID)) == 1)
    # Bolt handles commands concurrently after ack(), so wait for each reply in turn.
    for count, text in enumerate(("list", f"unwatch {JOB}", "list"), start=1):
        await harness.stack.command(text)
        await harness.replies(count)
    listed, unwatched, empty = await harness.replies(3)

    assert JOB in listed
    assert "1 min 30 s" in listed or "90 s" in listed
    assert JOB in unwatched
    assert JOB not in empty
    assert harness.watch_status(JOB) == WatchStatus.UNWATCHED


async def test_watch_unknown_job_is_rejected(harness: Harness) -> None:
    await harness.stack.command("watch cz0000000000notfound")
    [reply] = await harness.replies(1)

    assert "not found" in reply
    assert harness.watch_status("cz0000000000notfound") is None


async def test_watch_where_bot_cannot_post(harness: Harness) -> None:
    harness.ibm.add(QUEUED)
    harness.slack.fail_channel(CHANNEL_ID, "not_in_channel")

    await harness.stack.command(f"watch {JOB}")
    [reply] = await harness.replies(1)

    assert "/invite" in reply
    assert harness.watch_status(JOB) == WatchStatus.UNWATCHED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("watch", "missing"),
        (f"watch {JOB} soon", "`soon` is not a valid threshold"),
        (f"watch {JOB} -5", "threshold"),
        ("wacth", "Did you mean `watch`"),
        ("unwatch", "missing"),
        ("<!channel>", "&lt;!channel&gt;"),
    ],
)
async def test_bad_command_text_gets_usage(harness: Harness, text: str, expected: str) -> None:
    response = await harness.stack.command(text)
    [reply] = await harness.replies(1)

    assert response.status_code == 200
    assert expected in reply
    assert "/jobmetrics watch" in reply


async def test_help_lists_subcommands(harness: Harness) -> None:
    await harness.stack.command("help")
    [reply] = await harness.replies(1)

    for word in ("watch", "unwatch", "list"):
        assert f"/jobmetrics {word}" in reply


@pytest.mark.parametrize("problem", ["no signature", "wrong signature", "stale timestamp"])
async def test_forged_request_is_rejected(harness: Harness, problem: str) -> None:
    harness.ibm.add(QUEUED)
    body = slash_command_body(f"watch {JOB}", response_url=harness.slack.response_url("forged"))
    headers = signed_headers(harness.stack.signing_secret, body)
    if problem == "no signature":
        del headers["X-Slack-Signature"]
    elif problem == "wrong signature":
        headers = signed_headers("another-secret", body)
    else:
        headers = signed_headers(harness.stack.signing_secret, body, int(time.time()) - 600)

    response = await harness.stack._http.post(
        harness.stack.events_url, content=body, headers=headers
    )

    assert response.status_code == 401
    assert harness.slack.responses() == []
    assert harness.watch_status(JOB) is None


async def test_healthz_reports_database_and_ticks(harness: Harness) -> None:
    await harness.until(lambda: harness.stack.service.engine.last_poll_tick is not None)
    url = harness.stack.events_url.replace("/slack/events", "/healthz")

    response = await harness.stack._http.get(url)

    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["pending_alerts"] == 0


async def test_livez_reports_ticking_scheduler(harness: Harness) -> None:
    await harness.until(lambda: harness.stack.service.engine.last_poll_tick is not None)
    url = harness.stack.events_url.replace("/slack/events", "/livez")

    response = await harness.stack._http.get(url)

    assert response.status_code == 200
    assert response.json()["scheduler_last_tick"] is not None
