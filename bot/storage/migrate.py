"""Alembic migrations run from code: `migrate` upgrades, replicas check the schema is current."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class SchemaOutOfDate(Exception):
    """The database schema is older (or newer) than this release expects."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the schema to the newest revision, creating it from nothing when needed."""
    command.upgrade(alembic_config(url), "head")


def check_current(engine: Engine) -> None:
    """Raise SchemaOutOfDate unless the database is at the newest revision."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()

    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at revision {current or 'none'}, this release needs {head}; "
            "run `jobmetrics-bot migrate` first"
        )
