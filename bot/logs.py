"""Logging setup: one plain-text line per event, with configured secrets masked."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable

from bot.config import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "[secret]"


class SecretMaskFilter(logging.Filter):
    """Replace any configured secret value in a record's final text.

    A last line of defence: code must not log secrets in the first place.
    """

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = sorted(
            {secret for secret in secrets if len(secret) >= 6}, key=len, reverse=True
        )

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = message
        for secret in self.secrets:
            masked = masked.replace(secret, MASK)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


class _BoltTokenNoticeFilter(logging.Filter):
    """Drop Bolt's notice that its token is unused: Bolt reads SLACK_BOT_TOKEN from the
    environment by itself, while the bot deliberately hands it a configured client."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "token` will be unused" not in record.getMessage()


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the job, channel and team lifted out of the message."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        for key, value in _CONTEXT.findall(message):
            entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


# The ids every line about a watch carries, as `job_id=... channel=... team=...`.
_CONTEXT = re.compile(r"\b(job_id|channel|team|user)=([A-Za-z0-9_-]+)")


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    formatter = JsonFormatter() if settings.log_format == "json" else logging.Formatter(FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(SecretMaskFilter(settings_secrets(settings)))
    handler.addFilter(_BoltTokenNoticeFilter())

    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("apscheduler", "httpx", "httpcore", "slack_bolt", "slack_sdk"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def settings_secrets(settings: Settings) -> list[str]:
    values = [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.ibm_quantum_token,
        settings.ibm_cloud_api_key,
        settings.slack_client_secret,
    ]
    return [value.get_secret_value() for value in values if value is not None]
