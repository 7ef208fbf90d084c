"""Benchmarks 3 and 4: worker processes on PostgreSQL, jobs through their lifecycles.

    .venv/bin/python -m bench.workers --jobs 20000 --workers 4 --interval 10 --speed 2

Runs, each in its own process: the simulated IBM API with lifecycle jobs in compressed time
(queued, running, finished), the Slack stand-in, and `--workers` worker processes that share
a new PostgreSQL database (dropped at the end). Each watch is first due when its job is
created. When every watch has finished and no alert is pending, or at `--timeout`, it stops
the workers and reports:
  - delivery: how many of each job's "started" and "finished" alerts are missing or were
    posted more than once, and how many alerts of any kind were posted more than once
    (counted at the stand-in from the message metadata)
  - spread: watches polled and alerts posted by each worker
  - latency: from the scripted state change to the stand-in receiving the post, p50 and p99
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.common import SimProcess, insert_watches, machine, percentile, start_simulator
from bench.simserver import lifecycle_job
from bot.sim.ibm_api import ScriptedJob
from bot.storage import migrate
from bot.storage.models import Alert, AlertStatus, Watch, WatchStatus

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Real seconds before the first job exists, for the database and workers to start.
# Seconds between two ANALYZE runs of the bench database; see `wait_until_done`.
ANALYZE_SECONDS = 20.0
STARTUP_SECONDS = 30.0
JOBS_PER_CHANNEL = 10
SLACK_TOKEN = "xoxb-bench-worker"
# Workers run in a temporary folder, so that no .env file is read; they import from here.
REPOSITORY = Path(__file__).resolve().parent.parent


@dataclass
class Worker:
    process: subprocess.Popen[str]
    log: Path


def create_database() -> tuple[str, str]:
    """Create an empty database on the local server; return its name and URL."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    return name, url


def drop_database(name: str) -> None:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def start_slack() -> tuple[subprocess.Popen[str], str]:
    args = [sys.executable, "-m", "bench.slackserver"]
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())["url"]


def stop_slack(process: subprocess.Popen[str]) -> list[dict[str, Any]]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()
    line = process.stdout.readline()
    process.wait(timeout=60)
    return list(json.loads(line)["posts"])


def worker_environment(
    sim: SimProcess, slack_url: str, database_url: str, interval: float
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "IBM_", "DATABASE_", "ONCALL_", "POLL_"))
    }
    env.update(
        IBM_QUANTUM_API_URL=sim.url,
        IBM_QUANTUM_TOKEN=sim.token,
        IBM_MAX_REQUESTS_PER_SECOND="100000",
        SLACK_API_URL=slack_url,
        SLACK_BOT_TOKEN=SLACK_TOKEN,
        SLACK_SIGNING_SECRET="signing-secret-for-the-benchmark",
        DATABASE_URL=database_url,
        POLL_INTERVAL_SECONDS=str(interval),
        LOG_LEVEL="WARNING",
        PORT="0",
        HOST="127.0.0.1",
        PYTHONPATH=str(REPOSITORY),
    )
    return env


def start_workers(count: int, env: dict[str, str], folder: Path) -> list[Worker]:
    workers = []
    for number in range(count):
        log = folder / f"worker-{number}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.workerproc"],
            env=env,
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
        )
        workers.append(Worker(process, log))
    return workers


def stop_workers(workers: list[Worker]) -> list[dict[str, int]]:
    """SIGTERM each worker; return how many watches each polled and alerts it posted."""
    for worker in workers:
        worker.process.send_signal(signal.SIGTERM)
    counts = []
    for worker in workers:
        try:
            out, _ = worker.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            # A tick still in flight keeps a worker from stopping; its counts are lost.
            worker.process.kill()
            out, _ = worker.process.communicate()
        lines = [line for line in out.splitlines() if line.startswith("{")]
        counts.append(json.loads(lines[-1]) if lines else {"polled": -1, "posted": -1})
    return counts


def wall_time(sim: SimProcess, speed: float, sim_seconds: float) -> float:
    return sim.sim_zero + sim_seconds / speed


def wait_until_done(database_url: str, workers: list[Worker], deadline: float) -> bool:
    """Wait until no watch is polled any more and no alert is pending; False at the deadline.

    Runs ANALYZE every ANALYZE_SECONDS, as autovacuum would, because the local test server
    runs with autovacuum off. Plans made from the statistics of the empty tables would not
    show how a production server behaves.
    """
    engine = create_engine(database_url)
    polled = select(func.count()).select_from(Watch).where(Watch.status.in_(WatchStatus.POLLED))
    pending = select(func.count()).select_from(Alert).where(Alert.status == AlertStatus.PENDING)
    analyzed = 0.0
    try:
        while time.time() < deadline:
            if time.time() - analyzed > ANALYZE_SECONDS:
                analyze(engine)
                analyzed = time.time()
            for worker in workers:
                if worker.process.poll() is not None:
                    tail = worker.log.read_text()[-2000:]
                    raise RuntimeError(f"a worker stopped early; its log ends:\n{tail}")
            with engine.connect() as connection:
                left = connection.scalar(polled) or 0
                queued = connection.scalar(pending) or 0
            print(f"  {time.strftime('%H:%M:%S')} polled watches {left}, pending {queued}")
            if left == 0 and queued == 0:
                return True
            time.sleep(5)
        return False
    finally:
        engine.dispose()


