"""Every user-facing Slack text of the bot, built as Block Kit messages.

Each builder returns a SlackMessage with a fallback `text` (shown in notifications and by
clients without Block Kit) and `blocks`. Text that came from a user or from the IBM API is
escaped, so a job field containing `<!channel>` shows as typed and notifies no one. Messages stay
within Block Kit's limits: 50 blocks, 3,000 characters of section text, 10 fields of at most
2,000 characters, 150 characters of header text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.domain.cards import (
    WATCH_ACTIVE,
    WATCH_FINISHED,
    WATCH_PAUSED,
    WATCH_STOPPED,
    WATCH_UNWATCHED,
    CardView,
)
from bot.domain.channel_settings import ChannelSettings
from bot.domain.events import EventKind, JobEvent
from bot.domain.snapshot import ApiFlavor, JobSnapshot, JobState
from bot.slack.blocks_text import (
    NOT_AVAILABLE,
    code,
    escape,
    format_duration,
    format_number,
    format_seconds,
    slack_date,
    summarise_values,
    truncate,
)
from bot.slack.commands import (
    COMMAND,
    USAGE,
    SetFinalPostsCommand,
    SetOncallCommand,
    SetThresholdsCommand,
    SettingsChangeCommand,
)

WATCH_ACTION_ID = "watch_job"
CARD_REFRESH_ACTION_ID = "card_refresh"
CARD_SNOOZE_ACTION_ID = "card_snooze"
CARD_STOP_ACTION_ID = "card_stop"
CARD_SNOOZE_SECONDS = 3600.0
# Segments of the billed-time meter on a card.
METER_WIDTH = 8
# The parser allows 10 thresholds per watch, but stored rows may contain more. Lists stop here.
MAX_THRESHOLDS_SHOWN = 10

_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+", re.ASCII)
_USER_ID = re.compile(r"[UW][A-Z0-9]+", re.ASCII)
_MENTION_TOKEN = re.compile(r"<[@!](?P<target>[^|<>]+)(?:\|(?P<label>[^<>]*))?>")

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_JOB_ID_SHOWN = 80
# Long API texts (reasons, qiskit_version, errors) are cut well below the section limit, so
# one odd field never pushes the rest of a message out.
MAX_API_TEXT = 500

STATE_LABELS = {
    JobState.QUEUED: "Queued",
    JobState.RUNNING: "Running",
    JobState.COMPLETED: "Completed",
    JobState.FAILED: "Failed",
    JobState.CANCELLED: "Cancelled",
    JobState.ENDED_IN_QUEUE: "Finished without running (cancelled or failed in the queue)",
}


@dataclass(frozen=True)
class SlackMessage:
    """A message ready for chat.postMessage, chat.update or respond()."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


@dataclass(frozen=True)
class WatchRow:
    """One line of `/jobmetrics list`.

    `state` is the job's last known JobState value (None before the first poll) and `status`
    the watch's own status, for example active or paused. `undeliverable` is the reason alerts
    cannot be posted in the channel, if they cannot.
    """

    job_id: str
    state: str | None
    status: str
    thresholds: tuple[float, ...] = ()
    last_checked: datetime | None = None
    last_error: str | None = None
    undeliverable: str | None = None


def describe_state(state: JobState) -> str:
    """Return the label users see for a job state."""
    return STATE_LABELS[state]


# ---------------------------------------------------------------------------------------------
# Job metrics card
# ---------------------------------------------------------------------------------------------


def job_metrics_message(snapshot: JobSnapshot) -> SlackMessage:
    """Build the card of `/jobmetrics <id>`: state, usage, timeline, queue and a watch button."""
    job = _job_code(snapshot.job_id)
    blocks: list[Block] = [
        _header(f"Job {snapshot.job_id}"),
        _section(_state_line(snapshot)),
        _fields_section(_usage_fields(snapshot)),
        _fields_section(_timeline_fields(snapshot)),
    ]

    if snapshot.state is JobState.QUEUED or _has_queue_data(snapshot):
        blocks.append(_fields_section(_queue_fields(snapshot)))
    if snapshot.reason is not None or snapshot.reason_code is not None:
        blocks.append(_section(f"*Reason:* {_reason_text(snapshot)}"))

    blocks.append(_context(_details_line(snapshot)))
    blocks.append(_watch_button(snapshot.job_id))

    text = f"Job {job}: {describe_state(snapshot.state).lower()}, billed {_billed(snapshot)}"
    return _message(text, blocks)


def _state_line(snapshot: JobSnapshot) -> str:
    line = f"*State:* {describe_state(snapshot.state)}"
    if snapshot.backend:
        line += f" on {code(snapshot.backend)}"
    if snapshot.state is JobState.RUNNING:
        line += (
            "\nIBM marks a job as running when its classical pre-processing starts, so it may "
            "not be on the QPU yet."
        )
    return line


