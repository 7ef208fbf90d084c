"""Workspace installations: slack_sdk's SQLAlchemy stores on our database, and the Web API
client for each workspace the scheduler posts to."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from bot.engine.delivery import DeliveryError

log = logging.getLogger(__name__)

# OAuth state values are valid this long: the time a person has to approve the install.
STATE_EXPIRATION_SECONDS = 600
CLIENT_CACHE_SECONDS = 300.0


def make_client(token: str | None, base_url: str) -> AsyncWebClient:
    """Create a Web API client that never retries on its own: a retried post could appear twice, so
    the engine decides about every retry."""
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=[], timeout=15)


class InstallationStore(AsyncInstallationStore):
    """slack_sdk's synchronous SQLAlchemy store, run in threads for Bolt's asyncio app.

    The tables are created by our migrations, not by the store.
    """

    def __init__(self, client_id: str, engine: Engine):
        self.sync = SQLAlchemyInstallationStore(client_id=client_id, engine=engine, logger=log)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.sync.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.sync.save_bot, bot)

    async def async_find_bot(self, **kwargs: Any) -> Bot | None:
        return await asyncio.to_thread(lambda: self.sync.find_bot(**kwargs))

    async def async_find_installation(self, **kwargs: Any) -> Installation | None:
        return await asyncio.to_thread(lambda: self.sync.find_installation(**kwargs))

    async def async_delete_bot(self, **kwargs: Any) -> None:
        await asyncio.to_thread(lambda: self.sync.delete_bot(**kwargs))

    async def async_delete_installation(self, **kwargs: Any) -> None:
        await asyncio.to_thread(lambda: self.sync.delete_installation(**kwargs))


class OAuthStateStore(AsyncOAuthStateStore):
    """slack_sdk's synchronous SQLAlchemy OAuth state store, run in threads."""

    def __init__(self, engine: Engine):
        self.sync = SQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine, logger=log
        )

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.sync.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.sync.consume, state)


class WorkspaceClients:
    """The Web API client to post with in each workspace.

    With one bot token (a single-workspace deployment) every team uses it. With OAuth
    installs each team's bot token comes from the installation store, cached for a few
    minutes so that a revoked install stops posting soon after.
    """

    def __init__(
        self,
        base_url: str,
        *,
        default: AsyncWebClient | None = None,
        installations: InstallationStore | None = None,
    ):
        self.base_url = base_url
        self.default = default
        self.installations = installations
        self._clients: dict[str, tuple[float, AsyncWebClient]] = {}

    async def for_team(self, team_id: str) -> AsyncWebClient:
        """Return the client for a team; raise DeliveryError when the app is not installed there."""
        if self.installations is None:
            assert self.default is not None, "a single-workspace deployment needs a bot token"
            return self.default

        cached = self._clients.get(team_id)
        if cached is not None and time.monotonic() - cached[0] < CLIENT_CACHE_SECONDS:
            return cached[1]

        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            self._clients.pop(team_id, None)
            raise DeliveryError(
                f"the app is not installed in workspace {team_id}; install it from /slack/install",
                permanent=True,
            )

        client = make_client(bot.bot_token, self.base_url)
        self._clients[team_id] = (time.monotonic(), client)
        return client

    def forget(self, team_id: str) -> None:
        """Drop a team's cached client, after an uninstall or a token revocation."""
        self._clients.pop(team_id, None)
