"""Add slack_sdk's installation and OAuth state tables for multi-workspace installs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SLACK_TABLES = ("slack_installations", "slack_bots", "slack_oauth_states")


def slack_tables() -> list[sa.Table]:
    """The tables as slack_sdk's SQLAlchemy stores define them, so the stores read and
    write exactly these columns."""
    metadata = sa.MetaData()
    return [
        SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations"),
        SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots"),
        SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states"),
    ]


def upgrade() -> None:
    for table in slack_tables():
        op.create_table(table.name, *[column._copy() for column in table.columns])
        for index in table.indexes:
            columns = [column.name for column in index.columns]
            op.create_index(index.name, table.name, columns)


def downgrade() -> None:
    for name in reversed(SLACK_TABLES):
        op.drop_table(name)