def _usage_fields(snapshot: JobSnapshot) -> list[tuple[str, str]]:
    return [
        ("Billed seconds", _billed(snapshot)),
        ("Quantum seconds", format_seconds(snapshot.quantum_seconds)),
        ("Seconds", format_seconds(snapshot.usage_seconds)),
        ("Circuit execution time", _execution_time(snapshot.circuits_execution_time_ns)),
        ("Executions", _count(snapshot.executions)),
        ("Circuits", _count(snapshot.num_circuits)),
        ("Qubits", summarise_values(snapshot.num_qubits)),
        ("Circuit depths", summarise_values(snapshot.circuit_depths)),
    ]


def _timeline_fields(snapshot: JobSnapshot) -> list[tuple[str, str]]:
    return [
        ("Created", slack_date(snapshot.created_at)),
        ("Running", slack_date(snapshot.running_at)),
        ("Finished", slack_date(snapshot.finished_at)),
        ("Queue wait", format_duration(snapshot.queue_wait)),
        ("Run time", format_duration(snapshot.run_time)),
    ]


def _queue_fields(snapshot: JobSnapshot) -> list[tuple[str, str]]:
    return [
        ("Position in queue", _position(snapshot.position_in_queue)),
        ("Position in provider", _position(snapshot.position_in_provider)),
        ("Estimated start", slack_date(snapshot.estimated_start_at)),
        ("Estimated completion", slack_date(snapshot.estimated_completion_at)),
    ]


def _has_queue_data(snapshot: JobSnapshot) -> bool:
    values = (
        snapshot.position_in_queue,
        snapshot.position_in_provider,
        snapshot.estimated_start_at,
        snapshot.estimated_completion_at,
    )
    return any(value is not None for value in values)


def _details_line(snapshot: JobSnapshot) -> str:
    details = [f"Job ID {_job_code(snapshot.job_id)}"]
    optional = [
        ("Instance", snapshot.instance),
        ("Program", snapshot.program_id),
        ("Caller", snapshot.caller),
    ]
    details += [f"{label} {code(_api_text(value))}" for label, value in optional if value]
    details.append(f"Qiskit version {_opaque(snapshot.qiskit_version)}")
    return " · ".join(details)


def _watch_button(job_id: str) -> ActionsBlock:
    button = ButtonElement(
        text=PlainTextObject(text="Watch this job"),
        action_id=WATCH_ACTION_ID,
        value=job_id,
    )
    return ActionsBlock(elements=[button])


# ---------------------------------------------------------------------------------------------
# Living card of a watched job
# ---------------------------------------------------------------------------------------------


def card_message(card: CardView) -> SlackMessage:
    """Build the status card of a watched job, posted once and then kept current with chat.update.

    Each event is a reply in the card's thread, built by alert_message. The buttons show only
    while the watch is active or paused, because a finished or stopped watch has nothing left to
    act on.
    """
    blocks: list[Block] = [_header(f"Job {card.job_id}"), _section(_card_state(card))]
    progress = _card_progress(card)
    if progress:
        blocks.append(_section("\n".join(progress)))
    blocks.append(_section("\n".join(_card_watch_lines(card))))
    blocks.append(_context(_card_context(card)))

    if card.watch_status in (WATCH_ACTIVE, WATCH_PAUSED):
        blocks.append(_card_actions(card))
    return _message(_card_text(card), blocks)


def _card_state(card: CardView) -> str:
    snapshot = card.snapshot
    if snapshot is None:
        return "*State:* not checked yet"
    line = f"*State:* {describe_state(snapshot.state)}"
    if snapshot.backend:
        line += f" on {code(truncate(snapshot.backend, MAX_API_TEXT))}"
    return line


def _card_progress(card: CardView) -> list[str]:
    snapshot = card.snapshot
    if snapshot is None:
        return []

    lines = [_card_timing(snapshot), f"*Billed:* {_billed_meter(snapshot, card.thresholds)}"]
    passed = _passed_thresholds(snapshot.billed_seconds, card.thresholds)
    if passed:
        lines.append(f"*Thresholds passed:* {_seconds_list(passed)}")
    if _usage_pending(snapshot):
        lines.append(
            "_Usage not final yet:_ IBM Quantum counts usage in batches, so billed time may "
            "still grow."
        )
    if card.forecast is not None and card.watch_status == WATCH_ACTIVE:
        lines.append(_forecast_line(card))
    if snapshot.reason is not None or snapshot.reason_code is not None:
        lines.append(f"*Reason:* {_reason_text(snapshot)}")
    return lines


def _card_timing(snapshot: JobSnapshot) -> str:
    if snapshot.state is JobState.QUEUED:
        line = (
            f"*Position in queue:* {_position(snapshot.position_in_queue)} · "
            f"*Estimated start:* {slack_date(snapshot.estimated_start_at)}"
        )
        if snapshot.position_in_provider is not None:
            line += f" · *Position in provider:* {_position(snapshot.position_in_provider)}"
        return line
    if snapshot.state is JobState.RUNNING:
        return (
            f"*Running since:* {slack_date(snapshot.running_at)} · "
            f"*Queue wait:* {format_duration(snapshot.queue_wait)}"
        )
    if snapshot.state is JobState.ENDED_IN_QUEUE:
        return f"*Time in the queue:* {format_duration(snapshot.queue_wait)}"
    return (
        f"*Run time:* {format_duration(snapshot.run_time)} · "
        f"*Finished:* {slack_date(snapshot.finished_at)}"
    )


