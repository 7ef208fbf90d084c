"""Posts alerts to Slack for the engine, translating Slack errors into DeliveryError."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.engine.watcher import DeliveryError
from bot.slack.installations import WorkspaceClients
from bot.slack.messages import alert_message, card_message
from bot.storage.store import AlertClaim, CardClaim

log = logging.getLogger(__name__)

# Slack answers these when retrying cannot help; the alert is recorded as undeliverable.
PERMANENT_ERRORS = {
    "channel_not_found": "the channel does not exist or the bot cannot see it; invite the bot",
    "not_in_channel": "the bot is not a member of the channel; invite the bot with /invite",
    "is_archived": "the channel is archived",
    "channel_is_archived": "the channel is archived",
    "restricted_action": "posting to the channel is restricted",
    "msg_too_long": "the message is too long",
    "invalid_blocks": "Slack rejected the message blocks",
    "missing_scope": "the bot token lacks the chat:write scope; reinstall the app",
    "message_not_found": "the message was deleted",
    "cant_update_message": "the message cannot be edited by the bot",
}


class SlackAlertSender:
    """Posts with the bot token of each alert's workspace."""

    def __init__(self, clients: WorkspaceClients):
        self.clients = clients

    async def send(self, alert: AlertClaim) -> str:
        """Post an alert, as a reply in its card's thread when it has one."""
        message = alert_message(alert.event, mention=alert.mention)
        thread: dict[str, Any] = {}
        if alert.thread_ts:
            thread = {"thread_ts": alert.thread_ts, "reply_broadcast": alert.broadcast}
        client = await self.clients.for_team(alert.team_id)
        response = await _call(
            client.chat_postMessage,
            channel=alert.channel_id,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
            metadata=alert_metadata(alert),
            **thread,
        )
        return str(response["ts"])

    async def update_card(self, card: CardClaim) -> None:
        """Redraw a watch's card in place."""
        message = card_message(card.view)
        client = await self.clients.for_team(card.team_id)
        await _call(
            client.chat_update,
            channel=card.channel_id,
            ts=card.card_ts,
            text=message.text,
            blocks=message.blocks,
        )


async def _call(method: Any, **arguments: Any) -> Any:
    try:
        return await method(**arguments)
    except SlackApiError as exc:
        raise _delivery_error(exc) from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise DeliveryError(f"Slack unreachable: {type(exc).__name__}") from None


def alert_metadata(alert: AlertClaim) -> dict[str, object]:
    """Slack message metadata naming the alert, so that its kind and job can be read back."""
    return {
        "event_type": f"jobmetrics_{alert.event.kind.value}",
        "event_payload": {"job_id": alert.job_id, "key": alert.event.key},
    }


def _delivery_error(exc: SlackApiError) -> DeliveryError:
    status = exc.response.status_code
    code = slack_error_code(exc)
    if status == 429:
        retry_after = _retry_after(exc.response.headers)
        return DeliveryError(f"rate limited by Slack ({code})", retry_after=retry_after)
    if code in PERMANENT_ERRORS:
        return DeliveryError(f"{code}: {PERMANENT_ERRORS[code]}", permanent=True)
    return DeliveryError(f"Slack error {code}")


def slack_error_code(exc: SlackApiError) -> str:
    """Slack's error code, or the HTTP status when the body was not Slack's JSON."""
    data = exc.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {exc.response.status_code}"


def _retry_after(headers: dict[str, str]) -> float | None:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(float(value), 0.0)
            except ValueError:
                return None
    return None
