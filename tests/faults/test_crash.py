"""Crash safety: the bot runs as a real process and is killed with SIGKILL again and again.

The IBM API simulator and the Slack stand-in run in the test process; the bot is
`python -m bot worker` (and `python -m bot migrate`) on a SQLite file. After the kills a
last worker runs to the end, and every alert the scripted jobs must produce is checked at
the Slack stand-in through the message metadata: present once, in order, in the card's thread.

The one duplicate the design allows is a kill during the HTTP post itself (Slack has no
idempotency key). Such duplicates are counted and printed, and each must sit just before a
kill. SOAK=1 runs a longer variant by hand.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk import WebClient

from bot.sim.ibm_api import IbmApiSimulator, ScriptedJob
from bot.sim.slack_api import SlackStandIn
from bot.storage.database import make_engine
from bot.storage.models import AlertStatus, WatchStatus
from bot.storage.store import Store, WatchKey

SOAK = os.environ.get("SOAK") == "1"
JOBS = 120 if SOAK else 40
WORKER_KILLS = 60 if SOAK else 15
MIGRATE_KILLS = 16 if SOAK else 6
SIM_SPEED = 3.0 if SOAK else 6.0
THRESHOLDS = (2.0, 5.0)
TEAM = "T0CRASH"
BOT_TOKEN = "xoxb-crash-test-token"
ADMIN_TOKEN = "crash-admin-token"
# Kind order within one job: queue moves, start, thresholds, end, final usage.
RANK = {"queue_moved": 0, "started": 1, "threshold_exceeded": 2, "finished": 3, "usage_final": 4}
# A duplicate post is explained by a kill when the first copy went out this close before it.
KILL_WINDOW_SECONDS = 1.5


@dataclass
class Run:
    kills: list[float] = field(default_factory=list)
    migrate_kills: int = 0
    revisions_after_kill: list[str | None] = field(default_factory=list)


def scripted_jobs(rng: random.Random) -> list[ScriptedJob]:
    jobs = []
    for index in range(JOBS):
        outcome = rng.choice(["completed"] * 6 + ["failed", "cancelled_in_queue"])
        positions = tuple(sorted(rng.sample(range(1, 12), rng.randint(1, 4)), reverse=True))
        jobs.append(
            ScriptedJob(
                f"k{index:02d}crash{rng.randrange(16**12):012x}"[:20],
                queue_positions=(*positions, 0),
                step_seconds=rng.uniform(4, 10),
                run_seconds=rng.uniform(10, 40),
                billed_seconds=rng.choice([1.5, 3.5, 6.5, 9.5]),
                outcome=outcome,
                created_at=rng.uniform(0, 60),
            )
        )
    return jobs


def bot_env(database_url: str, slack: SlackStandIn, ibm: IbmApiSimulator) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLACK_")}
    env.update(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET="crash-signing-secret",
        SLACK_API_URL=slack.url,
        IBM_API_FLAVOR="admin",
        IBM_QUANTUM_API_URL=ibm.url,
        IBM_QUANTUM_TOKEN=ADMIN_TOKEN,
        POLL_INTERVAL_SECONDS="0.2",
        QUEUE_ALERT_MIN_GAP_SECONDS="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    return env


def spawn(command: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    log = (cwd / f"{command}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", command], env=env, cwd=cwd, stdout=log, stderr=log
    )


def kill(process: subprocess.Popen[bytes]) -> bool:
    """SIGKILL the process; return whether it was still running."""
    alive = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    return alive


def migrate_duration(env: dict[str, str], cwd: Path) -> float:
    """Seconds one `migrate` takes here, imports included, on a scratch database."""
    scratch = {**env, "DATABASE_URL": f"sqlite:///{cwd / 'scratch.sqlite3'}"}
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "bot", "migrate"], env=scratch, cwd=cwd, check=True)
    return time.monotonic() - started


def schema_revision(database: Path) -> str | None:
    with sqlite3.connect(database) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return row[0] if row else None


def migrate_with_kills(env: dict[str, str], cwd: Path, rng: random.Random, run: Run) -> None:
    """Kill `migrate` near its end, where the schema changes run, then let one finish."""
    duration = migrate_duration(env, cwd)
    for _ in range(MIGRATE_KILLS):
        process = spawn("migrate", env, cwd)
        time.sleep(rng.uniform(duration * 0.3, duration))
        if kill(process):
            run.migrate_kills += 1
            run.revisions_after_kill.append(schema_revision(cwd / "bot.sqlite3"))
    finished = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"], env=env, cwd=cwd, capture_output=True
    )
    assert finished.returncode == 0, finished.stderr.decode()


def add_watches(store: Store, slack: SlackStandIn, jobs: list[ScriptedJob]) -> dict[str, str]:
    """Watch every job, two jobs per channel, each with a card; return each job's card ts."""
    client = WebClient(token=BOT_TOKEN, base_url=slack.url)
    cards = {}
    now = datetime.now(UTC)
    for index, job in enumerate(jobs):
        channel = f"C0CRASH{index // 2:03d}"
        key = WatchKey(TEAM, channel, job.job_id)
        watch_id, _ = store.add_watch(
            key,
            user_id="U0CRASH",
            flavor="admin",
            instance=None,
            thresholds=THRESHOLDS,
            baseline=None,
            now=now,
        )
        ts = client.chat_postMessage(channel=channel, text=f"card {job.job_id}")["ts"]
        store.set_card(watch_id, ts, now)
        cards[job.job_id] = ts
    return cards


