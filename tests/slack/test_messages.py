"""Slack message builders over every job state and event kind."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import time, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.domain.cards import CardView, ThresholdForecast
from bot.domain.channel_settings import ChannelSettings, QuietHours
from bot.domain.events import EventKind, JobEvent
from bot.domain.snapshot import JobState
from bot.slack import messages
from bot.slack.commands import (
    SetFinalPostsCommand,
    SetOncallCommand,
    SetQuietHoursCommand,
    SetThresholdsCommand,
)
from bot.slack.messages import SlackMessage, WatchRow
from tests.slack.conftest import CREATED, JOB, make_snapshot, platform_snapshot

# Any Slack control sequence but a date token, which the builders add themselves.
RAW_MENTION = re.compile(r"<(?!!date\^)[!@#]")


def texts(value: Any) -> Iterator[str]:
    """Every `text` string inside a message's blocks."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            else:
                yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


def joined(message: SlackMessage) -> str:
    return "\n".join([message.text, *texts(message.blocks)])


def assert_valid(message: SlackMessage) -> None:
    """Check the fallback text and Block Kit's limits, then let slack_sdk validate the blocks."""
    assert message.text.strip()
    assert len(message.blocks) <= 50
    for block in message.blocks:
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
    for block in Block.parse_all(message.blocks):
        block.to_dict()
    json.dumps(message.blocks)


def field_value(message: SlackMessage, label: str) -> str:
    for block in message.blocks:
        for field in block.get("fields", []):
            name, _, value = field["text"].partition("\n")
            if name == f"*{label}*":
                return value
    raise AssertionError(f"no field {label!r} in {message.blocks}")


# -- job metrics card -----------------------------------------------------------------------


@pytest.mark.parametrize("state", list(JobState))
def test_metrics_card_every_state(state: JobState) -> None:
    message = messages.job_metrics_message(make_snapshot(state))

    assert_valid(message)
    assert JOB in message.text
    assert messages.describe_state(state) in joined(message)


@pytest.mark.parametrize(
    ("state", "label"),
    [
        (JobState.QUEUED, "Queued"),
        (JobState.RUNNING, "Running"),
        (JobState.COMPLETED, "Completed"),
        (JobState.FAILED, "Failed"),
        (JobState.CANCELLED, "Cancelled"),
        (JobState.ENDED_IN_QUEUE, "cancelled or failed in the queue"),
    ],
)
def test_metrics_card_state_label(state: JobState, label: str) -> None:
    message = messages.job_metrics_message(make_snapshot(state))

    assert label in message.blocks[1]["text"]["text"]


def test_metrics_card_watch_button() -> None:
    message = messages.job_metrics_message(make_snapshot(JobState.RUNNING))

    actions = [block for block in message.blocks if block["type"] == "actions"]
    button = actions[0]["elements"][0]
    assert button["action_id"] == "watch_job"
    assert button["value"] == JOB
    assert button["text"]["text"] == "Watch this job"


def test_metrics_card_usage_fields() -> None:
    message = messages.job_metrics_message(make_snapshot(JobState.COMPLETED))

    assert field_value(message, "Billed seconds") == "93 s"
    assert field_value(message, "Quantum seconds") == "93 s"
    assert field_value(message, "Seconds") == "93 s"
    assert field_value(message, "Executions") == "3,000"
    assert field_value(message, "Circuits") == "3"
    assert field_value(message, "Qubits") == "127 (all 3 circuits)"
    assert field_value(message, "Circuit depths") == "12, 80, 4,003"


def test_metrics_card_none_not_available() -> None:
    snapshot = make_snapshot(
        JobState.RUNNING, billed_seconds=None, executions=None, num_circuits=None, num_qubits=()
    )

    message = messages.job_metrics_message(snapshot)

    for label in ("Billed seconds", "Executions", "Circuits", "Qubits", "Finished", "Run time"):
        assert field_value(message, label) == "not available"
    assert "billed not available" in message.text


def test_metrics_card_zero_billed_shown() -> None:
    message = messages.job_metrics_message(make_snapshot(JobState.RUNNING, billed_seconds=0.0))

    assert field_value(message, "Billed seconds") == "0 s (so far)"


def test_metrics_card_pending_usage_marked() -> None:
    message = messages.job_metrics_message(platform_snapshot(JobState.COMPLETED))

    assert field_value(message, "Billed seconds") == "93 s (usage not final yet)"


def test_metrics_card_final_usage_unmarked() -> None:
    snapshot = platform_snapshot(JobState.COMPLETED, usage_final=True)

    message = messages.job_metrics_message(snapshot)

    assert field_value(message, "Billed seconds") == "93 s"