def _billed_meter(snapshot: JobSnapshot, thresholds: Sequence[float]) -> str:
    """Show billed time against the lowest threshold not yet passed, as `45 s of 60 s ▰▰▱ 75%`."""
    billed = snapshot.billed_seconds
    if billed is None:
        return NOT_AVAILABLE
    billed_text = format_seconds(billed)
    if not thresholds:
        return f"{billed_text} · no threshold set"

    pending = [threshold for threshold in sorted(thresholds) if threshold >= billed]
    if not pending:
        return f"{billed_text}, past every threshold"

    target = pending[0]
    ratio = max(billed, 0.0) / target if target > 0 else 1.0
    filled = min(METER_WIDTH, math.floor(ratio * METER_WIDTH))
    meter = "▰" * filled + "▱" * (METER_WIDTH - filled)
    return f"{billed_text} of {format_seconds(target)}  {meter}  {math.floor(ratio * 100)}%"


def _passed_thresholds(billed: float | None, thresholds: Sequence[float]) -> list[float]:
    # Strictly above, like the change detector: billed time equal to a threshold has not passed it.
    if billed is None:
        return []
    return [threshold for threshold in sorted(thresholds) if threshold < billed]


def _forecast_line(card: CardView) -> str:
    forecast = card.forecast
    assert forecast is not None
    return (
        f"*Next threshold* {format_seconds(forecast.threshold_seconds)} likely crossed around "
        f"{slack_date(forecast.expected_at)}, estimated from the recent growth of billed time."
    )


_WATCH_STATUS_LINES = {
    WATCH_ACTIVE: "*Watch:* active. Each change is posted as a reply in this thread.",
    WATCH_PAUSED: (
        "*Watch:* paused because IBM Quantum denied access to the job. It resumes by itself "
        "when access returns."
    ),
    WATCH_STOPPED: "*Watch:* stopped because IBM Quantum returned not found for this job.",
    WATCH_FINISHED: "*Watch:* finished because the job ended.",
    WATCH_UNWATCHED: "*Watch:* stopped by a user.",
}


def _card_watch_lines(card: CardView) -> list[str]:
    status = card.watch_status
    fallback = f"*Watch:* {escape(truncate(status, MAX_JOB_ID_SHOWN))}"
    lines = [_WATCH_STATUS_LINES.get(status, fallback)]

    if card.snoozed_until is not None and status in (WATCH_ACTIVE, WATCH_PAUSED):
        lines.append(f"*Alerts snoozed until* {slack_date(card.snoozed_until)}.")
    if card.last_error:
        lines.append(f"*Last error:* {_api_text(card.last_error)}")
    return lines


def _card_context(card: CardView) -> str:
    if card.last_checked is None:
        parts = ["Not checked yet"]
    else:
        parts = [f"Last checked {slack_date(card.last_checked)}"]

    parts.append(f"Thresholds {_seconds_list(card.thresholds)}")
    parts += _circuit_summary(card.snapshot)
    parts.append(f"Details: `{COMMAND} {escape(truncate(card.job_id, MAX_JOB_ID_SHOWN))}`")
    return " · ".join(parts)


def _circuit_summary(snapshot: JobSnapshot | None) -> list[str]:
    if snapshot is None:
        return []
    parts = []
    if snapshot.num_circuits is not None:
        parts.append(f"Circuits {format_number(snapshot.num_circuits)}")
    if snapshot.num_qubits:
        parts.append(f"Qubits {summarise_values(snapshot.num_qubits)}")
    if snapshot.circuit_depths:
        parts.append(f"Depths {summarise_values(snapshot.circuit_depths)}")
    return parts


def _card_actions(card: CardView) -> ActionsBlock:
    value = str(card.watch_id)
    confirm = ConfirmObject(
        title=PlainTextObject(text="Stop watching this job?"),
        text=PlainTextObject(
            text=f"No more updates or alerts are posted for job "
            f"{truncate(card.job_id, MAX_JOB_ID_SHOWN)} in this channel."
        ),
        confirm=PlainTextObject(text="Stop watching"),
        deny=PlainTextObject(text="Keep watching"),
        style="danger",
    )
    buttons = [
        _button("Refresh", CARD_REFRESH_ACTION_ID, value),
        _button("Snooze 1 h", CARD_SNOOZE_ACTION_ID, value),
        ButtonElement(
            text=PlainTextObject(text="Stop watching"),
            action_id=CARD_STOP_ACTION_ID,
            value=value,
            style="danger",
            confirm=confirm,
        ),
    ]
    return ActionsBlock(elements=buttons)


def _button(label: str, action_id: str, value: str) -> ButtonElement:
    return ButtonElement(text=PlainTextObject(text=label), action_id=action_id, value=value)


_WATCH_STATUS_SUMMARIES = {
    WATCH_ACTIVE: "Watch active.",
    WATCH_PAUSED: "Watch paused: IBM Quantum denied access.",
    WATCH_STOPPED: "Watch stopped: IBM Quantum returned not found.",
    WATCH_FINISHED: "Watch finished.",
    WATCH_UNWATCHED: "Watch stopped by a user.",
}


