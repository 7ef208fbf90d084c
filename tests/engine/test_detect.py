"""Change detection as a table: (previous, current, watch) -> event kinds and keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.events import EventKind
from bot.domain.snapshot import JobSnapshot, JobState
from bot.engine.detect import WatchContext, detect_changes, is_done, queue_move_worth_telling

T0 = datetime(2026, 5, 4, 13, 0, tzinfo=UTC)


def snap(state: JobState, **fields: object) -> JobSnapshot:
    defaults: dict[str, object] = {
        "job_id": "c5dge2d3rn7breq27i9g",
        "state": state,
        "created_at": T0,
    }
    if state is not JobState.QUEUED and state is not JobState.ENDED_IN_QUEUE:
        defaults["running_at"] = T0
    if state.is_final:
        defaults["finished_at"] = T0
        defaults["usage_final"] = True
    return JobSnapshot(**{**defaults, **fields})  # type: ignore[arg-type]


QUEUED = JobState.QUEUED
RUNNING = JobState.RUNNING
COMPLETED = JobState.COMPLETED

CASES = [
    # (name, previous, current, watch, expected (kind, key) pairs)
    ("nothing changed", snap(QUEUED), snap(QUEUED), WatchContext(), []),
    ("queued to running", snap(QUEUED), snap(RUNNING), WatchContext(), [("started", "started")]),
    ("unknown to running", None, snap(RUNNING), WatchContext(), [("started", "started")]),
    ("running stays running", snap(RUNNING), snap(RUNNING), WatchContext(), []),
    (
        "running to completed",
        snap(RUNNING),
        snap(COMPLETED),
        WatchContext(),
        [("finished", "finished")],
    ),
    (
        "queued straight to completed",
        snap(QUEUED),
        snap(COMPLETED),
        WatchContext(),
        [("finished", "finished")],
    ),
    (
        "cancelled in the queue",
        snap(QUEUED),
        snap(JobState.ENDED_IN_QUEUE),
        WatchContext(),
        [("finished", "finished")],
    ),
    ("failed", snap(RUNNING), snap(JobState.FAILED), WatchContext(), [("finished", "finished")]),
    (
        "cancelled",
        snap(RUNNING),
        snap(JobState.CANCELLED),
        WatchContext(),
        [("finished", "finished")],
    ),
    ("final stays final", snap(COMPLETED), snap(COMPLETED), WatchContext(), []),
    (
        "finished with usage pending",
        snap(RUNNING),
        snap(COMPLETED, usage_final=False, billed_seconds=0),
        WatchContext(),
        [("finished", "finished")],
    ),
    (
        "usage becomes final",
        snap(COMPLETED, usage_final=False, billed_seconds=0),
        snap(COMPLETED, usage_final=True, billed_seconds=12),
        WatchContext(),
        [("usage_final", "usage_final")],
    ),
    (
        "first position is the baseline",
        None,
        snap(QUEUED, position_in_queue=37),
        WatchContext(),
        [],
    ),
    (
        "small move is quiet",
        snap(QUEUED, position_in_queue=37),
        snap(QUEUED, position_in_queue=30),
        WatchContext(announced_position=37),
        [],
    ),
    (
        "halved position is told",
        snap(QUEUED, position_in_queue=20),
        snap(QUEUED, position_in_queue=18),
        WatchContext(announced_position=37),
        [("queue_moved", "queue:37->18")],
    ),
    (
        "next in line is told",
        snap(QUEUED, position_in_queue=1),
        snap(QUEUED, position_in_queue=0),
        WatchContext(announced_position=1),
        [("queue_moved", "queue:1->0")],
    ),
    (
        "moved back far is told",
        snap(QUEUED, position_in_queue=10),
        snap(QUEUED, position_in_queue=16),
        WatchContext(announced_position=10),
        [("queue_moved", "queue:10->16")],
    ),
    (
        "moved back a little is quiet",
        snap(QUEUED, position_in_queue=10),
        snap(QUEUED, position_in_queue=13),
        WatchContext(announced_position=10),
        [],
    ),
    (
        "platform has no positions",
        snap(QUEUED),
        snap(QUEUED),
        WatchContext(announced_position=None),
        [],
    ),
    (
        "threshold crossed",
        snap(RUNNING, billed_seconds=50),
        snap(RUNNING, billed_seconds=61),
        WatchContext(thresholds=(60,)),
        [("threshold_exceeded", "threshold:60")],
    ),
    (
        "threshold already passed",
        snap(RUNNING, billed_seconds=61),
        snap(RUNNING, billed_seconds=70),
        WatchContext(thresholds=(60,)),
        [],
    ),
    (
        "threshold reached but not exceeded",
        snap(RUNNING, billed_seconds=50),
        snap(RUNNING, billed_seconds=60),
        WatchContext(thresholds=(60,)),
        [],
    ),
    (
        "two thresholds crossed at once, in order",
        snap(RUNNING, billed_seconds=10),
        snap(RUNNING, billed_seconds=400),
        WatchContext(thresholds=(300, 60)),
        [("threshold_exceeded", "threshold:60"), ("threshold_exceeded", "threshold:300")],
    ),
    (
        "billed unknown never crosses",
        snap(RUNNING, billed_seconds=None),
        snap(RUNNING, billed_seconds=None),
        WatchContext(thresholds=(1,)),
        [],
    ),
    (
        "start, threshold and finish in one poll",
        snap(QUEUED),
        snap(COMPLETED, billed_seconds=93),
        WatchContext(thresholds=(60,)),
        [("threshold_exceeded", "threshold:60"), ("finished", "finished")],
    ),
]


@pytest.mark.parametrize(
    ("previous", "current", "watch", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_detect_changes(
    previous: JobSnapshot | None,
    current: JobSnapshot,
    watch: WatchContext,
    expected: list[tuple[str, str]],
) -> None:
    detection = detect_changes(previous, current, watch)

    assert [(event.kind.value, event.key) for event in detection.events] == expected


def test_announced_position_follows_told_moves() -> None:
    previous = snap(QUEUED, position_in_queue=20)

    told = detect_changes(
        previous, snap(QUEUED, position_in_queue=9), WatchContext(announced_position=20)
    )
    quiet = detect_changes(
        previous, snap(QUEUED, position_in_queue=15), WatchContext(announced_position=20)
    )

    assert told.announced_position == 9
    assert quiet.announced_position == 20


def test_queue_rule_from_forty_is_logarithmic() -> None:
    announced = 40
    told = []
    for position in range(39, -1, -1):
        if queue_move_worth_telling(announced, position):
            told.append(position)
            announced = position

    assert told == [20, 10, 5, 2, 1, 0]


def test_events_carry_threshold_and_positions() -> None:
    events = detect_changes(
        snap(QUEUED, position_in_queue=8),
        snap(QUEUED, position_in_queue=3),
        WatchContext(announced_position=8),
    ).events

    assert events[0].kind is EventKind.QUEUE_MOVED
    assert events[0].previous_position == 8
    assert events[0].position == 3


def test_is_done_waits_for_final_usage() -> None:
    assert not is_done(snap(RUNNING))
    assert not is_done(snap(COMPLETED, usage_final=False))
    assert is_done(snap(COMPLETED, usage_final=True))
    assert is_done(snap(JobState.ENDED_IN_QUEUE))
