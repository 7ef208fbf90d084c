"""Logging setup: one plain-text line per event, with configured secrets masked."""

from __future__ import annotations

import logging
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


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
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
    ]
    return [value.get_secret_value() for value in values if value is not None]
