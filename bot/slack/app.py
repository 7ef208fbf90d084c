"""The Bolt app: the `/jobmetrics` command, the Watch button and the card's buttons."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.handlers import Caller, JobMetricsCommands, Respond
from bot.slack.messages import WATCH_ACTION_ID

log = logging.getLogger(__name__)

CARD_ACTIONS = ("card_refresh", "card_snooze", "card_stop")


def build_bolt_app(
    commands: JobMetricsCommands, *, signing_secret: str, client: AsyncWebClient
) -> AsyncApp:
    """The Bolt app; `client` carries the bot token and the Web API base URL."""
    app = AsyncApp(signing_secret=signing_secret, client=client)

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
