"""Worker processes: one process per SQLite database, enforced across real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sim.ibm_api import IbmApiSimulator
from bot.sim.slack_api import SlackStandIn

TOKEN = "ibm-token-for-worker-tests-31c8"
IN_USE = "is already used by another jobmetrics-bot process"


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    with IbmApiSimulator(admin_token=TOKEN) as ibm, SlackStandIn() as slack:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SLACK_", "IBM_", "DATABASE_", "ONCALL_"))
        }
        env.update(
            IBM_QUANTUM_API_URL=ibm.url,
            IBM_QUANTUM_TOKEN=TOKEN,
            SLACK_API_URL=slack.url,
            SLACK_BOT_TOKEN="xoxb-worker-tests",
            SLACK_SIGNING_SECRET="signing-secret-for-worker-tests",
            DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
            PORT="0",
            HOST="127.0.0.1",
        )
        yield env


def start(command: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", command],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lock(lock_file: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if lock_file.exists() and lock_file.read_text().strip() == str(process.pid):
            return
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.05)
    raise AssertionError(f"{process.args} did not take {lock_file} within 20 s")


def stop(process: subprocess.Popen[str]) -> int:
    """SIGTERM the process; 0 when it stopped cleanly, -SIGTERM when the signal came before
    its handler was installed (just after it took the lock)."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


STOPPED = (0, -signal.SIGTERM)


@pytest.mark.parametrize(("first", "second"), [("worker", "worker"), ("serve", "worker")])
def test_second_process_on_sqlite_is_rejected(
    tmp_path: Path, environment: dict[str, str], first: str, second: str
) -> None:
    running = start(first, environment, tmp_path)
    try:
        wait_for_lock(tmp_path / "bot.sqlite3.lock", running)

        rejected = start(second, environment, tmp_path)
        _, stderr = rejected.communicate(timeout=30)

        assert rejected.returncode == 1
        assert IN_USE in stderr
        assert f"(pid {running.pid})" in stderr
        assert "PostgreSQL" in stderr
        assert running.poll() is None, "the first process keeps running"
    finally:
        assert stop(running) in STOPPED


def test_lock_is_free_after_first_process_stops(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    first = start("worker", environment, tmp_path)
    wait_for_lock(tmp_path / "bot.sqlite3.lock", first)
    assert stop(first) in STOPPED

    second = start("worker", environment, tmp_path)
    try:
        wait_for_lock(tmp_path / "bot.sqlite3.lock", second)
    finally:
        assert stop(second) in STOPPED


def test_lock_is_free_after_first_process_is_killed(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    first = start("worker", environment, tmp_path)
    wait_for_lock(tmp_path / "bot.sqlite3.lock", first)
    first.kill()
    first.wait(timeout=20)

    second = start("worker", environment, tmp_path)
    try:
        wait_for_lock(tmp_path / "bot.sqlite3.lock", second)
    finally:
        assert stop(second) in STOPPED
