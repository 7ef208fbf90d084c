"""One bot process per SQLite database: an exclusive lock on a file beside the database.

SQLite has no `SELECT ... FOR UPDATE SKIP LOCKED`, so two processes polling one SQLite file
would claim the same watches. `serve` and `worker` each take this lock before touching the
database, and a second process stops with a message that says what to do instead.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


class DatabaseInUse(Exception):
    """Another process holds the SQLite database's process lock."""


class SqliteProcessLock:
    """An exclusive `flock` on `<database>.lock`, held until `release()` or process exit.

    The kernel drops the lock when the process dies, so a crashed bot never leaves a stale
    lock behind. NOTE: flock works between processes on one host; it does not protect a
    SQLite file shared over a network file system.
    """

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock; raise DatabaseInUse naming the holder's pid when another has it."""
        if self._file is not None:
            return
        lock_file = self.path.open("a+")
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(lock_file)
            lock_file.close()
            raise DatabaseInUse(_in_use_message(self.database, holder)) from None

        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"{os.getpid()}\n")
        lock_file.flush()
        self._file = lock_file
        log.info("took the single-process lock %s", self.path)

    def release(self) -> None:
        if self._file is None:
            return
        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self._file.close()
        self._file = None


def _read_pid(lock_file: IO[str]) -> str:
    lock_file.seek(0)
    return lock_file.read().strip() or "unknown"


def _in_use_message(database: Path, holder: str) -> str:
    return (
        f"the SQLite database {database} is already used by another jobmetrics-bot process "
        f"(pid {holder}). SQLite supports one `serve` or `worker` process: stop the other "
        "process, or set DATABASE_URL to a PostgreSQL database to run several workers."
    )
