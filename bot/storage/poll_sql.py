"""SQLAlchemy Core statements of the poll path: lease due watches, write poll results in bulk.

`Store.claim_due_watches` and `Store.record_polls` run these instead of ORM objects because
they run for every poll: loading and flushing ORM rows cost more CPU than the HTTP request.
The write statements take executemany parameter lists, one dict per watch, snapshot or alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, Update, bindparam, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from bot.storage.models import (
    Alert,
    ChannelSettingsRow,
    Snapshot,
    UtcDateTime,
    Watch,
    WatchStatus,
)

# The watch columns a claim carries, and its stored snapshot (NULL before the first one).
_CLAIM_COLUMNS = (
    Watch.id,
    Watch.team_id,
    Watch.channel_id,
    Watch.job_id,
    Watch.flavor,
    Watch.instance,
    Watch.thresholds,
    Watch.status,
    Watch.announced_position,
    Watch.error_count,
    Watch.next_poll_at,
    Watch.card_ts,
    Watch.last_queue_alert_at,
    Watch.refresh_requested,
    Watch.card_synced_at,
    Snapshot.data.label("snapshot_data"),
    Snapshot.observed_at.label("snapshot_observed_at"),
)


def due_watches(now: datetime, limit: int) -> Select[Any]:
    """Select due, unleased watches with their snapshots, locking the watch rows only.

    PostgreSQL rejects FOR UPDATE on the nullable side of an outer join, hence `of=`.
    """
    watches = Watch.__table__
    joined = watches.outerjoin(Snapshot.__table__, Snapshot.watch_id == Watch.id)
    return (
        select(*_CLAIM_COLUMNS)
        .select_from(joined)
        .where(Watch.status.in_(WatchStatus.POLLED), Watch.next_poll_at <= now)
        .where(or_(Watch.lease_until.is_(None), Watch.lease_until < now))
        .order_by(Watch.next_poll_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=watches)
    )


def lease_watches(watch_ids: Sequence[int], owner: str, until: datetime) -> Update:
    return update(Watch).where(Watch.id.in_(watch_ids)).values(lease_owner=owner, lease_until=until)


def leased_watch_ids(watch_ids: Iterable[int], owner: str) -> Select[Any]:
    """Select the watches among `watch_ids` that `owner` still leases, locking them until the
    transaction ends so that no other writer changes them in between."""
    return (
        select(Watch.id)
        .where(Watch.id.in_(list(watch_ids)), Watch.lease_owner == owner)
        .where(Watch.status.in_(WatchStatus.POLLED))
        .with_for_update()
    )


def channel_settings(channels: Iterable[tuple[str, str]]) -> Select[Any]:
    keys = tuple_(ChannelSettingsRow.team_id, ChannelSettingsRow.channel_id)
    return select(ChannelSettingsRow.__table__).where(keys.in_(list(channels)))


# One poll's result on its watch. The lease is ended here. `b_card_bump` is 1 when the card
# must be redrawn, else 0. A None `b_queue_alert_at` keeps the stored time.
POLL_RESULT = (
    update(Watch)
    .where(Watch.id == bindparam("b_id"), Watch.lease_owner == bindparam("b_owner"))
    .values(
        status=bindparam("b_status"),
        next_poll_at=bindparam("b_next_poll_at"),
        error_count=bindparam("b_error_count"),
        last_error=bindparam("b_last_error"),
        last_polled_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        lease_owner=None,
        lease_until=None,
        refresh_requested=False,
        card_version=Watch.card_version + bindparam("b_card_bump"),
        last_queue_alert_at=func.coalesce(
            bindparam("b_queue_alert_at", type_=UtcDateTime()), Watch.last_queue_alert_at
        ),
    )
)

# The same, for a poll that returned a snapshot. A None `b_instance` keeps the stored one.
POLL_RESULT_WITH_SNAPSHOT = POLL_RESULT.values(
    job_state=bindparam("b_job_state"),
    announced_position=bindparam("b_announced_position"),
    forecast_threshold=bindparam("b_forecast_threshold"),
    forecast_at=bindparam("b_forecast_at"),
    instance=func.coalesce(bindparam("b_instance", type_=String()), Watch.instance),
)


def upsert_snapshots(dialect: str) -> Insert:
    """Insert snapshots (watch_id, job_id, data, observed_at), replacing a watch's old one."""
    statement = _dialect_insert(dialect, Snapshot)
    return statement.on_conflict_do_update(
        index_elements=[Snapshot.watch_id],
        set_={
            "job_id": statement.excluded.job_id,
            "data": statement.excluded.data,
            "observed_at": statement.excluded.observed_at,
        },
    )


def insert_new_alerts(dialect: str) -> Insert:
    """Insert alerts, skipping any whose dedup key exists already (a replayed poll)."""
    return _dialect_insert(dialect, Alert).on_conflict_do_nothing(index_elements=[Alert.dedup_key])


def _dialect_insert(dialect: str, table: Any) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"database {dialect!r} is not supported; use SQLite or PostgreSQL")
