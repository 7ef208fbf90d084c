"""Benchmark 5: IBM API requests per watched job-hour, adaptive versus fixed poll intervals.

    .venv/bin/python -m bench.adaptive --jobs 500 --interval 10

Runs the same lifecycle workload twice in real time (simulator speed 1, its timestamps and
estimated start times on the wall clock): once with EngineConfig.adaptive_polling True, once
False. Each run polls and delivers in this process over a SQLite file, one tick per second,
until every watch has finished and its alerts are sent, or `--timeout`. Alerts go to a
recording sender, not Slack, with no per-channel pacing: Slack is not what is measured.
It reports the simulator's request count per watched job-hour (a job is watched from its
creation until it finishes) and the latency from each job's scripted finish to its
"finished" alert being sent.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.common import (
    SimProcess,
    insert_watches,
    machine,
    percentile,
    start_simulator,
)
from bench.pipeline import make_source
from bench.simserver import lifecycle_job
from bot.engine.config import EngineConfig
from bot.engine.delivery import Deliverer
from bot.engine.polling import Poller
from bot.storage import migrate
from bot.storage.database import make_engine
from bot.storage.models import Alert, AlertStatus, Watch, WatchStatus
from bot.storage.store import AlertClaim, CardClaim, Store

# Seconds before the first job exists, for the database to be filled.
STARTUP_SECONDS = 10.0


class RecordingSender:
    """An alert sender that records when each alert was sent."""

    def __init__(self) -> None:
        self.sent: dict[tuple[str, str], float] = {}

    async def send(self, alert: AlertClaim) -> str:
        self.sent.setdefault((alert.job_id, alert.event.key), time.time())
        return f"{time.time():.6f}"

    async def update_card(self, card: CardClaim) -> None:
        return None


def all_done(store: Store) -> bool:
    polled = select(func.count()).select_from(Watch).where(Watch.status.in_(WatchStatus.POLLED))
    pending = select(func.count()).select_from(Alert).where(Alert.status == AlertStatus.PENDING)
    with store.engine.connect() as connection:
        return not connection.scalar(polled) and not connection.scalar(pending)


async def drive(
    store: Store, sim: SimProcess, config: EngineConfig, timeout: float
) -> tuple[RecordingSender, bool]:
    sender = RecordingSender()
    deadline = time.monotonic() + timeout
    async with make_source(sim, "aiohttp") as source:
        poller = Poller(store, source, config, lambda: datetime.now(UTC))
        deliverer = Deliverer(store, sender, config, lambda: datetime.now(UTC))
        while time.monotonic() < deadline:
            began = time.monotonic()
            await poller.poll_due()
            await deliverer.deliver_pending()
            if await asyncio.to_thread(all_done, store):
                return sender, True
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
    return sender, False


def run_variant(args: argparse.Namespace, adaptive: bool, folder: Path) -> dict[str, float]:
    delay = STARTUP_SECONDS
    jobs = [lifecycle_job(number, args.spread, delay) for number in range(args.jobs)]
    sim = start_simulator(
        args.jobs, "lifecycle", epoch_now=True, speed=1, spread=args.spread, delay=delay
    )
    url = f"sqlite:///{folder / f'adaptive-{adaptive}.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        due = [datetime.fromtimestamp(sim.sim_zero + (job.created_at or 0.0), UTC) for job in jobs]
        insert_watches(engine, [job.job_id for job in jobs], now=datetime.now(UTC), due_times=due)
        config = EngineConfig(
            poll_interval=args.interval, adaptive_polling=adaptive, post_interval=0.0, owner="bench"
        )
        sender, finished = asyncio.run(drive(Store(engine), sim, config, args.timeout))
    finally:
        requests = sim.stop()
        engine.dispose()

    job_hours = sum(job.finished_at - (job.created_at or 0.0) for job in jobs) / 3600
    latency = [
        sender.sent[(job.job_id, "finished")] - (sim.sim_zero + job.finished_at)
        for job in jobs
        if (job.job_id, "finished") in sender.sent
    ]
    return {
        "all_finished": float(finished),
        "requests": requests,
        "watched_job_hours": job_hours,
        "requests_per_job_hour": requests / job_hours,
        "finished_alerts": len(latency),
        "finish_latency_p50": percentile(latency, 0.5),
        "finish_latency_p99": percentile(latency, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--interval", type=float, default=10.0, help="poll interval, seconds")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds over which jobs start")
    parser.add_argument("--timeout", type=float, default=300.0, help="max seconds per variant")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for adaptive in (True, False):
            results[adaptive] = run_variant(args, adaptive, Path(folder))

    print(f"machine: {machine()}")
    print(f"jobs {args.jobs}, interval {args.interval:g} s, spread {args.spread:g} s, real time")
    print(f"{'figure':24} {'adaptive':>10} {'fixed':>10}")
    for name in results[True]:
        print(f"{name:24} {results[True][name]:10.2f} {results[False][name]:10.2f}")


if __name__ == "__main__":
    main()