def _card_text(card: CardView) -> str:
    snapshot = card.snapshot
    state = "not checked yet" if snapshot is None else describe_state(snapshot.state).lower()
    text = f"Job {_job_code(card.job_id)}: {state}"
    if snapshot is not None and snapshot.position_in_queue is not None:
        position = snapshot.position_in_queue
        text += ", next in line" if position == 0 else f", position {format_number(position)}"
    if snapshot is not None and snapshot.billed_seconds is not None:
        text += f", billed {format_seconds(snapshot.billed_seconds)}"

    summary = _WATCH_STATUS_SUMMARIES.get(card.watch_status, "")
    return f"{text}. {summary}".strip()


# ---------------------------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------------------------


def alert_message(event: JobEvent, *, mention: str | None = None) -> SlackMessage:
    """Build the alert for one event, with an optional configured mention in front.

    `mention` (for example `<!here>`, `<@U123>` or `<!subteam^S123>`) comes from the
    configuration, which validates it, so it is the one text left unescaped.
    """
    headline, details = _ALERT_BUILDERS[event.kind](event)
    prefix = f"{mention} " if mention else ""

    blocks: list[Block] = [_section(prefix + headline)]
    if details:
        blocks.append(_section("\n".join(details)))
    context = _alert_context(event)
    if context:
        blocks.append(_context(context))
    return _message(prefix + headline, blocks)


def _started_alert(event: JobEvent) -> tuple[str, list[str]]:
    snapshot = event.snapshot
    backend = f" on {code(snapshot.backend)}" if snapshot and snapshot.backend else ""
    headline = f"Job {_job(event)} started running{backend}."

    details = []
    if snapshot is not None:
        details.append(f"Running since {slack_date(snapshot.running_at)}.")
        details.append(f"Queue wait: {format_duration(snapshot.queue_wait)}.")
    details.append(
        "IBM marks a job as running when its classical pre-processing starts, so it may not "
        "be on the QPU yet."
    )
    return headline, details


def _queue_moved_alert(event: JobEvent) -> tuple[str, list[str]]:
    position = _position(event.position)
    if event.previous_position is not None:
        previous = _position(event.previous_position)
        headline = f"Job {_job(event)} moved in the queue: {previous} → {position}."
    elif event.position == 0:
        headline = f"Job {_job(event)} is next in line in the queue."
    else:
        headline = f"Job {_job(event)} is at position {position} in the queue."

    details = []
    snapshot = event.snapshot
    if snapshot is not None and snapshot.position_in_provider is not None:
        details.append(f"Position in provider: {_position(snapshot.position_in_provider)}.")
    if snapshot is not None and snapshot.estimated_start_at is not None:
        details.append(f"Estimated start: {slack_date(snapshot.estimated_start_at)}.")
    return headline, details


def _threshold_alert(event: JobEvent) -> tuple[str, list[str]]:
    snapshot = event.snapshot
    billed = _billed(snapshot) if snapshot else NOT_AVAILABLE
    threshold = format_seconds(event.threshold_seconds)
    headline = f"Job {_job(event)} passed its billed-time threshold: billed {billed}, "
    headline += f"threshold {threshold}."

    details = []
    if snapshot is not None:
        details.append(f"State: {describe_state(snapshot.state)}.")
        if not snapshot.state.is_final:
            details.append("Billed time keeps growing while the job runs.")
    return headline, details


def _finished_alert(event: JobEvent) -> tuple[str, list[str]]:
    snapshot = event.snapshot
    if snapshot is None or not snapshot.state.is_final:
        return f"Job {_job(event)} finished.", []
    if snapshot.state is JobState.ENDED_IN_QUEUE:
        return _ended_in_queue_alert(event, snapshot)

    if snapshot.state is JobState.COMPLETED:
        headline = (
            f"Job {_job(event)} completed: run time {format_duration(snapshot.run_time)}, "
            f"billed {_billed(snapshot)}."
        )
        details = []
    else:
        verb = "failed" if snapshot.state is JobState.FAILED else "was cancelled"
        headline = f"Job {_job(event)} {verb}: {_reason_text(snapshot)}."
        details = [
            f"Run time: {format_duration(snapshot.run_time)}.",
            f"Billed: {_billed(snapshot)}.",
        ]

    if _usage_pending(snapshot):
        details.append("IBM Quantum is still counting usage, so the final billed time follows.")
    return headline, details


def _ended_in_queue_alert(event: JobEvent, snapshot: JobSnapshot) -> tuple[str, list[str]]:
    headline = f"Job {_job(event)} finished without running: cancelled or failed while queued."
    details = [f"Time in the queue: {format_duration(snapshot.queue_wait)}."]
    if snapshot.reason is not None or snapshot.reason_code is not None:
        details.append(f"Reason: {_reason_text(snapshot)}.")
    return headline, details


def _usage_final_alert(event: JobEvent) -> tuple[str, list[str]]:
    snapshot = event.snapshot
    billed = format_seconds(snapshot.billed_seconds) if snapshot else NOT_AVAILABLE
    return f"Final usage of job {_job(event)}: billed {billed}.", []


