"""Alembic environment: runs migrations on the URL set by bot.storage.migrate."""

from __future__ import annotations

from alembic import context

from bot.storage.database import make_engine
from bot.storage.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url, pooled=False)

    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `jobmetrics-bot migrate`")

run_migrations_online()