def analyze(engine: Any) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE watches"))
        connection.execute(text("ANALYZE alerts"))


def delivery_figures(posts: list[dict[str, Any]], jobs: list[ScriptedJob]) -> dict[str, int]:
    delivered = [post for post in posts if post["ok"]]
    per_event = Counter((post["job_id"], post["key"]) for post in delivered)
    expected = {(job.job_id, key) for job in jobs for key in ("started", "finished")}
    return {
        "posts": len(posts),
        "posts_ok": len(delivered),
        "expected_alerts": len(expected),
        "expected_missing": sum(1 for event in expected if per_event[event] == 0),
        "expected_duplicated": sum(1 for event in expected if per_event[event] > 1),
        "any_alert_duplicated": sum(1 for count in per_event.values() if count > 1),
        "queue_alerts": sum(1 for post in delivered if post["key"].startswith("queue")),
    }


def latencies(
    posts: list[dict[str, Any]], jobs: list[ScriptedJob], sim: SimProcess, speed: float
) -> dict[str, list[float]]:
    """Seconds from each scripted state change to the first post of its alert."""
    changes: dict[tuple[str, str], float] = {}
    for job in jobs:
        assert job.running_at is not None
        changes[(job.job_id, "started")] = wall_time(sim, speed, job.running_at)
        changes[(job.job_id, "finished")] = wall_time(sim, speed, job.finished_at)
    first: dict[tuple[str, str], float] = {}
    for post in posts:
        event = (post["job_id"], post["key"])
        if post["ok"] and event in changes:
            first[event] = min(first.get(event, post["at"]), post["at"])
    found: dict[str, list[float]] = {"started": [], "finished": []}
    for event, at in first.items():
        found[event[1]].append(at - changes[event])
    return found


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    delay = STARTUP_SECONDS * args.speed
    jobs = [lifecycle_job(number, args.spread, delay) for number in range(args.jobs)]
    sim = start_simulator(args.jobs, "lifecycle", speed=args.speed, spread=args.spread, delay=delay)
    slack, slack_url = start_slack()
    name, database_url = create_database()
    workers: list[Worker] = []
    try:
        migrate.upgrade(database_url)
        setup = create_engine(database_url)
        due = [
            datetime.fromtimestamp(wall_time(sim, args.speed, job.created_at or 0.0), UTC)
            for job in jobs
        ]
        channels = max(1, args.jobs // JOBS_PER_CHANNEL)
        insert_watches(
            setup,
            [job.job_id for job in jobs],
            now=datetime.now(UTC),
            channels=channels,
            due_times=due,
        )
        setup.dispose()

        env = worker_environment(sim, slack_url, database_url, args.interval)
        started = time.time()
        workers = start_workers(args.workers, env, folder)
        finished = wait_until_done(database_url, workers, started + args.timeout)
        elapsed = time.time() - started
        counts = stop_workers(workers)
        workers = []
    finally:
        for worker in workers:
            worker.process.kill()
        posts = stop_slack(slack)
        requests = sim.stop()
        drop_database(name)

    return {
        "finished": finished,
        "elapsed": elapsed,
        "requests": requests,
        "workers": counts,
        "delivery": delivery_figures(posts, jobs),
        "latency": latencies(posts, jobs, sim, args.speed),
    }


def report(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    print(f"machine: {machine()}")
    print(
        f"jobs {args.jobs}, workers {args.workers}, interval {args.interval:g} s, "
        f"speed {args.speed:g}x, spread {args.spread:g} simulated s"
    )
    state = "all watches finished" if figures["finished"] else "TIMED OUT"
    print(f"{state} after {figures['elapsed']:.0f} s; IBM API requests {figures['requests']}")
    for name, value in figures["delivery"].items():
        print(f"  {name:22} {value}")
    for number, counts in enumerate(figures["workers"]):
        print(f"  worker {number}: polled {counts['polled']}, posted {counts['posted']}")
    for kind, values in figures["latency"].items():
        print(
            f"  latency {kind:9} n={len(values)} p50 {percentile(values, 0.5):.2f} s "
            f"p99 {percentile(values, 0.99):.2f} s max {max(values, default=float('nan')):.2f} s"
        )
    print(f"  latency target: p99 <= interval + 2 s = {args.interval + 2:g} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--interval", type=float, default=10.0, help="poll interval, seconds")
    parser.add_argument("--speed", type=float, default=2.0, help="simulated seconds per second")
    parser.add_argument(
        "--spread", type=float, default=600.0, help="simulated seconds over which jobs start"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="max run time, seconds")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        figures = run(args, Path(folder))
    report(args, figures)


if __name__ == "__main__":
    main()
