"""The store's contract, run on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.events import EventKind, JobEvent
from bot.domain.snapshot import JobSnapshot, JobState
from bot.storage.models import AlertStatus, WatchStatus
from bot.storage.store import NewAlert, PollOutcome, Store, WatchKey

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
KEY = WatchKey("T1", "C1", "c5dge2d3rn7breq27i9g")


def queued(position: int = 5) -> JobSnapshot:
    return JobSnapshot(job_id=KEY.job_id, state=JobState.QUEUED, position_in_queue=position)


def add(store: Store, key: WatchKey = KEY, baseline: JobSnapshot | None = None) -> int:
    watch_id, _ = store.add_watch(
        key,
        user_id="U1",
        flavor="admin",
        instance=None,
        thresholds=[60.0],
        baseline=baseline,
        now=NOW,
    )
    return watch_id


def alert(key: str, channel: str = "C1") -> NewAlert:
    event = JobEvent(kind=EventKind.STARTED, job_id=KEY.job_id, key=key)
    return NewAlert(team_id="T1", channel_id=channel, dedup_key=key, event=event)


def test_add_watch_stores_baseline(store: Store) -> None:
    watch_id = add(store, baseline=queued(7))

    [claim] = store.claim_due_watches("w1", now=NOW, limit=10, lease=LEASE)

    assert claim.id == watch_id
    assert claim.previous == queued(7)
    assert claim.announced_position == 7
    assert claim.thresholds == (60.0,)


def test_add_active_watch_again_changes_nothing(store: Store) -> None:
    first, created_first = store.add_watch(
        KEY, user_id="U1", flavor="admin", instance=None, thresholds=[60], baseline=None, now=NOW
    )
    second, created_second = store.add_watch(
        KEY, user_id="U2", flavor="admin", instance=None, thresholds=[90], baseline=None, now=NOW
    )

    assert first == second
    assert created_first
    assert not created_second
    assert [row.thresholds for row in store.list_watches("T1", "C1")] == [(60.0,)]


def test_remove_watch_stops_polling(store: Store) -> None:
    add(store)

    assert store.remove_watch(KEY, now=NOW)
    assert not store.remove_watch(KEY, now=NOW)
    assert store.claim_due_watches("w1", now=NOW, limit=10, lease=LEASE) == []
    assert store.list_watches("T1", "C1") == []


def test_rewatch_after_unwatch_reactivates(store: Store) -> None:
    add(store)
    store.remove_watch(KEY, now=NOW)

    _, created = store.add_watch(
        KEY, user_id="U1", flavor="admin", instance=None, thresholds=[], baseline=None, now=NOW
    )

    assert created
    assert len(store.claim_due_watches("w1", now=NOW, limit=10, lease=LEASE)) == 1


def test_list_is_per_channel(store: Store) -> None:
    add(store)
    add(store, WatchKey("T1", "C2", "d305ck0ocacs73ajagvg"))

    assert [row.job_id for row in store.list_watches("T1", "C1")] == [KEY.job_id]
    assert [row.job_id for row in store.list_watches("T1", "C2")] == ["d305ck0ocacs73ajagvg"]


def test_leased_watch_is_not_claimed_twice(store: Store) -> None:
    add(store)

    first = store.claim_due_watches("w1", now=NOW, limit=10, lease=LEASE)
    second = store.claim_due_watches("w2", now=NOW, limit=10, lease=LEASE)

    assert len(first) == 1
    assert second == []


def test_expired_lease_is_taken_over(store: Store) -> None:
    add(store)
    store.claim_due_watches("w1", now=NOW, limit=10, lease=LEASE)

    later = NOW + LEASE + timedelta(seconds=1)
    taken = store.claim_due_watches("w2", now=later, limit=10, lease=LEASE)

    assert len(taken) == 1


def test_record_poll_writes_snapshot_and_alerts(store: Store) -> None:
    watch_id = add(store, baseline=queued(5))
    [claim] = store.claim_due_watches("w1", now=NOW, limit=10, lease=LEASE)
    running = JobSnapshot(job_id=KEY.job_id, state=JobState.RUNNING)
    outcome = PollOutcome(
        status=WatchStatus.ACTIVE,
        next_poll_at=NOW + timedelta(seconds=30),
        snapshot=running,
        alerts=[alert("1:started")],
    )

    assert store.record_poll(claim, "w1", outcome, NOW)

    assert [row.kind for row in store.alerts_of_watch(watch_id)] == ["started"]
    [again] = store.claim_due_watches("w1", now=NOW + timedelta(seconds=31), limit=10, lease=LEASE)
    assert again.previous == running
    assert store.list_watches("T1", "C1")[0].job_state == "running"


def test_record_poll_without_lease_writes_nothing(store: Store) -> None:
    watch_id = add(store)
    [claim] = store.claim_due_watches("w1", now=NOW, limit=10, lease=LEASE)
    store.claim_due_watches("w2", now=NOW + LEASE * 2, limit=10, lease=LEASE)
    outcome = PollOutcome(status=WatchStatus.ACTIVE, next_poll_at=NOW, alerts=[alert("1:started")])

    assert not store.record_poll(claim, "w1", outcome, NOW)
    assert store.alerts_of_watch(watch_id) == []


def test_same_dedup_key_is_stored_once(store: Store) -> None:
    watch_id = add(store)
    for _ in range(2):
        [claim] = store.claim_due_watches("w1", now=NOW + LEASE * 3, limit=10, lease=LEASE)
        outcome = PollOutcome(
            status=WatchStatus.ACTIVE, next_poll_at=NOW, alerts=[alert("1:started")]
        )
        store.record_poll(claim, "w1", outcome, NOW)

    assert len(store.alerts_of_watch(watch_id)) == 1


def test_alerts_of_one_watch_are_delivered_in_order(store: Store) -> None:
    add(store)
    [claim] = store.claim_due_watches("w1", now=NOW, limit=10, lease=LEASE)
    outcome = PollOutcome(
        status=WatchStatus.ACTIVE,
        next_poll_at=NOW,
        alerts=[alert("1:a"), alert("1:b"), alert("1:c", channel="C9")],
    )
    store.record_poll(claim, "w1", outcome, NOW)

    first = store.claim_pending_alerts("d1", now=NOW, limit=10, lease=LEASE)
    assert [item.event.key for item in first] == ["1:a", "1:c"]
    assert store.claim_pending_alerts("d2", now=NOW, limit=10, lease=LEASE) == []

    store.mark_alert_sent(first[0].id, "d1", "1700000000.000100", NOW)
    second = store.claim_pending_alerts("d1", now=NOW, limit=10, lease=LEASE)
    assert [item.event.key for item in second] == ["1:b"]


def test_retry_later_defers_the_alert(store: Store) -> None:
    add(store)
    [claim] = store.claim_due_watches("w1", now=NOW, limit=10, lease=LEASE)
    store.record_poll(
        claim,
        "w1",
        PollOutcome(status=WatchStatus.ACTIVE, next_poll_at=NOW, alerts=[alert("1:a")]),
        NOW,
    )
    [pending] = store.claim_pending_alerts("d1", now=NOW, limit=10, lease=LEASE)

    store.retry_alert_later(pending.id, "d1", NOW + timedelta(seconds=30), "rate limited")

    assert (
        store.claim_pending_alerts("d1", now=NOW + timedelta(seconds=29), limit=10, lease=LEASE)
        == []
    )
    [retried] = store.claim_pending_alerts(
        "d1", now=NOW + timedelta(seconds=30), limit=10, lease=LEASE
    )
    assert retried.attempts == 2


def test_failed_alert_shows_in_list(store: Store) -> None:
    watch_id = add(store)
    [claim] = store.claim_due_watches("w1", now=NOW, limit=10, lease=LEASE)
    store.record_poll(
        claim,
        "w1",
        PollOutcome(status=WatchStatus.ACTIVE, next_poll_at=NOW, alerts=[alert("1:a")]),
        NOW,
    )
    [pending] = store.claim_pending_alerts("d1", now=NOW, limit=10, lease=LEASE)

    store.mark_alert_failed(pending.id, "d1", "channel_not_found: invite the bot", NOW)

    [row] = store.list_watches("T1", "C1")
    assert row.undeliverable == "channel_not_found: invite the bot"
    assert store.count_alerts(AlertStatus.FAILED) == 1
    assert [a.status for a in store.alerts_of_watch(watch_id)] == [AlertStatus.FAILED]


def test_sent_alert_records_ts(store: Store) -> None:
    watch_id = add(store)
    [claim] = store.claim_due_watches("w1", now=NOW, limit=10, lease=LEASE)
    store.record_poll(
        claim,
        "w1",
        PollOutcome(status=WatchStatus.ACTIVE, next_poll_at=NOW, alerts=[alert("1:a")]),
        NOW,
    )
    [pending] = store.claim_pending_alerts("d1", now=NOW, limit=10, lease=LEASE)

    store.mark_alert_sent(pending.id, "d1", "1700000000.000200", NOW)

    [row] = store.alerts_of_watch(watch_id)
    assert row.status == AlertStatus.SENT
    assert row.message_ts == "1700000000.000200"
    assert row.sent_at == NOW