def _not_found_alert(event: JobEvent) -> tuple[str, list[str]]:
    headline = f"Stopped watching job {_job(event)}: IBM Quantum returned not found."
    details = [
        "The job may belong to another instance or region than the bot uses, or the ID may be "
        f"wrong. Check the ID, then start a new watch with `{COMMAND} watch &lt;job ID&gt;`."
    ]
    details += _error_detail(event)
    return headline, details


def _access_lost_alert(event: JobEvent) -> tuple[str, list[str]]:
    headline = f"Watch of job {_job(event)} paused: IBM Quantum denied access."
    details = [
        "Check the bot's IBM Quantum token or API key and its access to the job's instance. "
        "The watch resumes by itself when access returns."
    ]
    details += _error_detail(event)
    return headline, details


def _access_restored_alert(event: JobEvent) -> tuple[str, list[str]]:
    return f"Access to job {_job(event)} is restored: the watch has resumed.", []


def _api_degraded_alert(event: JobEvent) -> tuple[str, list[str]]:
    headline = "IBM Quantum API degraded: polls are failing, so job alerts may be late."
    details = [
        "The bot keeps retrying with backoff and posts the alerts of jobs that changed once "
        "the API answers again. A notice follows here when it recovers."
    ]
    if event.error_message:
        details.append(_api_text(event.error_message))
    return headline, details


def _api_recovered_alert(event: JobEvent) -> tuple[str, list[str]]:
    details = [_api_text(event.error_message)] if event.error_message else []
    return "IBM Quantum API recovered: polls succeed again.", details


_ALERT_BUILDERS: dict[EventKind, Callable[[JobEvent], tuple[str, list[str]]]] = {
    EventKind.STARTED: _started_alert,
    EventKind.QUEUE_MOVED: _queue_moved_alert,
    EventKind.THRESHOLD_EXCEEDED: _threshold_alert,
    EventKind.FINISHED: _finished_alert,
    EventKind.USAGE_FINAL: _usage_final_alert,
    EventKind.NOT_FOUND: _not_found_alert,
    EventKind.ACCESS_LOST: _access_lost_alert,
    EventKind.ACCESS_RESTORED: _access_restored_alert,
    EventKind.API_DEGRADED: _api_degraded_alert,
    EventKind.API_RECOVERED: _api_recovered_alert,
}


def _alert_context(event: JobEvent) -> str:
    # The headline names the job already, and in a card's thread the card does too.
    parts = []
    snapshot = event.snapshot
    if snapshot is not None:
        parts.append(f"State {describe_state(snapshot.state).lower()}")
        if snapshot.backend:
            parts.append(f"Backend {code(snapshot.backend)}")
    if event.job_id:
        parts.append(f"Details: `{COMMAND} {escape(truncate(event.job_id, MAX_JOB_ID_SHOWN))}`")
    return " · ".join(parts)


def _error_detail(event: JobEvent) -> list[str]:
    if not event.error_message:
        return []
    return [f"IBM Quantum's message: {_api_text(event.error_message)}"]


# ---------------------------------------------------------------------------------------------
# Replies to commands
# ---------------------------------------------------------------------------------------------


def watch_confirmation(
    job_id: str, thresholds: Sequence[float], snapshot: JobSnapshot | None = None
) -> SlackMessage:
    """Confirm a new watch to the user who started it: what will be alerted, and the job's state.

    The job's card in the channel carries everything else, so this is an ephemeral note.
    """
    headline = f"Watching job {_job_code(job_id)} in this channel."
    lines = [
        "The job's card in this channel stays current, and its thread gets a reply when the "
        "job starts, moves in the queue and finishes, " + _threshold_sentence(thresholds)
    ]
    if snapshot is not None:
        lines.append(f"Now: {describe_state(snapshot.state).lower()}{_now_detail(snapshot)}.")

    blocks: list[Block] = [_section(headline), _section("\n".join(lines))]
    return _message(headline, blocks)


def unwatch_confirmation(job_id: str, removed: bool = True) -> SlackMessage:
    """Confirm that a job is no longer watched, or report that it was not watched here."""
    if removed:
        text = f"Stopped watching job {_job_code(job_id)} in this channel."
    else:
        text = f"Job {_job_code(job_id)} was not watched in this channel, so nothing changed."
    return _message(text, [_section(text)])


def watch_list(rows: Sequence[Any]) -> SlackMessage:
    """List the watches of a channel, cut with a count of the rest if Slack's limits require.

    Rows are WatchRow objects, or storage rows that name the same fields `job_state` and
    `last_polled_at`.
    """
    rows = [_as_watch_row(row) for row in rows]
    if not rows:
        text = "No jobs are watched in this channel."
        hint = f"Start one with `{COMMAND} watch &lt;job ID&gt;`."
        return _message(text, [_section(f"{text} {hint}")])

    text = f"Jobs watched in this channel: {format_number(len(rows))}."
    blocks: list[Block] = [_header("Watched jobs")]
    lines = [_watch_row_line(row) for row in rows]
    sections, shown = _pack_lines(lines, max_sections=MAX_BLOCKS - 2)
    blocks += [_section(section) for section in sections]

    if shown < len(rows):
        blocks.append(_context(f"{format_number(len(rows) - shown)} more not shown."))
    return _message(text, blocks)