def test_metrics_card_times() -> None:
    message = messages.job_metrics_message(make_snapshot(JobState.COMPLETED))

    created = field_value(message, "Created")
    assert created == "<!date^1757671200^{date_short_pretty} {time}|2025-09-12T10:00:00Z>"
    assert field_value(message, "Queue wait") == "12 min 00 s"
    assert field_value(message, "Run time") == "1 h 02 min"


def test_metrics_card_queue_fields() -> None:
    message = messages.job_metrics_message(make_snapshot(JobState.QUEUED))

    assert field_value(message, "Position in queue") == "4"
    assert field_value(message, "Position in provider") == "2"
    assert "2025-09-12T11:00:00Z" in field_value(message, "Estimated start")
    assert "2025-09-12T11:05:00Z" in field_value(message, "Estimated completion")


def test_metrics_card_position_zero_next() -> None:
    snapshot = make_snapshot(JobState.QUEUED, position_in_queue=0, position_in_provider=0)

    message = messages.job_metrics_message(snapshot)

    assert field_value(message, "Position in queue") == "next in line"
    assert field_value(message, "Position in provider") == "next in line"


def test_metrics_card_no_queue_after_run() -> None:
    message = messages.job_metrics_message(make_snapshot(JobState.COMPLETED))

    assert "Position in queue" not in joined(message)


def test_metrics_card_reason_and_code() -> None:
    message = messages.job_metrics_message(make_snapshot(JobState.FAILED))

    assert "*Reason:* Ran too long (code 1305)" in joined(message)


def test_metrics_card_qiskit_version_opaque() -> None:
    message = messages.job_metrics_message(make_snapshot(JobState.COMPLETED))

    assert "`qiskit_ibm_runtime-0.40.1*,qiskit-2.1.2*`" in joined(message)


def test_metrics_card_escapes_api_text() -> None:
    snapshot = make_snapshot(
        JobState.FAILED,
        qiskit_version="qiskit-2.1* <!channel>",
        reason="boom <@U123> & <!here>",
        backend="<!everyone>",
        instance="<https://evil.test|click>",
    )

    message = messages.job_metrics_message(snapshot)

    content = joined(message)
    assert not RAW_MENTION.search(content)
    assert "<https://evil" not in content
    assert "`qiskit-2.1* &lt;!channel&gt;`" in content
    assert "boom &lt;@U123&gt; &amp; &lt;!here&gt;" in content


def test_metrics_card_5000_circuits_summarised() -> None:
    depths = tuple(range(1, 5001))
    qubits = tuple(100 + index % 28 for index in range(5000))
    snapshot = make_snapshot(
        JobState.COMPLETED, num_circuits=5000, circuit_depths=depths, num_qubits=qubits
    )

    message = messages.job_metrics_message(snapshot)

    assert_valid(message)
    assert field_value(message, "Circuits") == "5,000"
    depth_summary = field_value(message, "Circuit depths")
    assert depth_summary == "min 1 / median 2,500.5 / max 5,000 over 5,000 circuits"
    assert field_value(message, "Qubits").startswith("min 100 / median")
    assert len(json.dumps(message.blocks)) < 5000


def test_metrics_card_huge_api_text_within_limits() -> None:
    snapshot = make_snapshot(
        JobState.FAILED,
        qiskit_version="<!channel>&" * 2000,
        reason="r" * 10_000,
        caller="c" * 5000,
        program_id="p" * 5000,
        instance="i" * 5000,
    )

    message = messages.job_metrics_message(snapshot)

    assert_valid(message)
    assert not RAW_MENTION.search(joined(message))


# -- alerts -----------------------------------------------------------------------------------


def event(kind: EventKind, **overrides: Any) -> JobEvent:
    fields: dict[str, Any] = {"kind": kind, "job_id": JOB, "key": f"{JOB}:{kind}"}
    fields |= overrides
    return JobEvent(**fields)


ALERT_SNAPSHOTS = {
    EventKind.STARTED: make_snapshot(JobState.RUNNING),
    EventKind.QUEUE_MOVED: make_snapshot(JobState.QUEUED),
    EventKind.THRESHOLD_EXCEEDED: make_snapshot(JobState.RUNNING, billed_seconds=130.0),
    EventKind.FINISHED: make_snapshot(JobState.COMPLETED),
    EventKind.USAGE_FINAL: platform_snapshot(JobState.COMPLETED, usage_final=True),
    EventKind.NOT_FOUND: None,
    EventKind.ACCESS_LOST: None,
    EventKind.ACCESS_RESTORED: make_snapshot(JobState.RUNNING),
}


# Kinds about one job; the API notices to the operator channel name no job.
JOB_KINDS = [kind for kind in EventKind if not kind.value.startswith("api_")]


