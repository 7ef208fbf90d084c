"""Change detection: a pure function from two snapshots and a watch's settings to events.

Queue rule: a watch remembers the last queue position it announced to the channel. A move is
worth a message when the job is next in line (position 0), when its position has at least
halved since that message, or when it moved back by at least 5 places and by half. A job at
position 40 thus produces messages near 20, 10, 5, 2, 1 and 0: about log2(n) messages in all.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.events import EventKind, JobEvent
from bot.domain.snapshot import JobSnapshot, JobState

MOVED_BACK_MIN_PLACES = 5


@dataclass(frozen=True)
class WatchContext:
    """The parts of a watch that change detection reads."""

    thresholds: tuple[float, ...] = ()
    announced_position: int | None = None
    # False within the minimum gap after the last queue reply: a move stays unannounced, so
    # it is announced later if it is still worth telling.
    queue_alert_allowed: bool = True


@dataclass(frozen=True)
class Detection:
    events: list[JobEvent]
    announced_position: int | None


def detect_changes(
    previous: JobSnapshot | None, current: JobSnapshot, watch: WatchContext
) -> Detection:
    """Return the events between `previous` (None when nothing is known yet) and `current`,
    in the order a reader expects them, and the queue position now announced."""
    events: list[JobEvent] = []
    announced = watch.announced_position

    if _started(previous, current):
        events.append(_event(EventKind.STARTED, current, "started"))

    queue_event, announced = _queue_move(current, announced, watch.queue_alert_allowed)
    if queue_event is not None:
        events.append(queue_event)

    events.extend(_thresholds_crossed(previous, current, watch.thresholds))

    if _finished(previous, current):
        events.append(_event(EventKind.FINISHED, current, "finished"))
    elif _usage_became_final(previous, current):
        events.append(_event(EventKind.USAGE_FINAL, current, "usage_final"))

    return Detection(events=events, announced_position=announced)


def is_done(snapshot: JobSnapshot) -> bool:
    """Return whether the job needs no more polls: it is final and so is its usage figure."""
    return snapshot.state.is_final and snapshot.usage_final


def queue_move_worth_telling(announced: int, position: int) -> bool:
    if position == announced:
        return False
    if position == 0:
        return True
    if position < announced:
        return position * 2 <= announced
    moved_back = position - announced
    return moved_back >= MOVED_BACK_MIN_PLACES and moved_back * 2 >= announced


def _started(previous: JobSnapshot | None, current: JobSnapshot) -> bool:
    if current.state is not JobState.RUNNING:
        return False
    return previous is None or previous.state is JobState.QUEUED


def _finished(previous: JobSnapshot | None, current: JobSnapshot) -> bool:
    if not current.state.is_final:
        return False
    return previous is None or not previous.state.is_final


def _usage_became_final(previous: JobSnapshot | None, current: JobSnapshot) -> bool:
    if previous is None or not previous.state.is_final:
        return False
    return current.usage_final and not previous.usage_final


def _queue_move(
    current: JobSnapshot, announced: int | None, allowed: bool
) -> tuple[JobEvent | None, int | None]:
    position = current.position_in_queue
    if current.state is not JobState.QUEUED or position is None:
        return None, announced
    if announced is None:
        return None, position
    if not allowed or not queue_move_worth_telling(announced, position):
        return None, announced

    event = JobEvent(
        kind=EventKind.QUEUE_MOVED,
        job_id=current.job_id,
        key=f"queue:{announced}->{position}",
        snapshot=current,
        previous_position=announced,
        position=position,
    )
    return event, position


def _thresholds_crossed(
    previous: JobSnapshot | None, current: JobSnapshot, thresholds: tuple[float, ...]
) -> list[JobEvent]:
    if current.billed_seconds is None:
        return []

    before = previous.billed_seconds if previous and previous.billed_seconds is not None else 0.0
    return [
        JobEvent(
            kind=EventKind.THRESHOLD_EXCEEDED,
            job_id=current.job_id,
            key=f"threshold:{threshold:g}",
            snapshot=current,
            threshold_seconds=threshold,
        )
        for threshold in sorted(thresholds)
        if before <= threshold < current.billed_seconds
    ]


def _event(kind: EventKind, snapshot: JobSnapshot, key: str) -> JobEvent:
    return JobEvent(kind=kind, job_id=snapshot.job_id, key=key, snapshot=snapshot)
