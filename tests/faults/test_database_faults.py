"""Database faults: a PostgreSQL restart mid-run, and a SQLite write lock held elsewhere."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sim.ibm_api import ScriptedJob
from bot.sim.stack import LocalStack
from bot.storage import migrate
from bot.storage.database import make_engine
from bot.storage.store import Store, WatchKey
from tests.conftest import require_postgres
from tests.integration.conftest import Harness

JOB = "d305ck0ocacs73ajagvg"


def restart_postgres() -> None:
    version = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True)
    cluster = version.stdout.split()[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"],
        check=True,
        timeout=60,
        capture_output=True,
    )


async def test_postgres_restart_mid_run(postgres_schema_url: str) -> None:
    require_postgres()
    migrate.upgrade(postgres_schema_url)
    async with LocalStack(database_url=postgres_schema_url, poll_interval=0.1) as stack:
        harness = Harness(stack)
        harness.ibm.add(ScriptedJob(JOB, queue_positions=(2, 0), step_seconds=10, run_seconds=20))
        await stack.command(f"watch {JOB} 3")
        await harness.settle(JOB)

        restart_postgres()
        harness.ibm.advance(60)
        await harness.until(lambda: (JOB, "finished") in harness.alerts(), timeout=30)
        assert stack.service is not None
        before = stack.service.engine.last_poll_tick
        await harness.until(lambda: stack.service.engine.last_poll_tick != before, timeout=5)
        healthy, details = await stack.service.health()

    assert harness.alerts().count((JOB, "finished")) == 1
    assert harness.alerts().count((JOB, "threshold_exceeded")) == 1
    assert details["database"] == "ok"
    assert healthy


def test_sqlite_write_waits_for_lock(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    url = f"sqlite:///{database}"
    migrate.upgrade(url)
    store = Store(make_engine(url))
    blocker = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(2.0, blocker.execute, args=("COMMIT",))
    release.start()

    started = time.monotonic()
    watch_id, created = store.add_watch(
        WatchKey("T1", "C1", JOB),
        user_id="U1",
        flavor="admin",
        instance=None,
        thresholds=(),
        baseline=None,
        now=datetime.now(UTC),
    )
    waited = time.monotonic() - started
    release.join()
    blocker.close()

    assert created
    assert store.get_watch(WatchKey("T1", "C1", JOB)) is not None
    assert waited >= 1.5


@pytest.fixture(autouse=True)
def _postgres_back_up() -> None:
    """Leave PostgreSQL running for the tests after these."""
    yield
    if require_postgres_reachable() is False:
        restart_postgres()


def require_postgres_reachable() -> bool:
    probe = subprocess.run(["pg_isready", "-h", "127.0.0.1"], capture_output=True)
    return probe.returncode == 0
