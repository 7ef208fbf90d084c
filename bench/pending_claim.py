"""Time one delivery claim over a large backlog of pending alerts on PostgreSQL.

    .venv/bin/python -m bench.pending_claim [--alerts 30000] [--without-index]

Builds a fresh schema in the local `test` database (dropped at the end), inserts 10,000
watches and `--alerts` pending alerts without running ANALYZE, as right after a burst, and
times `Store.claim_pending_alerts`. `--without-index` drops the partial index on pending
alerts first, to show what it saves.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.storage import migrate
from bot.storage.database import make_engine
from bot.storage.store import Store

DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WATCHES = 10_000

INSERT_WATCHES = """
INSERT INTO watches (id, team_id, channel_id, job_id, flavor, thresholds, status, error_count,
    created_at, updated_at, next_poll_at, card_version, card_synced_version, refresh_requested)
SELECT g, 'T', 'C' || (g % 2000), 'j' || g, 'admin', '[]', 'active', 0,
    now(), now(), now(), 0, 0, false
FROM generate_series(1, :watches) g
"""
INSERT_ALERTS = """
INSERT INTO alerts (watch_id, team_id, channel_id, job_id, kind, dedup_key, event, status,
    attempts, created_at, next_attempt_at, broadcast, oncall)
SELECT (g % :watches) + 1, 'T', 'C' || (((g % :watches) + 1) % 2000), 'j', 'started', 'k' || g,
    '{"kind": "started", "job_id": "j", "key": "k"}', 'pending', 0, now(), now(), false, false
FROM generate_series(1, :alerts) g
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=30_000, help="pending alerts to insert")
    parser.add_argument("--without-index", action="store_true", help="drop the partial index")
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(DATABASE)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        seconds = _time_claim(_schema_url(schema), args.alerts, args.without_index)
        index = "without" if args.without_index else "with"
        print(
            f"{args.alerts} pending alerts, {index} the partial index: claim took {seconds:.3f} s"
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _schema_url(schema: str) -> str:
    url = make_url(DATABASE).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _time_claim(url: str, alerts: int, without_index: bool) -> float:
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(INSERT_WATCHES), {"watches": WATCHES})
        connection.execute(text(INSERT_ALERTS), {"watches": WATCHES, "alerts": alerts})
        if without_index:
            connection.execute(text("DROP INDEX ix_alerts_pending_stream"))

    store = Store(engine)
    now = datetime.now(UTC) + timedelta(seconds=1)
    started = time.perf_counter()
    store.claim_pending_alerts("bench", now=now, limit=200, lease=timedelta(seconds=60))
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


if __name__ == "__main__":
    main()