@pytest.mark.parametrize("kind", JOB_KINDS)
def test_alert_every_kind(kind: EventKind) -> None:
    alert = event(
        kind,
        snapshot=ALERT_SNAPSHOTS[kind],
        threshold_seconds=120.0,
        previous_position=3,
        position=1,
        error_message="HTTP 404 <!channel>",
    )

    message = messages.alert_message(alert)

    assert_valid(message)
    assert JOB in message.text
    assert not RAW_MENTION.search(joined(message))


@pytest.mark.parametrize("kind", [EventKind.API_DEGRADED, EventKind.API_RECOVERED])
def test_api_notice_names_no_job(kind: EventKind) -> None:
    notice = JobEvent(kind=kind, job_id="", key=kind.value, error_message="HTTP 500 <!channel>")

    message = messages.alert_message(notice)

    assert_valid(message)
    assert "IBM Quantum API" in message.text
    assert "Details:" not in joined(message)
    assert not RAW_MENTION.search(joined(message))


@pytest.mark.parametrize("kind", JOB_KINDS)
def test_alert_without_snapshot(kind: EventKind) -> None:
    message = messages.alert_message(event(kind))

    assert_valid(message)
    assert JOB in message.text


@pytest.mark.parametrize("mention", ["<!here>", "<@U123ABC>", "<!subteam^S123ABC>"])
def test_alert_mention_unescaped(mention: str) -> None:
    alert = event(EventKind.THRESHOLD_EXCEEDED, snapshot=ALERT_SNAPSHOTS[EventKind.STARTED])

    message = messages.alert_message(alert, mention=mention)

    assert message.text.startswith(mention + " ")
    assert message.blocks[0]["text"]["text"].startswith(mention + " ")


@pytest.mark.parametrize("state", [JobState.RUNNING, JobState.COMPLETED])
def test_started_alert_never_mentions_billing(state: JobState) -> None:
    alert = event(EventKind.STARTED, snapshot=platform_snapshot(state, billed_seconds=12.0))

    message = messages.alert_message(alert)

    assert "started running on `ibm_torino`" in message.text
    assert "bill" not in joined(message).lower()
    assert "queue wait: 12 min 00 s" in joined(message).lower()


def test_queue_alert_from_to() -> None:
    alert = event(EventKind.QUEUE_MOVED, previous_position=7, position=3)

    message = messages.alert_message(alert)

    assert "moved in the queue: 7 → 3" in message.text


def test_queue_alert_next_in_line() -> None:
    alert = event(EventKind.QUEUE_MOVED, previous_position=2, position=0)

    message = messages.alert_message(alert)

    assert "2 → next in line" in message.text


def test_queue_alert_first_position() -> None:
    message = messages.alert_message(event(EventKind.QUEUE_MOVED, position=0))

    assert "is next in line in the queue" in message.text


def test_queue_alert_provider_and_estimate() -> None:
    alert = event(EventKind.QUEUE_MOVED, snapshot=make_snapshot(JobState.QUEUED), position=4)

    content = joined(messages.alert_message(alert))

    assert "Position in provider: 2." in content
    assert "Estimated start: <!date^" in content


def test_threshold_alert_billed_vs_threshold() -> None:
    alert = event(
        EventKind.THRESHOLD_EXCEEDED,
        snapshot=make_snapshot(JobState.RUNNING, billed_seconds=130.0),
        threshold_seconds=120.0,
    )

    message = messages.alert_message(alert)

    assert "billed 130 s (2 min 10 s) (so far), threshold 120 s (2 min 00 s)" in message.text
    assert alert.is_usage_alert


def test_finished_alert_completed() -> None:
    alert = event(EventKind.FINISHED, snapshot=make_snapshot(JobState.COMPLETED))

    message = messages.alert_message(alert)

    assert "completed: run time 1 h 02 min, billed 93 s." in message.text


def test_finished_alert_pending_usage() -> None:
    alert = event(EventKind.FINISHED, snapshot=platform_snapshot(JobState.COMPLETED))

    content = joined(messages.alert_message(alert))

    assert "usage not final yet" in content
    assert "the final billed time follows" in content


@pytest.mark.parametrize(
    ("state", "verb"), [(JobState.FAILED, "failed"), (JobState.CANCELLED, "was cancelled")]
)
def test_finished_alert_reason(state: JobState, verb: str) -> None:
    alert = event(EventKind.FINISHED, snapshot=make_snapshot(state))

    message = messages.alert_message(alert)

    assert f"{verb}: Ran too long (code 1305)." in message.text
    assert "Billed: 41.5 s." in joined(message)


def test_finished_alert_no_reason() -> None:
    snapshot = make_snapshot(JobState.FAILED, reason=None, reason_code=None)

    message = messages.alert_message(event(EventKind.FINISHED, snapshot=snapshot))

    assert "failed: IBM Quantum gave no reason." in message.text


