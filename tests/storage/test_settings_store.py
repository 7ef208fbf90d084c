"""Channel settings and the audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, time

from bot.domain.channel_settings import ChannelSettings, QuietHours
from bot.storage.settings_store import Actor
from bot.storage.store import Store

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ACTOR = Actor("T1", "C1", "U1")
QUIET = QuietHours(time(22, 0), time(7, 0), "Europe/Berlin")


def test_unset_channel_has_defaults(store: Store) -> None:
    assert store.settings.get("T1", "C1") == ChannelSettings()


def test_change_round_trips_every_field(store: Store) -> None:
    wanted = ChannelSettings(
        thresholds=(60.0, 300.0),
        oncall_channel="C0ONCALL",
        oncall_mention="<!subteam^S1>",
        final_in_channel=False,
        quiet_hours=QUIET,
    )

    store.settings.change(ACTOR, lambda _: wanted, "everything", NOW)

    assert store.settings.get("T1", "C1") == wanted
    assert store.settings.get("T1", "C2") == ChannelSettings()


def test_concurrent_changes_both_land(store: Store) -> None:
    changes = [
        lambda settings: replace(settings, thresholds=(90.0,)),
        lambda settings: replace(settings, quiet_hours=QUIET),
        lambda settings: replace(settings, final_in_channel=False),
        lambda settings: replace(settings, oncall_channel="C0ONCALL"),
    ]

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda apply: store.settings.change(ACTOR, apply, "change", NOW), changes))

    settings = store.settings.get("T1", "C1")
    assert settings.thresholds == (90.0,)
    assert settings.quiet_hours == QUIET
    assert settings.final_in_channel is False
    assert settings.oncall_channel == "C0ONCALL"


def test_changes_are_audited_with_who(store: Store) -> None:
    store.settings.change(ACTOR, lambda s: s, "quiet hours off", NOW)
    store.settings.record(Actor("T1", "C1", "U2"), "snooze", "c5dge2d3rn7breq27i9g", "1h", NOW)

    entries = store.settings.audit_log("T1", "C1")

    assert [(e.action, e.user_id, e.detail) for e in entries] == [
        ("settings", "U1", "quiet hours off"),
        ("snooze", "U2", "1h"),
    ]
