"""Log lines: JSON with the watch's ids as fields, and secrets masked."""

from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter, SecretMaskFilter


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("bot.engine.polling", logging.INFO, __file__, 1, message, args, None)


def test_json_line_lifts_ids_into_fields() -> None:
    line = JsonFormatter().format(
        record("alert sent kind=%s job_id=%s channel=%s team=%s", "started", "c5dge2", "C1", "T1")
    )

    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "bot.engine.polling"
    assert entry["job_id"] == "c5dge2"
    assert entry["channel"] == "C1"
    assert entry["team"] == "T1"
    assert entry["message"].startswith("alert sent kind=started")


def test_secret_is_masked_in_any_line() -> None:
    line = record("calling with token %s", "xoxb-very-secret-token")

    SecretMaskFilter(["xoxb-very-secret-token"]).filter(line)

    assert "xoxb-very-secret-token" not in line.getMessage()
    assert "[secret]" in line.getMessage()


def test_short_values_are_not_treated_as_secrets() -> None:
    line = record("state is %s", "ok")

    SecretMaskFilter(["ok"]).filter(line)

    assert line.getMessage() == "state is ok"