def test_finished_alert_ended_in_queue() -> None:
    alert = event(EventKind.FINISHED, snapshot=make_snapshot(JobState.ENDED_IN_QUEUE))

    message = messages.alert_message(alert)

    assert "finished without running: cancelled or failed while queued" in message.text
    assert "Time in the queue: 1 h 14 min." in joined(message)


def test_usage_final_alert_figure() -> None:
    snapshot = platform_snapshot(JobState.COMPLETED, usage_final=True, billed_seconds=95.25)

    message = messages.alert_message(event(EventKind.USAGE_FINAL, snapshot=snapshot))

    assert "Final usage of job" in message.text
    assert "billed 95.25 s" in message.text


def test_not_found_alert_explains() -> None:
    alert = event(EventKind.NOT_FOUND, error_message="Job not found <b>")

    content = joined(messages.alert_message(alert))

    assert "Stopped watching" in content
    assert "another instance or region" in content
    assert "Job not found &lt;b&gt;" in content


def test_access_lost_alert_explains() -> None:
    content = joined(messages.alert_message(event(EventKind.ACCESS_LOST)))

    assert "paused" in content
    assert "token" in content


def test_access_restored_alert() -> None:
    message = messages.alert_message(event(EventKind.ACCESS_RESTORED))

    assert "restored" in message.text


# -- command replies --------------------------------------------------------------------------


def test_watch_confirmation_thresholds() -> None:
    message = messages.watch_confirmation(JOB, (300.0, 90.0), make_snapshot(JobState.QUEUED))

    assert_valid(message)
    content = joined(message)
    assert message.text == f"Watching job `{JOB}` in this channel."
    assert "passes 90 s, 300 s (5 min 00 s)" in content
    assert "Now: queued, position in queue 4." in content


def test_watch_confirmation_no_threshold() -> None:
    message = messages.watch_confirmation(JOB, (), None)

    assert_valid(message)
    assert "no billed-time threshold" in joined(message)


def test_unwatch_confirmation() -> None:
    assert "Stopped watching" in messages.unwatch_confirmation(JOB).text
    assert "was not watched" in messages.unwatch_confirmation(JOB, removed=False).text


def test_watch_list_empty() -> None:
    message = messages.watch_list([])

    assert_valid(message)
    assert "No jobs are watched" in message.text


def test_watch_list_rows() -> None:
    rows = [
        WatchRow(JOB, "running", "active", (90.0,), CREATED, None),
        WatchRow("c5dge2d3rn7breq27i9g", None, "paused", (), None, "HTTP 401 <!channel>"),
    ]

    message = messages.watch_list(rows)

    assert_valid(message)
    content = joined(message)
    assert f"`{JOB}`: running, watch active, thresholds 90 s" in content
    assert "not checked yet, watch paused, thresholds none, last checked not available" in content
    assert "Last error: HTTP 401 &lt;!channel&gt;" in content


def test_watch_list_storage_rows() -> None:
    row = SimpleNamespace(
        id=1,
        job_id=JOB,
        status="active",
        job_state="ended_in_queue",
        thresholds=[60.0],
        last_polled_at=CREATED + timedelta(seconds=5),
        last_error=None,
        undeliverable="not_in_channel",
    )

    content = joined(messages.watch_list([row]))

    assert "finished without running" in content
    assert "2025-09-12T10:00:05Z" in content
    assert "Alerts cannot be posted here: not_in_channel" in content


def test_watch_list_many_rows_within_limits() -> None:
    rows = [
        WatchRow(f"job{index:017d}", "queued", "active", (60.0, 3600.0), CREATED, "e" * 400)
        for index in range(2000)
    ]

    message = messages.watch_list(rows)

    assert_valid(message)
    assert message.text == "Jobs watched in this channel: 2,000."
    assert "more not shown" in message.blocks[-1]["elements"][0]["text"]


def test_help_message() -> None:
    message = messages.help_message()

    assert_valid(message)
    content = joined(message)
    for subcommand in ("watch", "unwatch", "list", "help"):
        assert f"/jobmetrics {subcommand}" in content
    assert "&lt;job ID or link&gt;" in content


def test_usage_error_message() -> None:
    message = messages.usage_error("Unknown subcommand `x`.\n\nusage <here>")

    assert_valid(message)
    assert message.text == "Unknown subcommand `x`."
    assert "usage &lt;here&gt;" in joined(message)


def test_error_message_escaped() -> None:
    message = messages.error_message("Job <!channel> not found & gone")

    assert_valid(message)
    assert message.text == "Job &lt;!channel&gt; not found &amp; gone"


def test_error_message_empty_text() -> None:
    assert messages.error_message("  ").text.strip()


# -- living card ------------------------------------------------------------------------------

