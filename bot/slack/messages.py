"""Every user-facing Slack text of the bot, built as Block Kit messages.

Each builder returns a SlackMessage with a fallback `text` (shown in notifications and by
clients without Block Kit) and `blocks`. Text that came from a user or from the IBM API is
escaped, so a job field containing `<!channel>` shows as typed and notifies no one. Messages stay
within Block Kit's limits: 50 blocks, 3,000 characters of section text, 10 fields of at most
2,000 characters, 150 characters of header text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

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
from bot.slack.commands import COMMAND, USAGE

WATCH_ACTION_ID = "watch_job"

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
    blocks.append(_context(_alert_context(event)))
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


_ALERT_BUILDERS: dict[EventKind, Callable[[JobEvent], tuple[str, list[str]]]] = {
    EventKind.STARTED: _started_alert,
    EventKind.QUEUE_MOVED: _queue_moved_alert,
    EventKind.THRESHOLD_EXCEEDED: _threshold_alert,
    EventKind.FINISHED: _finished_alert,
    EventKind.USAGE_FINAL: _usage_final_alert,
    EventKind.NOT_FOUND: _not_found_alert,
    EventKind.ACCESS_LOST: _access_lost_alert,
    EventKind.ACCESS_RESTORED: _access_restored_alert,
}


def _alert_context(event: JobEvent) -> str:
    parts = [f"Job ID {_job(event)}"]
    snapshot = event.snapshot
    if snapshot is not None:
        parts.append(f"State {describe_state(snapshot.state).lower()}")
        if snapshot.backend:
            parts.append(f"Backend {code(snapshot.backend)}")
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
    """Confirm a new watch: what will be alerted, to this channel, and the job's state now."""
    headline = f"Watching job {_job_code(job_id)} in this channel."
    lines = [
        "Alerts come when the job starts, moves in the queue and finishes, "
        + _threshold_sentence(thresholds)
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
