"""No token, API key or signing secret reaches a log line or a Slack message."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.demo import admin_scenario, platform_scenario, play
from bot.sim.ibm_api import ScriptedJob
from bot.sim.stack import StackSecrets
from tests.integration.conftest import Harness

JOB = "c5dge2d3rn7breq27i9g"


def secrets_of(harness: Harness) -> list[str]:
    stack = harness.stack
    return [
        stack.bot_token,
        stack.signing_secret,
        stack.ibm.admin_token,
        stack.ibm.api_key,
        *stack.ibm.issued_tokens,
    ]


def everything_visible(harness: Harness, caplog: pytest.LogCaptureFixture) -> str:
    logs = "\n".join(
        record.getMessage() + (caplog.handler.format(record) if record.exc_info else "")
        for record in caplog.records
    )
    slack = json.dumps([call.params for call in harness.slack.all_calls()])
    return logs + slack


async def exercise(harness: Harness) -> None:
    harness.ibm.add(ScriptedJob(JOB, queue_positions=(3, 0), step_seconds=10, run_seconds=10))
    await harness.stack.command(f"watch {JOB} 1")
    await harness.stack.command("cz0000000000notfound")
    await harness.replies(1)
    await harness.settle(JOB)

    harness.ibm.fail_next(401, count=1, job_id=JOB)
    harness.ibm.fail_next(500, count=1, job_id=JOB)
    harness.slack.fail_next(1, status=500)
    harness.ibm.advance(60)
    await harness.until(lambda: (JOB, "finished") in harness.alerts(), timeout=20)


async def check_no_secret_visible(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    await exercise(harness)

    visible = everything_visible(harness, caplog)
    assert len(caplog.records) > 10
    for secret in secrets_of(harness):
        assert secret not in visible


async def test_admin_secrets_stay_hidden(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await check_no_secret_visible(harness, caplog)


async def test_platform_secrets_stay_hidden(
    platform_harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await check_no_secret_visible(platform_harness, caplog)


KNOWN = StackSecrets(
    signing_secret="signing-secret-known-to-the-test-4c1d",
    bot_token="xoxb-bot-token-known-to-the-test-77a0",
    ibm_token="ibm-token-known-to-the-test-2b9e",
    ibm_api_key="ibm-api-key-known-to-the-test-5f13",
)


@pytest.mark.parametrize("scenario", [admin_scenario, platform_scenario])
async def test_demo_shows_no_secret(scenario, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    transcript = io.StringIO()

    succeeded = await play(scenario(), transcript, known_secrets=KNOWN)

    visible = transcript.getvalue() + "\n".join(
        record.getMessage() + (caplog.handler.format(record) if record.exc_info else "")
        for record in caplog.records
    )
    assert succeeded
    assert "every expected alert arrived" in transcript.getvalue()
    for secret in KNOWN.values():
        assert secret not in visible
