"""Multi-workspace installs through OAuth: install, per-team tokens, uninstall."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.sim.ibm_api import ScriptedJob
from bot.sim.stack import LocalStack
from bot.storage.models import WatchStatus
from bot.storage.store import WatchKey
from tests.integration.conftest import Harness

FIRST, SECOND = "T0FIRST", "T0SECOND"
CHANNEL = "C0SHARED"
JOB_A = "c5dge2d3rn7breq27i9g"
JOB_B = "d305ck0ocacs73ajagvg"


@pytest.fixture
async def oauth_harness(database_url: str) -> AsyncIterator[Harness]:
    async with LocalStack(
        database_url=database_url,
        poll_interval=0.1,
        slack_client_id="1234.5678",
        slack_client_secret="client-secret-for-tests",
        slack_bot_token=None,
    ) as stack:
        yield Harness(stack)


def job(job_id: str) -> ScriptedJob:
    return ScriptedJob(job_id, queue_positions=(0,), step_seconds=10, run_seconds=30)


def teams_posted_to(harness: Harness, channel: str = CHANNEL) -> list[str]:
    """The workspace of the token behind each post to a channel, oldest first."""
    return [
        call.headers.get("X-Stand-In-Team", "")
        for call in harness.slack.calls("chat.postMessage")
        if call.ok and call.params.get("channel") == channel
    ]


def watch_status(harness: Harness, team: str, job_id: str) -> str | None:
    service = harness.stack.service
    assert service is not None
    watch = service.store.get_watch(WatchKey(team, CHANNEL, job_id))
    return watch.status if watch is not None else None


async def watch_in(harness: Harness, team: str, job_id: str) -> None:
    before = len(harness.slack.posts(CHANNEL))
    await harness.stack.command(f"watch {job_id}", team=team, channel=CHANNEL)
    await harness.until(lambda: len(harness.slack.posts(CHANNEL)) > before)


async def test_install_page_and_redirect_store_installation(oauth_harness: Harness) -> None:
    response = await oauth_harness.stack.install(FIRST)

    service = oauth_harness.stack.service
    assert service is not None and service.oauth is not None
    bot = await service.oauth.installations.async_find_bot(enterprise_id=None, team_id=FIRST)
    assert response.status_code == 200
    assert bot is not None
    assert bot.bot_token.startswith("xoxb-t0first-")
    assert len(oauth_harness.slack.calls("oauth.v2.access")) == 1


async def test_redirect_with_forged_state_is_refused(oauth_harness: Harness) -> None:
    root = oauth_harness.stack.events_url.removesuffix("/slack/events")
    code = oauth_harness.slack.authorization_code(FIRST)

    response = await oauth_harness.stack._http.get(
        f"{root}/slack/oauth_redirect", params={"code": code, "state": "forged"}
    )

    assert response.status_code >= 400
    assert oauth_harness.slack.calls("oauth.v2.access") == []


async def test_two_workspaces_each_use_their_token(oauth_harness: Harness) -> None:
    harness = oauth_harness
    harness.ibm.add(job(JOB_A), job(JOB_B))
    await harness.stack.install(FIRST)
    await harness.stack.install(SECOND)

    await watch_in(harness, FIRST, JOB_A)
    await watch_in(harness, SECOND, JOB_B)
    await harness.settle(JOB_A)
    harness.ibm.advance(15)
    await harness.until(lambda: len(harness.alerts(CHANNEL)) == 2, timeout=15)
    harness.ibm.advance(60)
    await harness.until(lambda: len(harness.alerts(CHANNEL)) == 4, timeout=15)

    assert sorted(harness.alerts(CHANNEL)) == sorted(
        [(JOB_A, "started"), (JOB_A, "finished"), (JOB_B, "started"), (JOB_B, "finished")]
    )
    by_team = {
        (call.params["metadata"]["event_payload"]["job_id"], call.headers["X-Stand-In-Team"])
        for call in harness.slack.calls("chat.postMessage")
        if call.ok and call.params.get("metadata")
    }
    assert by_team == {(JOB_A, FIRST), (JOB_B, SECOND)}


async def test_command_from_uninstalled_workspace_is_not_answered(oauth_harness: Harness) -> None:
    harness = oauth_harness
    harness.ibm.add(job(JOB_A))

    await harness.stack.command(f"watch {JOB_A}", team="T0NEVER", channel=CHANNEL)
    await harness.stack.command("help", team="T0NEVER", channel=CHANNEL)

    assert harness.slack.posts(CHANNEL) == []
    assert watch_status(harness, "T0NEVER", JOB_A) is None


async def test_uninstall_stops_only_that_workspace(oauth_harness: Harness) -> None:
    harness = oauth_harness
    harness.ibm.add(
        ScriptedJob(JOB_A, queue_positions=(0,), step_seconds=10, run_seconds=30),
        ScriptedJob(JOB_B, queue_positions=(0,), step_seconds=10, run_seconds=30),
    )
    await harness.stack.install(FIRST)
    await harness.stack.install(SECOND)
    await watch_in(harness, FIRST, JOB_A)
    await watch_in(harness, SECOND, JOB_B)

    harness.slack.revoke_workspace(SECOND)
    response = await harness.stack.event({"type": "app_uninstalled"}, team=SECOND)
    await harness.until(lambda: watch_status(harness, SECOND, JOB_B) == WatchStatus.UNINSTALLED)
    harness.ibm.advance(60)
    await harness.until(lambda: (JOB_A, "finished") in harness.alerts(CHANNEL), timeout=15)

    service = harness.stack.service
    assert service is not None and service.oauth is not None
    assert response.status_code == 200
    assert watch_status(harness, FIRST, JOB_A) == WatchStatus.FINISHED
    assert harness.alerts(CHANNEL) == [(JOB_A, "finished")]
    assert await service.oauth.installations.async_find_bot(enterprise_id=None, team_id=SECOND) is None
    assert "revoked" not in teams_posted_to(harness)
