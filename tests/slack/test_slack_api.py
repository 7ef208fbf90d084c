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

from bot.domain.cards import CardView
from bot.domain.events import EventKind, JobEvent
from bot.domain.snapshot import JobState
from bot.sim.slack_api import SlackStandIn
from bot.slack import messages
from tests.slack.conftest import CREATED, JOB, make_snapshot

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
    assert f"# Job {JOB}" in transcript
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


# -- conversations.members ----------------------------------------------------------------------

MEMBERS = [f"U{index:04d}" for index in range(5)]


def test_members_paginated(slack: SlackStandIn) -> None:
    slack.set_members("C1", MEMBERS)
    client = client_for(slack)

    pages = []
    cursor = None
    while True:
        response = client.conversations_members(channel="C1", limit=2, cursor=cursor)
        pages.append(response["members"])
        cursor = response["response_metadata"]["next_cursor"]
        if not cursor:
            break

    assert pages == [MEMBERS[0:2], MEMBERS[2:4], MEMBERS[4:5]]
    assert [call.params.get("limit") for call in slack.calls("conversations.members")] == ["2"] * 3


def test_members_sdk_iterator(slack: SlackStandIn) -> None:
    slack.set_members("C1", MEMBERS)

    pages = client_for(slack).conversations_members(channel="C1", limit=3)

    assert [member for page in pages for member in page["members"]] == MEMBERS


def test_members_default_limit_one_page(slack: SlackStandIn) -> None:
    slack.set_members("C1", [f"U{index:04d}" for index in range(150)])

    response = client_for(slack).conversations_members(channel="C1")

    assert len(response["members"]) == 100
    assert response["response_metadata"]["next_cursor"]


def test_members_default_seen_users(slack: SlackStandIn) -> None:
    client = client_for(slack)
    client.chat_postEphemeral(channel="C1", user="U0ALICE", text="only you")
    client.chat_postEphemeral(channel="C2", user="U0BOB", text="only you")
    client.chat_postEphemeral(channel="C1", user="U0ALICE", text="again")

    response = client.conversations_members(channel="C9")

    assert response["members"] == ["U0ALICE", "U0BOB", "U0DEMO"]
    assert response["response_metadata"]["next_cursor"] == ""


def test_members_set_empty_channel(slack: SlackStandIn) -> None:
    slack.set_members("C1", [])

    assert client_for(slack).conversations_members(channel="C1")["members"] == []


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"channel": "C1", "cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"channel": "C1", "cursor": "b2Zmc2V0Ong="}, "invalid_cursor"),
        ({"channel": "C1", "limit": "0"}, "invalid_limit"),
        ({"channel": "C1", "limit": "many"}, "invalid_limit"),
        ({}, "channel_not_found"),
    ],
)
def test_members_invalid_request(slack: SlackStandIn, params: dict[str, str], error: str) -> None:
    with pytest.raises(SlackApiError) as caught:
        client_for(slack).api_call("conversations.members", http_verb="GET", params=params)

    assert caught.value.response["error"] == error


def test_members_channel_fault(slack: SlackStandIn) -> None:
    slack.fail_channel("C1", "channel_not_found")

    with pytest.raises(SlackApiError) as caught:
        client_for(slack).conversations_members(channel="C1")

    assert caught.value.response["error"] == "channel_not_found"


def test_reset_forgets_members(slack: SlackStandIn) -> None:
    slack.set_members("C1", MEMBERS)

    slack.reset()

    assert client_for(slack).conversations_members(channel="C1")["members"] == ["U0DEMO"]


# -- living cards and threads -------------------------------------------------------------------


def card_view(state: JobState, status: str = "active", billed: float = 0.0) -> CardView:
    snapshot = make_snapshot(state, billed_seconds=billed)
    return CardView(
        watch_id=7,
        job_id=JOB,
        snapshot=snapshot,
        thresholds=(60.0,),
        watch_status=status,
        last_checked=CREATED,
    )


def test_update_changes_stored_message(slack: SlackStandIn) -> None:
    client = client_for(slack)
    ts = client.chat_postMessage(channel="C1", text="before", blocks=[])["ts"]
    card = messages.card_message(card_view(JobState.RUNNING))

    client.chat_update(channel="C1", ts=ts, **card.as_kwargs())

    stored = slack.message("C1", ts)
    assert stored["text"] == card.text
    assert stored["blocks"] == card.blocks
    [update] = slack.calls("chat.update")
    assert update.ok
    assert update.params["blocks"] == card.blocks


