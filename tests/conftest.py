"""Shared fixtures: a migrated database on SQLite and on PostgreSQL for every storage test.

PostgreSQL tests use TEST_POSTGRES_URL (default: the local server's `test` database). Each
test gets its own schema, dropped afterwards. Without a reachable server they skip with the
reason, except under CI=true, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.storage import migrate
from bot.storage.database import make_engine
from bot.storage.store import Store

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_unavailable_reason() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        where = make_url(POSTGRES_URL).render_as_string()
        return f"PostgreSQL at {where} unreachable: {type(exc).__name__}"
    return None


_POSTGRES_PROBLEM: str | None | bool = False


def postgres_problem() -> str | None:
    global _POSTGRES_PROBLEM
    if _POSTGRES_PROBLEM is False:
        _POSTGRES_PROBLEM = _postgres_unavailable_reason()
    return _POSTGRES_PROBLEM  # type: ignore[return-value]


def require_postgres() -> None:
    problem = postgres_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem}; CI must run the PostgreSQL tests")
    pytest.skip(f"{problem}; set TEST_POSTGRES_URL to run the PostgreSQL tests")


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections use a new, empty schema, dropped after the test."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    # Pre-ping: a test may restart the server, which closes pooled connections.
    admin = create_engine(POSTGRES_URL, pool_pre_ping=True)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)

    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty, migrated database on each backend."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    url = request.getfixturevalue(name)
    migrate.upgrade(url)
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = make_engine(database_url)
    yield Store(engine)
    engine.dispose()
