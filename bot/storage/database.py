"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool


def make_engine(url: str, *, pooled: bool = True) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and enforced foreign keys.

    `pooled=False` opens one connection per use, for one-off work such as migrations.
    """
    options: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
        return engine

    if pooled:
        options.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
    return create_engine(url, **options)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _configure_sqlite(connection: Any, _record: Any) -> None:
    # The sqlite3 module's own transaction handling starts transactions lazily and breaks
    # savepoints; SQLAlchemy takes over and `_begin_immediate` opens each transaction.
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode, NORMAL syncs the log at checkpoints rather than at every commit. A crash of
    # the process loses nothing. A power loss or OS crash can undo the last commits, though the
    # database stays consistent: the polls in them run again and queue their alerts again, and
    # an alert whose "sent" mark was undone is posted a second time.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock when a transaction starts, waiting up to the busy timeout.

    A deferred transaction that reads first and writes later fails at once with "database is
    locked" when another writer went first; an immediate one waits its turn instead.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")