WATCH_STATUSES = ["active", "paused", "finished", "stopped", "unwatched"]
LAST_CHECKED = CREATED + timedelta(hours=2)


def card(snapshot: Any = None, **overrides: Any) -> CardView:
    fields: dict[str, Any] = {
        "watch_id": 42,
        "job_id": JOB,
        "snapshot": snapshot,
        "thresholds": (60.0,),
        "watch_status": "active",
        "last_checked": LAST_CHECKED,
    }
    fields |= overrides
    return CardView(**fields)


def section_texts(message: SlackMessage) -> list[str]:
    return [block["text"]["text"] for block in message.blocks if block["type"] == "section"]


def buttons(message: SlackMessage) -> list[dict[str, Any]]:
    actions = [block for block in message.blocks if block["type"] == "actions"]
    return [element for block in actions for element in block["elements"]]


@pytest.mark.parametrize("status", WATCH_STATUSES)
@pytest.mark.parametrize("state", list(JobState))
def test_card_every_status_and_state(status: str, state: JobState) -> None:
    message = messages.card_message(card(make_snapshot(state), watch_status=status))

    assert_valid(message)
    assert JOB in message.text
    assert messages.describe_state(state).lower() in message.text
    assert messages.describe_state(state) in section_texts(message)[0]


@pytest.mark.parametrize(
    ("state", "label"),
    [
        (JobState.QUEUED, "*State:* Queued on `ibm_torino`"),
        (JobState.RUNNING, "*State:* Running on `ibm_torino`"),
        (JobState.COMPLETED, "*State:* Completed"),
        (JobState.FAILED, "*State:* Failed"),
        (JobState.CANCELLED, "*State:* Cancelled"),
        (JobState.ENDED_IN_QUEUE, "cancelled or failed in the queue"),
    ],
)
def test_card_state_label(state: JobState, label: str) -> None:
    message = messages.card_message(card(make_snapshot(state)))

    assert label in section_texts(message)[0]


def test_card_before_first_poll() -> None:
    message = messages.card_message(card(None, last_checked=None))

    assert_valid(message)
    assert message.text == f"Job `{JOB}`: not checked yet. Watch active."
    assert "*State:* not checked yet" in joined(message)
    assert "Not checked yet" in joined(message)


def test_card_meter_toward_next_threshold() -> None:
    snapshot = make_snapshot(JobState.RUNNING, billed_seconds=45.0)

    message = messages.card_message(card(snapshot, thresholds=(300.0, 30.0, 60.0)))

    content = joined(message)
    assert "*Billed:* 45 s of 60 s  ▰▰▰▰▰▰▱▱  75%" in content
    assert "*Thresholds passed:* 30 s\n" in content


def test_card_meter_every_threshold_passed() -> None:
    snapshot = make_snapshot(JobState.COMPLETED, billed_seconds=130.0)

    message = messages.card_message(card(snapshot, thresholds=(60.0, 120.0)))

    content = joined(message)
    assert "*Billed:* 130 s (2 min 10 s), past every threshold" in content
    assert "*Thresholds passed:* 60 s, 120 s (2 min 00 s)" in content
    assert "▰" not in content


def test_card_meter_equal_not_passed() -> None:
    snapshot = make_snapshot(JobState.RUNNING, billed_seconds=60.0)

    content = joined(messages.card_message(card(snapshot, thresholds=(60.0,))))

    assert "60 s of 60 s  ▰▰▰▰▰▰▰▰  100%" in content
    assert "Thresholds passed" not in content


def test_card_meter_never_rounds_up() -> None:
    snapshot = make_snapshot(JobState.RUNNING, billed_seconds=59.9)

    content = joined(messages.card_message(card(snapshot, thresholds=(60.0,))))

    assert "▰▰▰▰▰▰▰▱  99%" in content


def test_card_meter_zero_billed() -> None:
    snapshot = make_snapshot(JobState.RUNNING, billed_seconds=0.0)

    content = joined(messages.card_message(card(snapshot, thresholds=(60.0,))))

    assert "*Billed:* 0 s of 60 s  ▱▱▱▱▱▱▱▱  0%" in content


def test_card_without_thresholds() -> None:
    snapshot = make_snapshot(JobState.RUNNING, billed_seconds=12.0)

    content = joined(messages.card_message(card(snapshot, thresholds=())))

    assert "*Billed:* 12 s · no threshold set" in content
    assert "Thresholds none" in content


def test_card_billed_not_available() -> None:
    snapshot = make_snapshot(JobState.RUNNING, billed_seconds=None)

    message = messages.card_message(card(snapshot))

    assert "*Billed:* not available" in joined(message)
    assert "billed" not in message.text


