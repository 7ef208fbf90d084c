"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.storage import migrate
from bot.storage.database import make_engine
from bot.storage.models import Base


def test_migrations_match_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()

    assert differences == []


def test_migrations_create_every_table(database_url: str) -> None:
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()

    assert {"watches", "snapshots", "alerts", "alembic_version"} <= tables


def test_schema_check_passes_after_upgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.check_current(engine)
    engine.dispose()


def test_schema_check_rejects_empty_database(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        migrate.check_current(engine)
    except migrate.SchemaOutOfDate as exc:
        assert "jobmetrics-bot migrate" in str(exc)
    else:
        raise AssertionError("an empty database passed the schema check")
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    migrate.upgrade(database_url)

    engine = make_engine(database_url)
    migrate.check_current(engine)
    engine.dispose()
