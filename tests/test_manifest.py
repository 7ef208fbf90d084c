"""The app manifest and the generated configuration reference match the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.config_reference import render_reference
from bot.slack.app import BOT_SCOPES, CARD_ACTIONS, INSTALL_PATH, REDIRECT_PATH
from bot.slack.commands import COMMAND

ROOT = Path(__file__).resolve().parents[1]


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_declares_the_slash_command() -> None:
    [command] = manifest()["features"]["slash_commands"]

    assert command["command"] == COMMAND
    assert command["url"].endswith("/slack/events")
    assert command["should_escape"] is True


def test_manifest_scopes_are_exactly_those_used() -> None:
    assert manifest()["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)


def test_manifest_routes_match_the_web_app() -> None:
    settings = manifest()["settings"]

    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert manifest()["oauth_config"]["redirect_urls"][0].endswith(REDIRECT_PATH)
    assert INSTALL_PATH == "/slack/install"
    assert set(CARD_ACTIONS) == {"card_refresh", "card_snooze", "card_stop"}


def test_manifest_subscribes_to_uninstall_events() -> None:
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]

    assert sorted(events) == ["app_uninstalled", "tokens_revoked"]


def test_configuration_reference_is_current() -> None:
    written = (ROOT / "docs" / "configuration.md").read_text()

    assert written == render_reference(), (
        "docs/configuration.md is out of date; run "
        "`jobmetrics-bot config-reference > docs/configuration.md`"
    )


def test_env_example_names_every_setting(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from bot.config import Settings, load_settings

    example = (ROOT / ".env.example").read_text()
    names = {
        line.split("=", 1)[0] for line in example.splitlines() if "=" in line and line[0] != "#"
    }
    (tmp_path / ".env").write_text(example)
    monkeypatch.chdir(tmp_path)

    assert names == {name.upper() for name in Settings.model_fields}
    assert load_settings().ibm_api_flavor.value == "admin"