def test_update_keeps_thread(slack: SlackStandIn) -> None:
    client = client_for(slack)
    parent = client.chat_postMessage(channel="C1", text="card")["ts"]
    reply = client.chat_postMessage(
        channel="C1", text="reply", thread_ts=parent, reply_broadcast=True
    )["ts"]

    client.chat_update(channel="C1", ts=reply, text="reply, edited")

    stored = slack.message("C1", reply)
    assert stored["text"] == "reply, edited"
    assert stored["thread_ts"] == parent
    assert stored["reply_broadcast"] is True


def test_message_unknown_raises(slack: SlackStandIn) -> None:
    with pytest.raises(KeyError, match="No message with ts 1.000000 was posted in channel C1"):
        slack.message("C1", "1.000000")


def test_message_returns_copy(slack: SlackStandIn) -> None:
    ts = client_for(slack).chat_postMessage(channel="C1", text="original")["ts"]

    slack.message("C1", ts)["text"] = "changed by a test"

    assert slack.message("C1", ts)["text"] == "original"


def test_thread_lists_replies(slack: SlackStandIn) -> None:
    client = client_for(slack)
    parent = client.chat_postMessage(channel="C1", text="card")["ts"]
    other = client.chat_postMessage(channel="C1", text="other")["ts"]
    client.chat_postMessage(channel="C1", text="first", thread_ts=parent)
    client.chat_postMessage(channel="C1", text="elsewhere", thread_ts=other)
    client.chat_postMessage(channel="C2", text="other channel", thread_ts=parent)
    client.chat_postMessage(channel="C1", text="second", thread_ts=parent)

    replies = slack.thread("C1", parent)

    assert [call.params["text"] for call in replies] == ["first", "second"]
    assert slack.thread("C1", "9.000000") == []


def test_transcript_folds_living_card(slack: SlackStandIn) -> None:
    client = client_for(slack)
    first = messages.card_message(card_view(JobState.QUEUED))
    ts = client.chat_postMessage(channel="C1", **first.as_kwargs())["ts"]
    started = messages.alert_message(
        JobEvent(
            kind=EventKind.STARTED, job_id=JOB, key="s", snapshot=make_snapshot(JobState.RUNNING)
        )
    )
    client.chat_postMessage(channel="C1", thread_ts=ts, **started.as_kwargs())
    client.chat_update(
        channel="C1", ts=ts, **messages.card_message(card_view(JobState.RUNNING)).as_kwargs()
    )
    client.chat_postMessage(channel="C1", text="unrelated message")
    finished = messages.alert_message(
        JobEvent(
            kind=EventKind.FINISHED, job_id=JOB, key="f", snapshot=make_snapshot(JobState.COMPLETED)
        )
    )
    client.chat_postMessage(
        channel="C1", thread_ts=ts, reply_broadcast=True, **finished.as_kwargs()
    )
    last = messages.card_message(card_view(JobState.COMPLETED, status="finished", billed=93.0))
    client.chat_update(channel="C1", ts=ts, **last.as_kwargs())

    transcript = slack.transcript()

    entries = transcript.split("\n\n")
    assert len(entries) == 2
    card_entry, unrelated = entries
    assert card_entry.startswith(f"[#C1 ts={ts}] card, updated 2 times\n")
    assert "State: Completed" in card_entry
    assert "Watch: finished because the job ended." in card_entry
    assert "State: Queued" not in card_entry
    assert "[button:" not in card_entry
    assert "\n    ↳ reply ts=1700000000.000200\n        Job `" in card_entry
    assert "started running" in card_entry
    assert "\n    ↳ reply ts=1700000000.000400, also sent to channel\n" in card_entry
    assert card_entry.index("started running") < card_entry.index("completed: run time")
    assert "edited" not in transcript
    assert unrelated.startswith("[#C1 ts=1700000000.000300]")
    assert "unrelated message" in unrelated


def test_transcript_card_updated_once(slack: SlackStandIn) -> None:
    client = client_for(slack)
    ts = client.chat_postMessage(channel="C1", text="v1")["ts"]
    client.chat_update(channel="C1", ts=ts, text="v2")

    transcript = slack.transcript()

    assert transcript == f"[#C1 ts={ts}] card, updated 1 time\n    v2"


def test_transcript_keeps_plain_threads(slack: SlackStandIn) -> None:
    client = client_for(slack)
    ts = client.chat_postMessage(channel="C1", text="never updated")["ts"]
    client.chat_postMessage(channel="C1", text="reply", thread_ts=ts, reply_broadcast=True)

    transcript = slack.transcript()

    assert f"[#C1 ts={ts}]\n    never updated" in transcript
    assert f"in thread {ts}, also sent to channel\n    reply" in transcript
    assert "card, updated" not in transcript