def help_message() -> SlackMessage:
    """Explain every subcommand, its arguments and the units of thresholds."""
    blocks: list[Block] = [
        _header("jobmetrics help"),
        _section(escape(USAGE)),
        _context(
            "A job link pasted from the IBM Quantum dashboard works wherever a job ID does. "
            "Times show in your own time zone."
        ),
    ]
    return _message(f"How to use {COMMAND}: {COMMAND} help", blocks)


def usage_error(message: str) -> SlackMessage:
    """Build the reply to an invalid command from CommandError.message or similar text.

    Escaping `message` again is safe because escaping is idempotent.
    """
    safe = escape(message)
    first_line = safe.split("\n", 1)[0] or "The command is invalid."
    return _message(first_line, [_section(f":warning: {safe}")])


def error_message(text: str) -> SlackMessage:
    """Reply when IBM Quantum could not provide a job, for example when it is not found."""
    safe = escape(text).strip() or "The request to IBM Quantum failed."
    return _message(safe, [_section(f":warning: {safe}")])


def _threshold_sentence(thresholds: Sequence[float]) -> str:
    if not thresholds:
        return "with no billed-time threshold."
    shown = ", ".join(format_seconds(value) for value in sorted(thresholds))
    return f"and when its billed time passes {shown}."


def _now_detail(snapshot: JobSnapshot) -> str:
    if snapshot.state is JobState.QUEUED and snapshot.position_in_queue is not None:
        return f", position in queue {_position(snapshot.position_in_queue)}"
    if snapshot.billed_seconds is not None:
        return f", billed {_billed(snapshot)}"
    return ""


def _as_watch_row(row: Any) -> WatchRow:
    if isinstance(row, WatchRow):
        return row
    return WatchRow(
        job_id=row.job_id,
        state=row.job_state,
        status=row.status,
        thresholds=tuple(row.thresholds),
        last_checked=row.last_polled_at,
        last_error=row.last_error,
        undeliverable=getattr(row, "undeliverable", None),
    )


def _watch_row_line(row: WatchRow) -> str:
    thresholds = ", ".join(format_seconds(value) for value in row.thresholds) or "none"
    line = (
        f"• {_job_code(row.job_id)}: {_row_state(row.state)}, watch {escape(row.status)}, "
        f"thresholds {thresholds}, last checked {slack_date(row.last_checked)}"
    )
    if row.last_error:
        line += f"\n    Last error: {_api_text(row.last_error)}"
    if row.undeliverable:
        line += f"\n    Alerts cannot be posted here: {_api_text(row.undeliverable)}"
    return line


def _row_state(state: str | None) -> str:
    if state is None:
        return "not checked yet"
    if state in {known.value for known in JobState}:
        return describe_state(JobState(state)).lower()
    return escape(truncate(state, MAX_API_TEXT))


def _pack_lines(lines: list[str], *, max_sections: int) -> tuple[list[str], int]:
    """Join lines into section texts within the length limit.

    Returns the texts and the number of lines they contain.
    """
    sections: list[str] = []
    current = ""
    shown = 0
    for line in lines:
        line = truncate(line, MAX_SECTION_TEXT)
        if current and len(current) + 1 + len(line) > MAX_SECTION_TEXT:
            if len(sections) + 1 == max_sections:
                break
            sections.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
        shown += 1
    sections.append(current)
    return sections, shown


# ---------------------------------------------------------------------------------------------
# Channel settings, snooze and card actions
# ---------------------------------------------------------------------------------------------


def channel_settings_message(
    settings: ChannelSettings,
    *,
    default_thresholds: tuple[float, ...],
    default_oncall_channel: str | None,
    default_oncall_mention: str | None,
) -> SlackMessage:
    """Show a channel's settings, which of them fall back to the deployment's defaults, and the
    command that changes each.

    Mentions are shown as plain labels, so showing the settings notifies no one.
    """
    oncall = _oncall_setting(settings, default_oncall_channel, default_oncall_mention)
    rows = [
        (
            "Thresholds of new watches",
            _thresholds_setting(settings.thresholds, default_thresholds),
            "settings thresholds <threshold ...> | none",
        ),
        ("On-call", oncall, "settings oncall <#channel> [<@user or @group>] | off"),
        (
            "Final result",
            _final_setting(settings.final_in_channel),
            "settings final thread | channel",
        ),
        (
            "Quiet hours",
            _quiet_setting(settings),
            "settings quiet <HH:MM-HH:MM> [time zone] | off",
        ),
    ]

    blocks: list[Block] = [_header("Settings of this channel")]
    for label, value, usage in rows:
        blocks.append(_section(f"*{label}:* {value}\nChange: `{escape(f'{COMMAND} {usage}')}`"))
    blocks.append(
        _context(
            f"Snooze the alerts of one job with `{COMMAND} snooze &lt;job ID | all&gt; "
            "&lt;duration&gt;`. Thresholds are billed seconds, as in `watch`."
        )
    )
    return _message("Settings of this channel", blocks)


