"""Benchmark 2: many active watches at a fixed interval in one process, for a while.

    .venv/bin/python -m bench.steady --watches 10000 --interval 30 --duration 180

The simulated IBM API runs in its own process with that many running jobs. This process runs
the poll ticks over a SQLite file, one per second as the bot's scheduler does. Due times
start spread over one interval. After one interval of warm-up it reports how late polls ran
(poll start minus next_poll_at), the CPU share of one core, and the peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    SimProcess,
    insert_watches,
    machine,
    peak_rss_mb,
    percentile,
    start_simulator,
)
from bench.pipeline import make_source
from bench.simserver import job_id
from bot.engine.config import EngineConfig
from bot.engine.polling import Poller
from bot.storage import migrate
from bot.storage.database import make_engine
from bot.storage.store import PollOutcome, Store, WatchClaim


class TimedPoller(Poller):
    """A Poller that records how late each poll starts."""

    lateness: list[float]

    async def _poll_one(self, claim: WatchClaim) -> PollOutcome:
        if claim.due_at is not None:
            self.lateness.append((self.clock() - claim.due_at).total_seconds())
        return await super()._poll_one(claim)


async def run(sim: SimProcess, args: argparse.Namespace, database: Path) -> dict[str, float]:
    engine = make_engine(f"sqlite:///{database}")
    config = EngineConfig(poll_interval=args.interval, owner="bench")
    async with make_source(sim, "aiohttp") as source:
        poller = TimedPoller(Store(engine), source, config, lambda: datetime.now(UTC))
        poller.lateness = []
        started = time.monotonic()
        polls = 0
        while time.monotonic() - started < args.interval:
            await tick(poller)
        poller.lateness.clear()

        wall, cpu = time.monotonic(), time.process_time()
        while time.monotonic() - started < args.duration:
            polls += await tick(poller)
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    engine.dispose()
    return {
        "polls": polls,
        "polls_per_second": polls / wall,
        "cpu_core_share": cpu / wall,
        "cpu_us_per_poll": cpu / max(polls, 1) * 1e6,
        "lateness_p50": percentile(poller.lateness, 0.5),
        "lateness_p99": percentile(poller.lateness, 0.99),
        "lateness_max": max(poller.lateness, default=float("nan")),
        "peak_rss_mb": peak_rss_mb(),
    }


async def tick(poller: Poller) -> int:
    """Poll what is due, then sleep until the next second, as one scheduler tick does."""
    began = time.monotonic()
    polled = await poller.poll_due()
    await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
    return polled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=10000)
    parser.add_argument("--interval", type=float, default=30.0, help="poll interval, seconds")
    parser.add_argument("--duration", type=float, default=180.0, help="run time, seconds")
    args = parser.parse_args()

    ids = [job_id(number) for number in range(args.watches)]
    sim = start_simulator(args.watches)
    try:
        with tempfile.TemporaryDirectory() as folder:
            database = Path(folder) / "steady.sqlite3"
            migrate.upgrade(f"sqlite:///{database}")
            setup = make_engine(f"sqlite:///{database}")
            insert_watches(setup, ids, now=datetime.now(UTC), spread=args.interval)
            setup.dispose()
            figures = asyncio.run(run(sim, args, database))
    finally:
        sim.stop()

    print(f"machine: {machine()}")
    print(f"watches {args.watches}, interval {args.interval:g} s, duration {args.duration:g} s")
    for name, value in figures.items():
        print(f"{name:18} {value:10.3f}")


if __name__ == "__main__":
    main()
