"""Signed Slack requests, built the way Slack builds them, for the demo and tests."""

from __future__ import annotations

import json
import time
from itertools import count
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

_trigger_ids = count(1)


def signed_headers(
    signing_secret: str,
    body: str,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers Slack sends with a request body: timestamp and v0 HMAC-SHA256 signature."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


def slash_command_body(
    text: str,
    *,
    response_url: str,
    team_id: str = "T0DEMO",
    channel_id: str = "C0DEMO",
    user_id: str = "U0DEMO",
    command: str = "/jobmetrics",
) -> str:
    """Build the form body of a slash command invocation."""
    number = next(_trigger_ids)
    return urlencode(
        {
            "token": "unused-verification-token",
            "team_id": team_id,
            "team_domain": "demo",
            "channel_id": channel_id,
            "channel_name": "demo",
            "user_id": user_id,
            "user_name": "demo-user",
            "command": command,
            "text": text,
            "api_app_id": "A0DEMO",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{number}.demo",
        }
    )


def block_action_body(
    action_id: str,
    value: str,
    *,
    response_url: str,
    team_id: str = "T0DEMO",
    channel_id: str = "C0DEMO",
    user_id: str = "U0DEMO",
) -> str:
    """Build the form body of a button click on a message."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "demo"},
        "user": {"id": user_id, "team_id": team_id},
        "api_app_id": "A0DEMO",
        "channel": {"id": channel_id, "name": "demo"},
        "container": {"type": "message", "channel_id": channel_id, "is_ephemeral": True},
        "trigger_id": f"{next(_trigger_ids)}.demo",
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def event_callback_body(event: dict[str, Any], *, team_id: str) -> str:
    """Build the JSON body of an Events API delivery."""
    number = next(_trigger_ids)
    return json.dumps(
        {
            "token": "unused-verification-token",
            "team_id": team_id,
            "api_app_id": "A0SIM",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{number:08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team_id, "is_bot": True, "user_id": "U0SIMBOT"}],
        }
    )