def test_card_queue_position_and_start() -> None:
    message = messages.card_message(card(make_snapshot(JobState.QUEUED)))

    content = joined(message)
    assert "*Position in queue:* 4 · *Estimated start:* <!date^1757674800^" in content
    assert "*Position in provider:* 2" in content


def test_card_position_zero_next_in_line() -> None:
    snapshot = make_snapshot(JobState.QUEUED, position_in_queue=0)

    content = joined(messages.card_message(card(snapshot)))

    assert "*Position in queue:* next in line" in content


def test_card_queue_data_not_available() -> None:
    snapshot = platform_snapshot(
        JobState.QUEUED,
        position_in_queue=None,
        position_in_provider=None,
        estimated_start_at=None,
    )

    content = joined(messages.card_message(card(snapshot)))

    assert "*Position in queue:* not available · *Estimated start:* not available" in content
    assert "Position in provider" not in content


def test_card_running_since() -> None:
    content = joined(messages.card_message(card(make_snapshot(JobState.RUNNING))))

    assert "*Running since:* <!date^1757671920^{date_short_pretty} {time}|" in content
    assert "*Queue wait:* 12 min 00 s" in content


def test_card_final_run_time() -> None:
    content = joined(messages.card_message(card(make_snapshot(JobState.COMPLETED))))

    assert "*Run time:* 1 h 02 min · *Finished:* <!date^" in content
    assert "Position in queue" not in content


def test_card_ended_in_queue_wait() -> None:
    snapshot = make_snapshot(JobState.ENDED_IN_QUEUE)

    content = joined(messages.card_message(card(snapshot, watch_status="finished")))

    assert "*Time in the queue:* 1 h 14 min" in content


def test_card_failure_reason() -> None:
    content = joined(messages.card_message(card(make_snapshot(JobState.FAILED))))

    assert "*Reason:* Ran too long (code 1305)" in content


@pytest.mark.parametrize(
    ("snapshot", "pending"),
    [
        (platform_snapshot(JobState.RUNNING, billed_seconds=5.0), True),
        (platform_snapshot(JobState.COMPLETED), True),
        (platform_snapshot(JobState.COMPLETED, usage_final=True), False),
        (make_snapshot(JobState.COMPLETED), False),
    ],
)
def test_card_usage_not_final(snapshot: Any, pending: bool) -> None:
    content = joined(messages.card_message(card(snapshot)))

    assert ("Usage not final yet" in content) is pending


def test_card_forecast_shown() -> None:
    forecast = ThresholdForecast(300.0, CREATED + timedelta(hours=3))
    snapshot = make_snapshot(JobState.RUNNING, billed_seconds=45.0)

    content = joined(messages.card_message(card(snapshot, forecast=forecast)))

    assert "*Next threshold* 300 s (5 min 00 s) likely crossed around <!date^1757682000^" in content


@pytest.mark.parametrize("status", ["paused", "finished", "stopped", "unwatched"])
def test_card_forecast_only_active(status: str) -> None:
    forecast = ThresholdForecast(300.0, CREATED + timedelta(hours=3))
    snapshot = make_snapshot(JobState.RUNNING, billed_seconds=45.0)

    message = messages.card_message(card(snapshot, forecast=forecast, watch_status=status))

    assert "Next threshold" not in joined(message)


@pytest.mark.parametrize(
    ("status", "line", "summary"),
    [
        ("active", "Each change is posted as a reply in this thread.", "Watch active."),
        ("paused", "paused because IBM Quantum denied access", "Watch paused"),
        ("stopped", "stopped because IBM Quantum returned not found", "returned not found"),
        ("finished", "finished because the job ended", "Watch finished."),
        ("unwatched", "stopped by a user", "Watch stopped by a user."),
    ],
)
def test_card_watch_status(status: str, line: str, summary: str) -> None:
    message = messages.card_message(card(make_snapshot(JobState.RUNNING), watch_status=status))

    assert line in joined(message)
    assert summary in message.text


def test_card_unknown_status_escaped() -> None:
    message = messages.card_message(card(watch_status="<!channel> odd"))

    assert_valid(message)
    assert "*Watch:* &lt;!channel&gt; odd" in joined(message)


def test_card_snoozed_until() -> None:
    until = CREATED + timedelta(hours=5)

    content = joined(messages.card_message(card(snoozed_until=until)))

    assert "*Alerts snoozed until* <!date^1757689200^{date_short_pretty} {time}|" in content


def test_card_snooze_hidden_when_ended() -> None:
    until = CREATED + timedelta(hours=5)

    message = messages.card_message(card(snoozed_until=until, watch_status="finished"))

    assert "snoozed" not in joined(message)


def test_card_last_error_escaped() -> None:
    message = messages.card_message(card(last_error="HTTP 503 <!channel> & more"))

    assert "*Last error:* HTTP 503 &lt;!channel&gt; &amp; more" in joined(message)


