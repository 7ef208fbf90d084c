"""Forged, stale, replayed and oversized requests change nothing; access settings, the
audit log, /healthz and /metrics."""

from __future__ import annotations

import logging
import time

import pytest

from bot.sim.ibm_api import ScriptedJob
from bot.sim.slack_requests import signed_headers, slash_command_body
from bot.sim.stack import CHANNEL_ID, TEAM_ID, USER_ID, LocalStack
from bot.storage.store import WatchKey
from tests.faults.conftest import OPERATOR_CHANNEL
from tests.integration.conftest import Harness

JOB = "d305ck0ocacs73ajagvg"


def watch_body(harness: Harness) -> str:
    return slash_command_body(
        f"watch {JOB}",
        response_url=harness.slack.response_url("r"),
        team_id=TEAM_ID,
        channel_id=CHANNEL_ID,
        user_id=USER_ID,
    )


async def post(harness: Harness, body: str, headers: dict[str, str]) -> int:
    response = await harness.stack._http.post(
        harness.stack.events_url, content=body, headers=headers
    )
    return response.status_code


def watched(harness: Harness) -> bool:
    assert harness.stack.service is not None
    return harness.stack.service.store.get_watch(WatchKey(TEAM_ID, CHANNEL_ID, JOB)) is not None


def cards(harness: Harness) -> int:
    return len([call for call in harness.slack.posts(CHANNEL_ID) if "thread_ts" not in call.params])


async def test_forged_requests_rejected(harness: Harness) -> None:
    harness.ibm.add(ScriptedJob(JOB))
    body = watch_body(harness)
    good = signed_headers(harness.stack.signing_secret, body)
    forged = {
        "no_signature": {"Content-Type": good["Content-Type"]},
        "wrong_signature": {**good, "X-Slack-Signature": "v0=" + "0" * 64},
        "wrong_secret": signed_headers("not-the-secret", body),
        "stale_timestamp": signed_headers(
            harness.stack.signing_secret, body, timestamp=int(time.time()) - 600
        ),
    }

    statuses = {name: await post(harness, body, headers) for name, headers in forged.items()}

    assert statuses == dict.fromkeys(forged, 401)
    assert not watched(harness)
    assert harness.slack.all_calls() == []


async def test_replayed_request_rejected(harness: Harness) -> None:
    harness.ibm.add(ScriptedJob(JOB))
    body = watch_body(harness)
    headers = signed_headers(harness.stack.signing_secret, body)

    first = await post(harness, body, headers)
    await harness.until(lambda: cards(harness) == 1)
    replay = await post(harness, body, headers)
    retry = await post(harness, body, {**headers, "X-Slack-Retry-Num": "1"})

    assert (first, replay, retry) == (200, 401, 200)
    assert cards(harness) == 1


async def test_command_delivered_twice_watches_once(harness: Harness) -> None:
    harness.ibm.add(ScriptedJob(JOB))
    body = watch_body(harness)

    # Slack signs each delivery afresh, so the two copies differ in timestamp.
    for age in (1, 0):
        stamp = int(time.time()) - age
        headers = signed_headers(harness.stack.signing_secret, body, timestamp=stamp)
        status = await post(harness, body, headers)
        assert status == 200
    replies = await harness.replies(1)

    assert cards(harness) == 1
    assert "already watched" in replies[-1]


async def test_oversized_body_rejected(harness: Harness) -> None:
    body = watch_body(harness) + "&padding=" + "x" * 70_000
    headers = signed_headers(harness.stack.signing_secret, body)

    status = await post(harness, body, headers)

    assert status == 413
    assert not watched(harness)