def kill_workers(env: dict[str, str], cwd: Path, rng: random.Random, run: Run) -> None:
    for _ in range(WORKER_KILLS):
        process = spawn("worker", env, cwd)
        time.sleep(rng.uniform(1.0, 2.6))
        if kill(process):
            run.kills.append(time.time())


def run_to_the_end(env: dict[str, str], cwd: Path, store: Store, timeout: float) -> None:
    process = spawn("worker", env, cwd)
    deadline = time.monotonic() + timeout
    try:
        while not all_done(store):
            assert process.poll() is None, (cwd / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "watches or alerts still open at the deadline"
            time.sleep(0.3)
    finally:
        # A graceful stop lets the tick in flight finish; card edits are paced, so allow time.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill(process)
            raise


def all_done(store: Store) -> bool:
    if store.count_alerts(AlertStatus.PENDING):
        return False
    with store.engine.connect() as connection:
        open_watches = connection.exec_driver_sql(
            "SELECT count(*) FROM watches WHERE status IN (?, ?)",
            (WatchStatus.ACTIVE, WatchStatus.PAUSED),
        ).scalar()
    return open_watches == 0


@dataclass
class Post:
    job_id: str
    kind: str
    key: str
    thread_ts: str | None
    at: float


def alert_posts(slack: SlackStandIn) -> list[Post]:
    posts = []
    for call in slack.posts():
        metadata = call.params.get("metadata")
        if not isinstance(metadata, dict):
            continue
        payload = metadata.get("event_payload") or {}
        kind = str(metadata["event_type"]).removeprefix("jobmetrics_")
        posts.append(
            Post(payload["job_id"], kind, payload["key"], call.params.get("thread_ts"), call.at)
        )
    return posts


def expected_keys(job: ScriptedJob) -> list[str]:
    """Alerts that no poll gap can skip: each crossed threshold, then the end."""
    crossed = [f"threshold:{t:g}" for t in THRESHOLDS if t < job.final_billed]
    return [*crossed, "finished"]


def check_job(job: ScriptedJob, posts: list[Post], card_ts: str) -> list[str]:
    """Problems with one job's alerts; duplicates are checked apart."""
    problems = []
    keys = list(dict.fromkeys(post.key for post in posts))
    for key in expected_keys(job):
        if key not in keys:
            problems.append(f"{job.job_id}: missing {key}")
    if sum(key == "started" for key in keys) > 1:
        problems.append(f"{job.job_id}: started twice")

    # Kinds must come in lifecycle order. Queue moves share one rank, and their keys are not
    # compared, because "queue:6->2" before "queue:2->0" is the right order but not sorted.
    firsts = first_copies(posts)
    ranks = [RANK[post.kind] for post in firsts]
    if ranks != sorted(ranks):
        problems.append(f"{job.job_id}: out of order {[post.key for post in firsts]}")
    if any(post.thread_ts != card_ts for post in posts):
        problems.append(f"{job.job_id}: reply outside the card's thread")
    return problems


def first_copies(posts: list[Post]) -> list[Post]:
    seen: dict[str, Post] = {}
    for post in posts:
        seen.setdefault(post.key, post)
    return list(seen.values())


def duplicates(posts: list[Post]) -> list[Post]:
    """The first copy of every alert that was posted more than once."""
    counts: dict[tuple[str, str], list[Post]] = defaultdict(list)
    for post in posts:
        counts[(post.job_id, post.key)].append(post)
    return [copies[0] for copies in counts.values() if len(copies) > 1]


def explained_by_kill(post: Post, kills: list[float]) -> bool:
    return any(0 <= kill_at - post.at <= KILL_WINDOW_SECONDS for kill_at in kills)


def test_sigkill_loses_and_repeats_nothing(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("CRASH_SEED", "20260504")))
    jobs = scripted_jobs(rng)
    database_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    run = Run()

    with IbmApiSimulator(speed=SIM_SPEED, admin_token=ADMIN_TOKEN) as ibm, SlackStandIn() as slack:
        env = bot_env(database_url, slack, ibm)
        migrate_with_kills(env, tmp_path, rng, run)
        engine = make_engine(database_url)
        store = Store(engine)
        ibm.add(*jobs)
        cards = add_watches(store, slack, jobs)

        started = time.monotonic()
        kill_workers(env, tmp_path, rng, run)
        killing = time.monotonic() - started
        run_to_the_end(env, tmp_path, store, timeout=240 if SOAK else 40)
        print(
            f"\nkill phase {killing:.1f} s, last run {time.monotonic() - started - killing:.1f} s"
        )

        posts = alert_posts(slack)
        failed = store.count_alerts(AlertStatus.FAILED)
        engine.dispose()

    by_job: dict[str, list[Post]] = defaultdict(list)
    for post in posts:
        by_job[post.job_id].append(post)
    problems = [p for job in jobs for p in check_job(job, by_job[job.job_id], cards[job.job_id])]
    repeated = duplicates(posts)
    checked = sum(len(expected_keys(job)) for job in jobs)
    print(
        f"\ncrash test: {len(run.kills)} worker kills, {run.migrate_kills} migrate kills, "
        f"{len(posts)} alert posts, {checked} required alerts checked, "
        f"{len(repeated)} duplicate posts; schema revisions after migrate kills: "
        f"{run.revisions_after_kill}"
    )

    assert len(run.kills) >= WORKER_KILLS - 2
    assert run.migrate_kills >= 1
    assert failed == 0
    assert problems == []
    unexplained = [post for post in repeated if not explained_by_kill(post, run.kills)]
    assert unexplained == []
