"""The bulk poll write path (claim_due_watches, record_polls), on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.domain.channel_settings import ChannelSettings
from bot.domain.events import EventKind, JobEvent
from bot.domain.snapshot import JobSnapshot, JobState
from bot.storage.models import WatchStatus
from bot.storage.settings_store import Actor
from bot.storage.store import NewAlert, PollOutcome, Store, WatchKey

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=30)
LEASE = timedelta(seconds=60)


def add(store: Store, job_id: str, channel: str = "C1") -> int:
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


def running(job_id: str, billed: float = 1.0) -> JobSnapshot:
    return JobSnapshot(job_id=job_id, state=JobState.RUNNING, billed_seconds=billed)


def outcome(snapshot: JobSnapshot | None, *keys: str, due: datetime = LATER) -> PollOutcome:
    job_id = snapshot.job_id if snapshot else "job"
    alerts = [
        NewAlert(
            team_id="T1",
            channel_id="C1",
            dedup_key=key,
            event=JobEvent(kind=EventKind.STARTED, job_id=job_id, key=key),
        )
        for key in keys
    ]
    return PollOutcome(
        status=WatchStatus.ACTIVE, next_poll_at=due, snapshot=snapshot, alerts=alerts
    )


def claim_all(store: Store, owner: str, now: datetime) -> list:
    return store.claim_due_watches(owner, now=now, limit=100, lease=LEASE)


def test_unchanged_snapshot_keeps_first_observed_time(store: Store) -> None:
    add(store, "job1")
    [first] = claim_all(store, "w1", NOW)
    store.record_poll(first, "w1", outcome(running("job1")), NOW)

    [second] = claim_all(store, "w1", LATER)
    store.record_poll(second, "w1", outcome(running("job1")), LATER)
    [third] = claim_all(store, "w1", LATER + LEASE * 2)

    assert third.previous == running("job1")
    assert third.previous_observed_at == NOW


def test_changed_snapshot_is_written(store: Store) -> None:
    add(store, "job1")
    [first] = claim_all(store, "w1", NOW)
    store.record_poll(first, "w1", outcome(running("job1", billed=1.0)), NOW)

    [second] = claim_all(store, "w1", LATER)
    store.record_poll(second, "w1", outcome(running("job1", billed=5.0)), LATER)
    [third] = claim_all(store, "w1", LATER + LEASE * 2)

    assert third.previous == running("job1", billed=5.0)
    assert third.previous_observed_at == LATER


def test_batch_skips_lost_lease_only(store: Store) -> None:
    lost_id = add(store, "job1")
    kept_id = add(store, "job2")
    claims = {claim.job_id: claim for claim in claim_all(store, "w1", NOW)}
    [taken] = store.claim_due_watches("w2", now=NOW + LEASE * 2, limit=1, lease=LEASE)
    assert taken.job_id == "job1"

    results = [
        (claims["job1"], outcome(running("job1"), "lost:started")),
        (claims["job2"], outcome(running("job2"), "kept:started")),
    ]
    written = store.record_polls(results, "w1", NOW + LEASE * 2)

    assert written == [False, True]
    assert store.alerts_of_watch(lost_id) == []
    assert [row.dedup_key for row in store.alerts_of_watch(kept_id)] == ["kept:started"]


def test_same_watch_twice_in_batch_writes_first(store: Store) -> None:
    watch_id = add(store, "job1")
    [claim] = claim_all(store, "w1", NOW)

    results = [
        (claim, outcome(running("job1"), "first")),
        (claim, outcome(running("job1", billed=9.0), "second")),
    ]
    written = store.record_polls(results, "w1", NOW)

    assert written == [True, False]
    assert [row.dedup_key for row in store.alerts_of_watch(watch_id)] == ["first"]
    [again] = claim_all(store, "w1", LATER)
    assert again.previous == running("job1")


def test_existing_dedup_key_skipped_in_batch(store: Store) -> None:
    watch_id = add(store, "job1")
    [claim] = claim_all(store, "w1", NOW)
    store.record_poll(claim, "w1", outcome(running("job1"), "a"), NOW)

    [again] = claim_all(store, "w1", LATER)
    store.record_poll(again, "w1", outcome(running("job1"), "a", "b", "c"), LATER)

    keys = [row.dedup_key for row in store.alerts_of_watch(watch_id)]
    assert keys == ["a", "b", "c"]


def test_failed_poll_keeps_snapshot_and_bumps_card(store: Store) -> None:
    watch_id = add(store, "job1")
    [claim] = claim_all(store, "w1", NOW)
    store.record_poll(claim, "w1", outcome(running("job1")), NOW)
    version = store.get_watch_by_id(watch_id).card_version

    [again] = claim_all(store, "w1", LATER)
    failure = replace(
        outcome(None),
        error_count=1,
        last_error="timed out",
        card_changed=True,
        last_queue_alert_at=LATER,
    )
    assert store.record_poll(again, "w1", failure, LATER)

    watch = store.get_watch_by_id(watch_id)
    assert watch.card_version == version + 1
    assert watch.last_error == "timed out"
    assert watch.error_count == 1
    assert watch.last_queue_alert_at == LATER
    assert watch.job_state == "running"
    assert watch.lease_owner is None


def test_claim_carries_each_channel_settings(store: Store) -> None:
    add(store, "job1", channel="C1")
    add(store, "job2", channel="C2")
    store.settings.change(
        Actor("T1", "C2", "U1"),
        lambda settings: replace(settings, oncall_channel="C9", final_in_channel=False),
        "on-call channel",
        NOW,
    )

    claims = {claim.channel_id: claim for claim in claim_all(store, "w1", NOW)}

    assert claims["C1"].settings == ChannelSettings()
    assert claims["C2"].settings.oncall_channel == "C9"
    assert claims["C2"].settings.final_in_channel is False
