"""Benchmark 1: throughput and client CPU per poll of the poll pipeline against two baselines.

    .venv/bin/python -m bench.pipeline [--sizes 1000 10000] [--naive-cap 2000]

Each size starts the simulated IBM API in its own process with that many running jobs, then
runs, one after the other in this process:
  naive     httpx.Client in a sequential for loop, parsing each JSON body (capped in count)
  raw       aiohttp GET and JSON decode, 20 at a time: the fetch-only limit
  source    IbmJobSource.fetch alone, 20 at a time (no database)
  pipeline  Poller.poll_due over a SQLite file: claim, fetch, parse, detect, write; measured
            on the second poll of each watch, as in steady state (the first stores a baseline)
Client CPU is time.process_time() of this process (all threads); the simulator's is not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx
from sqlalchemy import update

from bench.common import SimProcess, insert_watches, machine, start_simulator
from bench.simserver import job_id
from bot.domain.snapshot import ApiFlavor
from bot.engine.budget import RequestBudget
from bot.engine.config import EngineConfig
from bot.engine.polling import Poller
from bot.ibm.auth import StaticToken
from bot.ibm.client import IbmJobSource, build_http_client
from bot.storage import migrate
from bot.storage.database import make_engine
from bot.storage.models import Watch
from bot.storage.store import Store

CONCURRENCY = 20


def measure(count: int, run: Callable[[], None]) -> tuple[float, float]:
    """Run once; return polls per second and client CPU microseconds per poll."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count / wall, cpu / count * 1e6


def naive(sim: SimProcess, ids: list[str]) -> None:
    headers = {"Authorization": f"Bearer {sim.token}", "Accept": "application/json"}
    with httpx.Client(timeout=20) as client:
        for job in ids:
            response = client.get(f"{sim.url}/admin/jobs/{job}/metrics", headers=headers)
            response.raise_for_status()
            body = response.json()
            state = "running" if body["timestamps"].get("running") else "queued"
            _ = (state, body.get("bss", {}).get("seconds"))


async def gather_limited(ids: list[str], fetch: Callable[[str], Awaitable[object]]) -> None:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(job: str) -> None:
        async with limit:
            await fetch(job)

    await asyncio.gather(*(one(job) for job in ids))


async def raw(sim: SimProcess, ids: list[str]) -> None:
    headers = {"Authorization": f"Bearer {sim.token}", "Accept": "application/json"}
    async with aiohttp.ClientSession() as session:

        async def fetch(job: str) -> None:
            async with session.get(f"{sim.url}/admin/jobs/{job}/metrics", headers=headers) as r:
                r.raise_for_status()
                await r.json()

        await gather_limited(ids, fetch)


def make_source(sim: SimProcess, transport: str) -> IbmJobSource:
    chosen = httpx.AsyncHTTPTransport() if transport == "httpx" else None
    http = build_http_client(timeout=20, transport=chosen, budget=RequestBudget(1e6))
    return IbmJobSource(
        flavor=ApiFlavor.ADMIN,
        base_url=sim.url,
        tokens=StaticToken(sim.token),
        http=http,
        close_http=True,
    )


async def source_only(sim: SimProcess, ids: list[str], transport: str) -> None:
    async with make_source(sim, transport) as source:
        await gather_limited(ids, source.fetch)


async def pipeline(sim: SimProcess, ids: list[str], transport: str, database: Path) -> None:
    """Poll every watch once; the watches were polled once before, as in steady state."""
    engine = make_engine(f"sqlite:///{database}")
    store = Store(engine)
    config = EngineConfig(poll_interval=3600, concurrency=CONCURRENCY, owner="bench")
    async with make_source(sim, transport) as source:
        poller = Poller(store, source, config, lambda: datetime.now(UTC))
        polled = 0
        while polled < len(ids):
            polled += await poller.poll_due()
    engine.dispose()


def fresh_database(folder: Path, name: str, ids: list[str]) -> Path:
    path = folder / f"{name}.sqlite3"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    insert_watches(engine, ids, now=datetime.now(UTC))
    engine.dispose()
    return path


def make_due(database: Path) -> None:
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(update(Watch).values(next_poll_at=datetime.now(UTC)))
    engine.dispose()


def run_size(size: int, naive_cap: int, latency: float) -> list[tuple[str, int, float, float]]:
    sim = start_simulator(size, latency=latency)
    ids = [job_id(number) for number in range(size)]
    rows = []
    try:
        capped = ids[:naive_cap]
        rows.append(
            (
                "naive httpx.Client loop",
                len(capped),
                *measure(len(capped), lambda: naive(sim, capped)),
            )
        )
        rows.append(
            ("raw aiohttp GET + json", size, *measure(size, lambda: asyncio.run(raw(sim, ids))))
        )
        for transport in ("aiohttp", "httpx"):
            label = f"IbmJobSource.fetch only, {transport} transport"
            run = lambda t=transport: asyncio.run(source_only(sim, ids, t))  # noqa: E731
            rows.append((label, size, *measure(size, run)))
        with tempfile.TemporaryDirectory() as folder:
            for transport in ("aiohttp", "httpx"):
                database = fresh_database(Path(folder), transport, ids)
                asyncio.run(pipeline(sim, ids, transport, database))
                make_due(database)
                label = f"pipeline, {transport} transport"
                run = lambda t=transport, d=database: asyncio.run(pipeline(sim, ids, t, d))  # noqa: E731
                rows.append((label, size, *measure(size, run)))
    finally:
        sim.stop()
    return [(label, count, rate, cpu) for label, count, rate, cpu in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--naive-cap", type=int, default=2000, help="max requests of the naive loop"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="simulated API seconds per reply"
    )
    args = parser.parse_args()

    print(f"machine: {machine()}; API latency {args.latency * 1000:.0f} ms")
    print(f"{'size':>6}  {'variant':44} {'polls':>6} {'polls/s':>9} {'CPU us/poll':>12}")
    for size in args.sizes:
        rows = run_size(size, args.naive_cap, args.latency)
        for label, count, rate, cpu in rows:
            print(f"{size:>6}  {label:44} {count:>6} {rate:>9.0f} {cpu:>12.0f}")
        by_label = {label: (rate, cpu) for label, _, rate, cpu in rows}
        best = by_label["pipeline, aiohttp transport"]
        raw_cpu = by_label["raw aiohttp GET + json"][1]
        naive_rate = by_label["naive httpx.Client loop"][0]
        print(
            f"{size:>6}  pipeline/raw CPU per poll: {best[1] / raw_cpu:.1f}x (target <= 2x); "
            f"pipeline/naive polls per second: {best[0] / naive_rate:.1f}x (target >= 10x)"
        )


if __name__ == "__main__":
    main()