def describe_settings_change(command: SettingsChangeCommand) -> str:
    """Describe in mrkdwn what a settings command changed, for settings_updated."""
    if isinstance(command, SetThresholdsCommand):
        if not command.thresholds:
            return "watches started here without thresholds now get none."
        return (
            f"watches started here without thresholds now get {_seconds_list(command.thresholds)}."
        )
    if isinstance(command, SetOncallCommand):
        return _describe_oncall_change(command)
    if isinstance(command, SetFinalPostsCommand):
        return f"a job's final result is now {_final_setting(command.in_channel)}."
    if command.quiet is None:
        return "quiet hours are off."
    return f"quiet hours are {escape(command.quiet.describe())}, and alerts wait until they end."


def notice_message(text: str) -> SlackMessage:
    """Build a short informational reply; `text` is mrkdwn built by the bot."""
    return _message(text, [_section(text)])


def settings_updated(description: str) -> SlackMessage:
    """Confirm a settings change.

    `description` is mrkdwn built by the bot, for example by describe_settings_change, so it is
    posted unescaped. Escape any user or API text in it first.
    """
    text = f"Settings updated: {description}"
    return _message(text, [_section(f":white_check_mark: {text}")])


def snooze_confirmation(job_ids: list[str], until: datetime | None) -> SlackMessage:
    """Confirm that the alerts of `job_ids` are snoozed until `until`, or no longer snoozed
    when `until` is None."""
    if not job_ids:
        text = "No jobs are watched in this channel, so nothing changed."
        return _message(text, [_section(text)])

    subject = f"job {_job_code(job_ids[0])}"
    if len(job_ids) > 1:
        subject = f"{format_number(len(job_ids))} jobs"
    if until is None:
        headline = f"Alerts of {subject} are no longer snoozed."
    else:
        headline = f"Alerts of {subject} are snoozed until {slack_date(until)}."

    blocks: list[Block] = [_section(headline)]
    if len(job_ids) > 1:
        lines = [f"• {_job_code(job_id)}" for job_id in job_ids]
        sections, shown = _pack_lines(lines, max_sections=1)
        blocks.append(_section(sections[0]))
        if shown < len(job_ids):
            blocks.append(_context(f"{format_number(len(job_ids) - shown)} more not shown."))
    if until is not None:
        blocks.append(_context(f"End the snooze with `{COMMAND} snooze &lt;job ID | all&gt; off`."))
    return _message(headline, blocks)


def action_denied(reason: str) -> SlackMessage:
    """Tell a user that a button or command of theirs was rejected, and why."""
    safe = escape(reason).strip() or "This action is not allowed."
    return _message(safe, [_section(f":no_entry: {safe}")])


_ACCESS_DENIED = {
    "not_admin": "Only the bot's admins can stop watches, snooze them or change settings.",
    "channel_not_allowed": "Job metrics are not available in this channel. "
    "Ask an admin of the bot which channel to use.",
    "user_not_allowed": "You are not allowed to query or watch jobs. "
    "Ask an admin of the bot to add you.",
}


def access_denied(denial: str) -> SlackMessage:
    """Tell a user politely that the access settings reject their request."""
    return action_denied(_ACCESS_DENIED.get(denial, "This request is not allowed."))


def watch_stopped_by(user_id: str, job_id: str) -> SlackMessage:
    """Note, in the card's thread or to the user, who stopped watching a job."""
    text = f"{_user_reference(user_id)} stopped watching job {_job_code(job_id)}."
    return _message(text, [_section(text)])


def _thresholds_setting(
    thresholds: tuple[float, ...] | None, default_thresholds: tuple[float, ...]
) -> str:
    if thresholds is None:
        return f"{_seconds_list(default_thresholds)} (deployment default)"
    return f"{_seconds_list(thresholds)} (set for this channel)"


def _oncall_setting(
    settings: ChannelSettings, default_channel: str | None, default_mention: str | None
) -> str:
    channel, channel_source = _with_source(settings.oncall_channel, default_channel)
    if channel is None:
        return "off, so threshold alerts are posted only in this channel"

    line = f"threshold alerts also go to {_channel_reference(channel)} ({channel_source})"
    mention, mention_source = _with_source(settings.oncall_mention, default_mention)
    if mention is not None:
        line += f", mentioning {_mention_label(mention)} ({mention_source})"
    return line


def _with_source(value: str | None, default: str | None) -> tuple[str | None, str]:
    if value is not None:
        return value, "set for this channel"
    return default, "deployment default"


def _final_setting(in_channel: bool) -> str:
    if in_channel:
        return "posted in the card's thread and also sent to the channel"
    return "posted only in the card's thread"


def _quiet_setting(settings: ChannelSettings) -> str:
    if settings.quiet_hours is None:
        return "off"
    return f"{escape(settings.quiet_hours.describe())}, when alerts wait until the window ends"