def test_card_last_checked_token() -> None:
    message = messages.card_message(card())

    context = message.blocks[-2]["elements"][0]["text"]
    assert context.startswith("Last checked <!date^1757678400^{date_short_pretty} {time}|")


@pytest.mark.parametrize("status", ["active", "paused"])
def test_card_buttons_while_watched(status: str) -> None:
    message = messages.card_message(card(watch_status=status))

    shown = buttons(message)
    assert [button["action_id"] for button in shown] == ["card_refresh", "card_snooze", "card_stop"]
    assert [button["text"]["text"] for button in shown] == [
        "Refresh",
        "Snooze 1 h",
        "Stop watching",
    ]
    assert all(button["value"] == "42" for button in shown)


def test_card_stop_confirm_dialog() -> None:
    stop = buttons(messages.card_message(card()))[2]

    assert stop["style"] == "danger"
    assert stop["confirm"]["title"]["text"] == "Stop watching this job?"
    assert JOB in stop["confirm"]["text"]["text"]
    assert stop["confirm"]["confirm"]["text"] == "Stop watching"
    assert stop["confirm"]["deny"]["text"] == "Keep watching"
    assert "confirm" not in buttons(messages.card_message(card()))[0]


@pytest.mark.parametrize("status", ["finished", "stopped", "unwatched"])
def test_card_no_buttons_when_ended(status: str) -> None:
    message = messages.card_message(card(make_snapshot(JobState.COMPLETED), watch_status=status))

    assert buttons(message) == []
    assert not [block for block in message.blocks if block["type"] == "actions"]


def test_card_escapes_api_text() -> None:
    snapshot = make_snapshot(
        JobState.FAILED,
        backend="<!everyone>",
        reason="boom <@U123> & <!here>",
    )

    message = messages.card_message(card(snapshot, last_error="<!channel>"))

    content = joined(message)
    assert not RAW_MENTION.search(content)
    assert "`&lt;!everyone&gt;`" in content
    assert "boom &lt;@U123&gt; &amp; &lt;!here&gt;" in content


def test_card_5000_circuits_within_limits() -> None:
    snapshot = make_snapshot(
        JobState.COMPLETED,
        num_circuits=5000,
        circuit_depths=tuple(range(1, 5001)),
        num_qubits=tuple(100 + index % 28 for index in range(5000)),
        reason="r" * 10_000,
        backend="b" * 5000,
    )
    view = card(
        snapshot,
        job_id="j" * 5000,
        thresholds=tuple(float(value) for value in range(1, 1001)),
        last_error="<!channel>&" * 2000,
    )

    message = messages.card_message(view)

    assert_valid(message)
    assert not RAW_MENTION.search(joined(message))
    assert "Circuits 5,000" in joined(message)
    assert "Thresholds 1 s, 2 s, 3 s, 4 s, 5 s, 6 s, 7 s, 8 s, 9 s, 10 s and 990 more" in joined(
        message
    )
    assert "Depths min 1 / median 2,500.5 / max 5,000 over 5,000 circuits" in joined(message)
    assert len(json.dumps(message.blocks)) < 20_000


def test_alert_reply_names_job_once() -> None:
    alert = event(EventKind.STARTED, snapshot=make_snapshot(JobState.RUNNING))

    message = messages.alert_message(alert)

    context = message.blocks[-1]["elements"][0]["text"]
    assert "Job ID" not in context
    assert context.startswith("State running · Backend `ibm_torino`")
    assert JOB in message.blocks[0]["text"]["text"]


# -- settings, snooze and card actions --------------------------------------------------------

DEFAULTS: dict[str, Any] = {
    "default_thresholds": (300.0,),
    "default_oncall_channel": "C0DEFAULT",
    "default_oncall_mention": "<!here>",
}


def test_settings_defaults_apply() -> None:
    message = messages.channel_settings_message(ChannelSettings(), **DEFAULTS)

    assert_valid(message)
    content = joined(message)
    assert "300 s (5 min 00 s) (deployment default)" in content
    assert "<#C0DEFAULT> (deployment default)" in content
    assert "mentioning `@here` (deployment default)" in content
    assert "<!here>" not in content


def test_settings_channel_values() -> None:
    settings = ChannelSettings(
        thresholds=(60.0, 3600.0),
        oncall_channel="C123ABC",
        oncall_mention="<!subteam^S123|@sre>",
        final_in_channel=False,
        quiet_hours=QuietHours(time(22, 0), time(7, 0), "Europe/Berlin"),
    )

    message = messages.channel_settings_message(settings, **DEFAULTS)

    assert_valid(message)
    content = joined(message)
    assert "60 s, 3,600 s (1 h 00 min) (set for this channel)" in content
    assert "<#C123ABC> (set for this channel)" in content
    assert "mentioning the user group @sre (S123) (set for this channel)" in content
    assert "<!subteam" not in content
    assert "posted only in the card's thread" in content
    assert "22:00-07:00 Europe/Berlin" in content


