"""The Slack Web API stand-in, driven by the real slack_sdk clients."""

from __future__ import annotations

import json
import threading
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

from bot.domain.events import EventKind, JobEvent
from bot.domain.snapshot import JobState
from bot.sim.slack_api import SlackStandIn
from bot.slack import messages
from tests.slack.conftest import JOB, make_snapshot

TOKEN = "xoxb-test-token"


def client_for(slack: SlackStandIn, **kwargs: object) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.url, **kwargs)  # type: ignore[arg-type]


def test_url_is_loopback_base(slack: SlackStandIn) -> None:
    assert slack.url.startswith("http://127.0.0.1:")
    assert slack.url.endswith("/api/")


def test_post_message_recorded(slack: SlackStandIn) -> None:
    message = messages.job_metrics_message(make_snapshot(JobState.QUEUED))

    response = client_for(slack).chat_postMessage(channel="C1", **message.as_kwargs())

    assert response["ok"] is True
    assert response["channel"] == "C1"
    assert response["message"]["text"] == message.text
    [call] = slack.posts("C1")
    assert call.params["text"] == message.text
    assert call.params["blocks"] == message.blocks
    assert "Authorization" not in call.headers
    assert TOKEN not in repr(call)


def test_post_ts_unique_increasing(slack: SlackStandIn) -> None:
    client = client_for(slack)

    stamps = [client.chat_postMessage(channel="C1", text=str(n))["ts"] for n in range(3)]

    assert stamps[0] == "1700000000.000100"
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 3


def test_posts_filtered_by_channel(slack: SlackStandIn) -> None:
    client = client_for(slack)
    client.chat_postMessage(channel="C1", text="one")
    client.chat_postMessage(channel="C2", text="two")

    assert [call.params["text"] for call in slack.posts("C2")] == ["two"]
    assert len(slack.posts()) == 2


def test_update_existing_message(slack: SlackStandIn) -> None:
    client = client_for(slack)
    ts = client.chat_postMessage(channel="C1", text="before")["ts"]

    response = client.chat_update(channel="C1", ts=ts, text="after")

    assert response["text"] == "after"
    assert slack.calls("chat.update")[0].params["ts"] == ts