def _describe_oncall_change(command: SetOncallCommand) -> str:
    if command.channel_id is None:
        return "this channel's on-call routing is removed, so the deployment default applies."
    line = f"threshold alerts also go to {_channel_reference(command.channel_id)}"
    if command.mention is not None:
        line += f", mentioning {_mention_label(command.mention)}"
    return line + "."


def _seconds_list(values: Sequence[float]) -> str:
    """List thresholds in seconds, ascending, cut after MAX_THRESHOLDS_SHOWN."""
    ordered = sorted(values)
    listed = ", ".join(format_seconds(value) for value in ordered[:MAX_THRESHOLDS_SHOWN])
    if len(ordered) > MAX_THRESHOLDS_SHOWN:
        listed += f" and {format_number(len(ordered) - MAX_THRESHOLDS_SHOWN)} more"
    return listed or "none"


def _channel_reference(channel_id: str) -> str:
    if _CHANNEL_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return code(truncate(channel_id, MAX_JOB_ID_SHOWN))


def _user_reference(user_id: str) -> str:
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return code(truncate(user_id, MAX_JOB_ID_SHOWN))


def _mention_label(mention: str) -> str:
    """Describe a mention token in words that notify no one, such as `the user group @sre`."""
    match = _MENTION_TOKEN.fullmatch(mention)
    if match is None:
        return code(truncate(mention, MAX_JOB_ID_SHOWN))

    target = match.group("target")
    label = (match.group("label") or "").lstrip("@")
    if target == "here":
        return "`@here`"
    if target.startswith("subteam^"):
        group = target.removeprefix("subteam^")
        return f"the user group {_labelled(label, group)}"
    return f"the user {_labelled(label, target)}"


def _labelled(label: str, identifier: str) -> str:
    identifier = escape(truncate(identifier, MAX_JOB_ID_SHOWN))
    if not label:
        return identifier
    return f"@{escape(truncate(label, MAX_JOB_ID_SHOWN))} ({identifier})"


# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------


def _job(event: JobEvent) -> str:
    return _job_code(event.job_id)


def _job_code(job_id: str) -> str:
    return code(truncate(job_id, MAX_JOB_ID_SHOWN))


def _billed(snapshot: JobSnapshot) -> str:
    billed = format_seconds(snapshot.billed_seconds)
    if snapshot.billed_seconds is None:
        return billed
    if _usage_pending(snapshot):
        return f"{billed} (usage not final yet)"
    if snapshot.state is JobState.RUNNING:
        return f"{billed} (so far)"
    return billed


def _usage_pending(snapshot: JobSnapshot) -> bool:
    # Only the platform API reports whether usage is final, because the admin endpoint has no
    # usage status.
    return snapshot.flavor is ApiFlavor.PLATFORM and not snapshot.usage_final


def _position(position: int | None) -> str:
    if position is None:
        return NOT_AVAILABLE
    if position == 0:
        return "next in line"
    return format_number(position)


def _count(value: int | None) -> str:
    return NOT_AVAILABLE if value is None else format_number(value)


def _execution_time(nanoseconds: int | None) -> str:
    if nanoseconds is None:
        return NOT_AVAILABLE
    return format_seconds(round(nanoseconds / 1e9, 3))


def _reason_text(snapshot: JobSnapshot) -> str:
    if snapshot.reason is None and snapshot.reason_code is None:
        return "IBM Quantum gave no reason"
    reason = _api_text(snapshot.reason) if snapshot.reason else "no description"
    if snapshot.reason_code is not None:
        reason += f" (code {snapshot.reason_code})"
    return reason


def _api_text(text: str) -> str:
    return escape(truncate(" ".join(text.split()), MAX_API_TEXT))


def _opaque(text: str | None) -> str:
    if text is None:
        return NOT_AVAILABLE
    return code(truncate(text, MAX_API_TEXT))


def _header(text: str) -> HeaderBlock:
    header_text = _cut_markup(escape(truncate(text, MAX_HEADER_TEXT)), MAX_HEADER_TEXT)
    return HeaderBlock(text=PlainTextObject(text=header_text))


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=_cut_markup(text, MAX_SECTION_TEXT)))


def _fields_section(fields: list[tuple[str, str]]) -> SectionBlock:
    texts = [
        MarkdownTextObject(text=_cut_markup(f"*{label}*\n{value}", MAX_FIELD_TEXT))
        for label, value in fields[:MAX_FIELDS]
    ]
    return SectionBlock(fields=texts)


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=_cut_markup(text, MAX_SECTION_TEXT))])


def _message(text: str, blocks: list[Block]) -> SlackMessage:
    # Builders stay under the limit by construction, so this cut only guards against a future bug.
    blocks = blocks[:MAX_BLOCKS]
    return SlackMessage(text=text, blocks=[block.to_dict() for block in blocks])


def _cut_markup(text: str, max_length: int) -> str:
    """Cut mrkdwn to `max_length` without leaving half a `<...>` token or `&...;` entity."""
    if len(text) <= max_length:
        return text

    cut = text[: max_length - 1]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    if cut.rfind("&") > cut.rfind(";"):
        cut = cut[: cut.rfind("&")]
    return cut + "…"