def test_settings_thresholds_none() -> None:
    message = messages.channel_settings_message(ChannelSettings(thresholds=()), **DEFAULTS)

    assert "*Thresholds of new watches:* none (set for this channel)" in joined(message)


def test_settings_oncall_off() -> None:
    defaults = DEFAULTS | {"default_oncall_channel": None, "default_oncall_mention": None}

    message = messages.channel_settings_message(ChannelSettings(), **defaults)

    assert "*On-call:* off" in joined(message)


@pytest.mark.parametrize(
    ("mention", "label"),
    [
        ("<@U123ABC>", "the user U123ABC"),
        ("<@U123ABC|alice>", "the user @alice (U123ABC)"),
        ("<!subteam^S123>", "the user group S123"),
        ("<!subteam^S123|@sre>", "the user group @sre (S123)"),
        ("<!here>", "`@here`"),
    ],
)
def test_settings_mention_notifies_no_one(mention: str, label: str) -> None:
    settings = ChannelSettings(oncall_channel="C1", oncall_mention=mention)

    content = joined(messages.channel_settings_message(settings, **DEFAULTS))

    assert f"mentioning {label} (set for this channel)" in content
    assert mention not in content


def test_settings_show_how_to_change() -> None:
    content = joined(messages.channel_settings_message(ChannelSettings(), **DEFAULTS))

    assert "Change: `/jobmetrics settings thresholds &lt;threshold ...&gt; | none`" in content
    assert "Change: `/jobmetrics settings oncall &lt;#channel&gt;" in content
    assert "Change: `/jobmetrics settings final thread | channel`" in content
    assert "Change: `/jobmetrics settings quiet &lt;HH:MM-HH:MM&gt; [time zone] | off`" in content


@pytest.mark.parametrize(
    ("command", "description"),
    [
        (SetThresholdsCommand((60.0, 300.0)), "now get 60 s, 300 s (5 min 00 s)."),
        (SetThresholdsCommand(()), "without thresholds now get none."),
        (
            SetOncallCommand("C123ABC", "<@U1|bob>"),
            "threshold alerts also go to <#C123ABC>, mentioning the user @bob (U1).",
        ),
        (SetOncallCommand(None, None), "on-call routing is removed"),
        (SetFinalPostsCommand(True), "also sent to the channel"),
        (SetFinalPostsCommand(False), "posted only in the card's thread"),
        (
            SetQuietHoursCommand(QuietHours(time(22, 0), time(7, 0), "UTC")),
            "quiet hours are 22:00-07:00 UTC",
        ),
        (SetQuietHoursCommand(None), "quiet hours are off."),
    ],
)
def test_settings_change_described(command: Any, description: str) -> None:
    message = messages.settings_updated(messages.describe_settings_change(command))

    assert_valid(message)
    assert message.text.startswith("Settings updated: ")
    assert description in message.text


def test_snooze_one_job() -> None:
    message = messages.snooze_confirmation([JOB], CREATED + timedelta(hours=1))

    assert_valid(message)
    assert message.text.startswith(f"Alerts of job `{JOB}` are snoozed until <!date^1757674800^")
    assert "snooze &lt;job ID | all&gt; off" in joined(message)


def test_snooze_ended() -> None:
    message = messages.snooze_confirmation([JOB], None)

    assert message.text == f"Alerts of job `{JOB}` are no longer snoozed."


def test_snooze_nothing_watched() -> None:
    message = messages.snooze_confirmation([], CREATED)

    assert_valid(message)
    assert "nothing changed" in message.text


def test_snooze_many_jobs_within_limits() -> None:
    job_ids = [f"job{index:017d}" for index in range(3000)]

    message = messages.snooze_confirmation(job_ids, CREATED)

    assert_valid(message)
    assert message.text.startswith("Alerts of 3,000 jobs are snoozed until")
    assert "more not shown" in joined(message)


def test_action_denied_escaped() -> None:
    message = messages.action_denied("Only members of <#C1> & admins can stop this watch.")

    assert_valid(message)
    assert message.text == "Only members of &lt;#C1&gt; &amp; admins can stop this watch."


def test_watch_stopped_by_user() -> None:
    message = messages.watch_stopped_by("U123ABC", JOB)

    assert_valid(message)
    assert message.text == f"<@U123ABC> stopped watching job `{JOB}`."


def test_watch_stopped_by_odd_user_escaped() -> None:
    message = messages.watch_stopped_by("<!channel>", JOB)

    assert not RAW_MENTION.search(joined(message))