def test_update_unknown_message_fails(slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as caught:
        client_for(slack).chat_update(channel="C1", ts="1.000000", text="x")

    assert caught.value.response["error"] == "message_not_found"


def test_post_without_text_fails(slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as caught, pytest.warns(UserWarning, match="`text`"):
        client_for(slack).chat_postMessage(channel="C1")

    assert caught.value.response["error"] == "no_text"


def test_too_many_blocks_fails(slack: SlackStandIn) -> None:
    blocks = [{"type": "divider"}] * 51

    with pytest.raises(SlackApiError) as caught:
        client_for(slack).chat_postMessage(channel="C1", text="x", blocks=blocks)

    assert caught.value.response["error"] == "invalid_blocks"


def test_ephemeral_auth_and_info(slack: SlackStandIn) -> None:
    client = client_for(slack)

    ephemeral = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    identity = client.auth_test()
    info = client.conversations_info(channel="C7")

    assert ephemeral["message_ts"]
    assert identity["user_id"] == "U0SIMBOT"
    assert info["channel"]["id"] == "C7"
    assert slack.calls("conversations.info")[0].params == {"channel": "C7"}


def test_unknown_method_ok(slack: SlackStandIn) -> None:
    response = client_for(slack).api_call("reactions.add", json={"name": "eyes"})

    assert response["ok"] is True
    assert slack.calls("reactions.add")[0].params == {"name": "eyes"}


def test_form_body_parsed(slack: SlackStandIn) -> None:
    blocks = messages.help_message().blocks

    client_for(slack).api_call(
        "chat.postMessage", data={"channel": "C1", "text": "form", "blocks": json.dumps(blocks)}
    )

    [call] = slack.calls("chat.postMessage")
    assert call.ok
    assert call.params["text"] == "form"
    assert call.params["blocks"] == blocks
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_missing_token_not_authed(slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as caught:
        WebClient(base_url=slack.url).auth_test()

    assert caught.value.response["error"] == "not_authed"


def test_channel_error_injected(slack: SlackStandIn) -> None:
    slack.fail_channel("C9", "not_in_channel")
    client = client_for(slack)

    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C9", text="x")

    assert caught.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True
    assert slack.posts("C9") == []
    assert slack.calls("chat.postMessage")[0].ok is False


def test_invalid_auth_injected(slack: SlackStandIn) -> None:
    slack.fail_auth()

    with pytest.raises(SlackApiError) as caught:
        client_for(slack).auth_test()

    assert caught.value.response["error"] == "invalid_auth"


def test_rate_limit_raises_without_handler(slack: SlackStandIn) -> None:
    slack.rate_limit_next(1, retry_after=7)
    client = client_for(slack)

    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C1", text="x")

    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True


def test_rate_limit_retried_by_handler(slack: SlackStandIn) -> None:
    slack.rate_limit_next(1, retry_after=0)
    client = client_for(slack, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])

    response = client.chat_postMessage(channel="C1", text="x")

    assert response["ok"] is True
    statuses = [call.status for call in slack.calls("chat.postMessage")]
    assert statuses == [429, 200]
    assert len(slack.posts("C1")) == 1


def test_server_error_injected(slack: SlackStandIn) -> None:
    slack.fail_next(2, status=503)
    client = client_for(slack)

    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            client.chat_postMessage(channel="C1", text="x")
        assert caught.value.response.status_code == 503

    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True


def test_clear_faults(slack: SlackStandIn) -> None:
    slack.fail_channel("C1")
    slack.fail_auth()
    slack.clear_faults()

    assert client_for(slack).chat_postMessage(channel="C1", text="x")["ok"] is True


async def test_async_client_posts(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=slack.url)
    alert = messages.alert_message(
        JobEvent(kind=EventKind.STARTED, job_id=JOB, key="k"), mention="<!here>"
    )

    response = await client.chat_postMessage(channel="C1", **alert.as_kwargs())

    assert response["ts"] == "1700000000.000100"
    assert slack.posts("C1")[0].params["text"].startswith("<!here> ")


async def test_async_client_rate_limited(slack: SlackStandIn) -> None:
    slack.rate_limit_next(1, retry_after=2)
    client = AsyncWebClient(token=TOKEN, base_url=slack.url)

    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C1", text="x")

    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["retry-after"] == "2"


def test_response_url_recorded(slack: SlackStandIn) -> None:
    url = slack.response_url("cmd-1")

    response = WebhookClient(url).send(text="only you", response_type="ephemeral")

    assert response.status_code == 200
    [call] = slack.responses()
    assert call.path == "/respond/cmd-1"
    assert call.params == {"text": "only you", "response_type": "ephemeral"}


def test_wait_for_other_thread(slack: SlackStandIn) -> None:
    def post_later() -> None:
        time.sleep(0.1)
        client_for(slack).chat_postMessage(channel="C1", text="late")

    threading.Thread(target=post_later).start()

    calls = slack.wait_for(lambda calls: any(c.method == "chat.postMessage" for c in calls), 5)

    assert calls[-1].params["text"] == "late"


def test_wait_for_timeout(slack: SlackStandIn) -> None:
    with pytest.raises(TimeoutError, match="Condition not met"):
        slack.wait_for(lambda calls: bool(calls), timeout=0.05)


def test_concurrent_posts_all_recorded(slack: SlackStandIn) -> None:
    def post(index: int) -> None:
        client_for(slack).chat_postMessage(channel="C1", text=f"m{index}")

    threads = [threading.Thread(target=post, args=(index,)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(slack.posts("C1")) == 20
    assert len({call.response["ts"] for call in slack.posts("C1")}) == 20


def test_transcript_readable(slack: SlackStandIn) -> None:
    client = client_for(slack)
    card = messages.job_metrics_message(make_snapshot(JobState.QUEUED, qiskit_version="<!x>"))
    ts = client.chat_postMessage(channel="C1", **card.as_kwargs())["ts"]
    client.chat_postMessage(channel="C1", text="<!here> reply &amp; more", thread_ts=ts)
    WebhookClient(slack.response_url("r1")).send(text="Stopped watching")
    slack.fail_channel("C9")
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C9", text="never shown")

    transcript = slack.transcript()

    assert f"[#C1 ts={ts}]" in transcript
    assert f"JOB {JOB.upper()}" in transcript
    assert "Created: 2025-09-12T10:00:00Z" in transcript
    assert "<!date" not in transcript
    assert "Position in queue: 4" in transcript
    assert "[button: Watch this job]" in transcript
    assert "`<!x>`" in transcript
    assert f"in thread {ts}" in transcript
    assert "@here reply & more" in transcript
    assert "[reply via response_url r1, ephemeral]" in transcript
    assert "never shown" not in transcript


def test_reset_forgets_calls(slack: SlackStandIn) -> None:
    client_for(slack).chat_postMessage(channel="C1", text="x")

    slack.reset()

    assert slack.all_calls() == []


def test_stopped_stand_in_has_no_url() -> None:
    stand_in = SlackStandIn()

    with pytest.raises(RuntimeError, match="not running"):
        _ = stand_in.url
