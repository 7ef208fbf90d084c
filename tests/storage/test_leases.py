"""Leases shared by several workers: watches, alerts and cards, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from bot.domain.events import EventKind, JobEvent
from bot.domain.snapshot import JobSnapshot, JobState
from bot.storage.models import AlertStatus, WatchStatus
from bot.storage.store import NewAlert, PollOutcome, Store, WatchKey

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
AFTER_LEASE = NOW + LEASE + timedelta(seconds=1)


def add(store: Store, job_id: str = "c5dge2d3rn7breq27i9g", channel: str = "C1") -> int:
    watch_id, _ = store.add_watch(
        WatchKey("T1", channel, job_id),
        user_id="U1",
        flavor="admin",
        instance=None,
        thresholds=[],
        baseline=None,
        now=NOW,
    )
    return watch_id


def started(job_id: str, key: str) -> NewAlert:
    event = JobEvent(kind=EventKind.STARTED, job_id=job_id, key=key)
    return NewAlert(team_id="T1", channel_id="C1", dedup_key=key, event=event)


def running_outcome(job_id: str, key: str) -> PollOutcome:
    return PollOutcome(
        status=WatchStatus.ACTIVE,
        next_poll_at=AFTER_LEASE + timedelta(seconds=30),
        snapshot=JobSnapshot(job_id=job_id, state=JobState.RUNNING),
        alerts=[started(job_id, key)],
        card_changed=True,
    )


def test_crashed_poller_lease_is_taken_over(store: Store) -> None:
    watch_id = add(store)
    [crashed] = store.claim_due_watches("worker-a", now=NOW, limit=10, lease=LEASE)

    before_expiry = store.claim_due_watches("worker-b", now=NOW + LEASE / 2, limit=10, lease=LEASE)
    [taken] = store.claim_due_watches("worker-b", now=AFTER_LEASE, limit=10, lease=LEASE)
    written_by_b = store.record_poll(
        taken, "worker-b", running_outcome(taken.job_id, "b:started"), AFTER_LEASE
    )
    late_write_by_a = store.record_poll(
        crashed, "worker-a", running_outcome(crashed.job_id, "a:started"), AFTER_LEASE
    )

    assert before_expiry == []
    assert taken.id == watch_id
    assert written_by_b
    assert not late_write_by_a
    assert [row.dedup_key for row in store.alerts_of_watch(watch_id)] == ["b:started"]


def test_owner_keeps_lease_until_it_writes(store: Store) -> None:
    add(store)
    [claim] = store.claim_due_watches("worker-a", now=NOW, limit=10, lease=LEASE)

    written = store.record_poll(
        claim, "worker-a", running_outcome(claim.job_id, "a:started"), NOW + LEASE / 2
    )
    due_again = store.claim_due_watches("worker-b", now=AFTER_LEASE, limit=10, lease=LEASE)

    assert written
    assert due_again == [], "the write set next_poll_at after the lease"


def test_claims_of_two_workers_are_disjoint(store: Store) -> None:
    for number in range(40):
        add(store, job_id=f"job{number:02d}")
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(2)

    def claim(owner: str) -> None:
        barrier.wait()
        claims = store.claim_due_watches(owner, now=NOW, limit=25, lease=LEASE)
        claimed[owner] = [watch.id for watch in claims]

    threads = [threading.Thread(target=claim, args=(owner,)) for owner in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert set(claimed["a"]).isdisjoint(claimed["b"])
    assert len(claimed["a"]) + len(claimed["b"]) == 40


def test_crashed_deliverer_alert_is_taken_over(store: Store) -> None:
    watch_id = add(store)
    [claim] = store.claim_due_watches("poller", now=NOW, limit=10, lease=LEASE)
    store.record_poll(claim, "poller", running_outcome(claim.job_id, "started"), NOW)

    [crashed] = store.claim_pending_alerts("worker-a", now=NOW, limit=10, lease=LEASE)
    while_leased = store.claim_pending_alerts("worker-b", now=NOW, limit=10, lease=LEASE)
    [taken] = store.claim_pending_alerts("worker-b", now=AFTER_LEASE, limit=10, lease=LEASE)
    store.mark_alert_sent(taken.id, "worker-b", "1700000000.000200", AFTER_LEASE)
    store.mark_alert_sent(crashed.id, "worker-a", "1700000000.000100", AFTER_LEASE)

    [row] = store.alerts_of_watch(watch_id)
    assert while_leased == []
    assert taken.id == crashed.id
    assert taken.attempts == 2
    assert row.status == AlertStatus.SENT
    assert row.message_ts == "1700000000.000200", "the stale owner's result is ignored"


def dirty_card(store: Store) -> int:
    watch_id = add(store)
    store.set_card(watch_id, "1700000000.000100", NOW)
    store.set_thresholds(watch_id, [30.0], NOW)
    return watch_id


def test_dirty_card_is_claimed_by_one_worker(store: Store) -> None:
    watch_id = dirty_card(store)

    first = store.claim_dirty_cards(limit=10, now=NOW, lease=LEASE)
    second = store.claim_dirty_cards(limit=10, now=NOW + LEASE / 2, lease=LEASE)

    assert [card.watch_id for card in first] == [watch_id]
    assert second == []


def test_synced_card_is_not_claimed_again(store: Store) -> None:
    dirty_card(store)
    [card] = store.claim_dirty_cards(limit=10, now=NOW, lease=LEASE)

    store.mark_card_synced(card.watch_id, card.version, NOW + timedelta(seconds=1))

    assert store.claim_dirty_cards(limit=10, now=AFTER_LEASE, lease=LEASE) == []


def test_released_card_is_claimed_again_at_once(store: Store) -> None:
    watch_id = dirty_card(store)
    [card] = store.claim_dirty_cards(limit=10, now=NOW, lease=LEASE)

    store.release_card(card)
    [again] = store.claim_dirty_cards(limit=10, now=NOW + timedelta(seconds=1), lease=LEASE)

    assert again.watch_id == watch_id
    assert again.synced_at == card.synced_at


def test_crashed_card_update_is_taken_over(store: Store) -> None:
    watch_id = dirty_card(store)
    store.claim_dirty_cards(limit=10, now=NOW, lease=LEASE)

    [taken] = store.claim_dirty_cards(limit=10, now=AFTER_LEASE, lease=LEASE)

    assert taken.watch_id == watch_id