@pytest.mark.parametrize(
    ("settings", "user", "allowed"),
    [
        ({"allowed_channels": ["C0OTHER"]}, USER_ID, False),
        ({"allowed_channels": [CHANNEL_ID]}, USER_ID, True),
        ({"allowed_users": ["U0BOSS"]}, USER_ID, False),
        ({"allowed_usergroup": "S0ONCALL"}, USER_ID, True),
        ({"allowed_usergroup": "S0ONCALL"}, "U0STRANGER", False),
    ],
)
async def test_access_settings_decide_watch(
    settings: dict[str, object],
    user: str,
    allowed: bool,
    sqlite_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with LocalStack(database_url=sqlite_url, **settings) as stack:
        harness = Harness(stack)
        harness.slack.set_usergroup("S0ONCALL", [USER_ID])
        harness.ibm.add(ScriptedJob(JOB))
        with caplog.at_level(logging.WARNING):
            await stack.command(f"watch {JOB}", user=user)
            await harness.until(lambda: cards(harness) == 1 or harness.slack.responses())

        assert watched(harness) is allowed
        if not allowed:
            assert "not allowed" in str(harness.slack.responses()[-1].params) or (
                "not available in this channel" in str(harness.slack.responses()[-1].params)
            )
            assert any("request denied" in record.getMessage() for record in caplog.records)


async def test_admin_users_guard_changes(sqlite_url: str) -> None:
    async with LocalStack(database_url=sqlite_url, admin_users=["U0ADMIN"]) as stack:
        harness = Harness(stack)
        harness.ibm.add(ScriptedJob(JOB))
        await stack.command(f"watch {JOB}")
        await harness.until(lambda: cards(harness) == 1)

        await stack.command(f"unwatch {JOB}")
        await harness.replies(1)
        still_watched = watched(harness) and harness.watch_status(JOB) == "active"
        await stack.command(f"unwatch {JOB}", user="U0ADMIN")
        await harness.replies(2)

        assert still_watched
        assert harness.watch_status(JOB) == "unwatched"


async def test_audit_log_covers_changes(harness: Harness) -> None:
    harness.ibm.add(ScriptedJob(JOB, queue_positions=(3, 0), run_seconds=600))
    stack = harness.stack
    await stack.command(f"watch {JOB}")
    await harness.until(lambda: len(harness.slack.posts(CHANNEL_ID)) == 1)
    # Bolt runs commands concurrently after ack(), so wait for each reply in turn.
    for count, text in enumerate(
        (f"watch {JOB} 5", f"snooze {JOB} 30m", "settings final thread", f"unwatch {JOB}"),
        start=1,
    ):
        await stack.command(text)
        await harness.replies(count)
    assert stack.service is not None
    await harness.until(
        lambda: len(stack.service.store.settings.audit_log(TEAM_ID, CHANNEL_ID)) >= 5
    )

    actions = {
        entry.action for entry in stack.service.store.settings.audit_log(TEAM_ID, CHANNEL_ID)
    }

    assert {"watch", "thresholds", "snooze", "unwatch"} <= actions
    assert len(actions - {"watch", "thresholds", "snooze", "unwatch"}) == 1  # the setting


async def test_health_and_metrics(fault_harness: Harness) -> None:
    harness = fault_harness
    harness.ibm.add(ScriptedJob(JOB, queue_positions=(2, 0)))
    await harness.stack.command(f"watch {JOB}")
    await harness.settle(JOB)
    port = harness.stack.service.port  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    http = harness.stack._http

    healthy = await http.get(f"{base}/healthz")
    harness.ibm.fail_next(500, 10**6)
    await harness.until(lambda: harness.alerts(OPERATOR_CHANNEL) != [], timeout=15)
    degraded = await http.get(f"{base}/healthz")
    metrics = (await http.get(f"{base}/metrics")).text
    harness.ibm.clear_faults()

    assert healthy.status_code == 200
    assert set(healthy.json()) >= {
        "database",
        "scheduler_last_tick",
        "ibm_api",
        "ibm_api_last_success",
        "pending_alerts",
    }
    assert degraded.status_code == 503
    assert degraded.json()["ibm_api"] == "degraded"
    assert 'jobmetrics_polls_total{outcome="ok"}' in metrics
    assert 'jobmetrics_poll_errors_total{kind="unavailable"}' in metrics
    assert "jobmetrics_alerts_pending" in metrics
    assert "jobmetrics_alerts_sent_total" in metrics
    assert "jobmetrics_poll_lateness_seconds_bucket" in metrics
