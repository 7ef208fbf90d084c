"""The Bolt app: the `/jobmetrics` command, the Watch button and the card's buttons."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.handlers import Caller, JobMetricsCommands, Respond
from bot.slack.installations import InstallationStore, OAuthStateStore
from bot.slack.messages import WATCH_ACTION_ID

log = logging.getLogger(__name__)

CARD_ACTIONS = ("card_refresh", "card_snooze", "card_stop")

# Bot token scopes requested at install, and what each is for.
BOT_SCOPES = (
    "commands",  # the /jobmetrics slash command
    "chat:write",  # cards, alerts and replies
    "chat:write.public",  # posting in public channels the bot was not invited to
    "channels:read",  # conversations.members: card buttons are for channel members only
    "groups:read",  # the same in private channels
)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


@dataclass(frozen=True)
class OAuthSetup:
    """Credentials and stores that multi-workspace installs need."""

    client_id: str
    client_secret: str
    installations: InstallationStore
    states: OAuthStateStore


def build_bolt_app(
    commands: JobMetricsCommands,
    *,
    signing_secret: str,
    client: AsyncWebClient,
    oauth: OAuthSetup | None = None,
) -> AsyncApp:
    """Build the Bolt app. `client` carries the Web API base URL, and the bot token unless `oauth`
    is given, in which case each request's workspace token comes from the installations."""
    if oauth is None:
        app = AsyncApp(signing_secret=signing_secret, client=client)
    else:
        app = AsyncApp(
            signing_secret=signing_secret,
            client=client,
            installation_store=oauth.installations,
            oauth_settings=AsyncOAuthSettings(
                client_id=oauth.client_id,
                client_secret=oauth.client_secret,
                scopes=list(BOT_SCOPES),
                installation_store=oauth.installations,
                state_store=oauth.states,
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
            ),
        )

    @app.event("app_uninstalled")
    async def on_uninstalled(ack: Any, context: Any, body: dict[str, Any]) -> None:
        await ack()
        await commands.workspace_removed(body.get("team_id") or context.team_id, "app uninstalled")

    @app.event("tokens_revoked")
    async def on_tokens_revoked(ack: Any, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        if (event.get("tokens") or {}).get("bot"):
            await commands.workspace_removed(body.get("team_id", ""), "bot token revoked")

    @app.command("/jobmetrics")
    async def on_command(ack: Any, command: dict[str, Any], respond: Respond, client: Any) -> None:
        await ack()
        caller = Caller(command["team_id"], command["channel_id"], command["user_id"])
        await commands.run(command.get("text") or "", caller, respond, client)

    @app.action(WATCH_ACTION_ID)
    async def on_watch_button(
        ack: Any, body: dict[str, Any], respond: Respond, client: Any
    ) -> None:
        await ack()
        job_id = body["actions"][0]["value"]
        await commands.watch(job_id, (), _caller(body), respond, client)

    for action_id in CARD_ACTIONS:
        app.action(action_id)(_card_listener(commands, action_id))

    return app


def _card_listener(commands: JobMetricsCommands, action_id: str) -> Any:
    async def on_card_button(ack: Any, body: dict[str, Any], respond: Respond, client: Any) -> None:
        await ack()
        value = body["actions"][0].get("value", "")
        caller = _caller(body)
        if not value.isdigit():
            log.warning("card button with invalid value %r %s", value, caller)
            return
        await commands.card_action(action_id, int(value), caller, respond, client)

    return on_card_button


def _caller(body: dict[str, Any]) -> Caller:
    return Caller(body["team"]["id"], body["channel"]["id"], body["user"]["id"])
