"""SIGTERM in the middle of a poll: the worker finishes it, exits 0, and loses nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.demo import alert_kinds
from bot.domain.snapshot import JobSnapshot, JobState
from bot.sim.ibm_api import IbmApiSimulator, ScriptedJob
from bot.sim.slack_api import SlackStandIn
from bot.storage import migrate
from bot.storage.database import make_engine
from bot.storage.store import Store, WatchKey
from tests.integration.test_cli import TOKEN, environment

JOB = "c5dge2d3rn7breq27i9g"


def add_watch(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    baseline = JobSnapshot(job_id=JOB, state=JobState.QUEUED, position_in_queue=0)
    Store(engine).add_watch(
        WatchKey("T0DEMO", "C0DEMO", JOB),
        user_id="U1",
        flavor="admin",
        instance=None,
        thresholds=[],
        baseline=baseline,
        now=datetime.now(UTC),
    )
    engine.dispose()


def start_worker(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until(condition, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_sigterm_during_poll_loses_nothing(tmp_path: Path) -> None:
    ibm = IbmApiSimulator(admin_token=TOKEN)
    ibm.add(ScriptedJob(JOB, queue_positions=(0,), step_seconds=10, run_seconds=100))
    with ibm, SlackStandIn() as slack:
        env = environment(tmp_path, ibm, slack, POLL_INTERVAL_SECONDS="0.5")
        add_watch(env["DATABASE_URL"])
        ibm.advance(20)
        ibm.latency = 2.0

        worker = start_worker(env, tmp_path)
        wait_until(lambda: ibm.requests_by_job[JOB] >= 1)
        stopping = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
        took = time.monotonic() - stopping

        ibm.latency = 0.0
        restarted = start_worker(env, tmp_path)
        wait_until(lambda: alert_kinds(slack.all_calls(), "C0DEMO") != [])
        time.sleep(1.5)
        restarted.send_signal(signal.SIGTERM)
        restarted.communicate(timeout=30)

    assert worker.returncode == 0, output
    assert took < 10
    assert "worker stopped" in output
    assert alert_kinds(slack.all_calls(), "C0DEMO") == [(JOB, "started")]
