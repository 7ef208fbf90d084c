"""The `/jobmetrics` text parser: every subcommand, threshold forms and error messages."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.channel_settings import QuietHours
from bot.slack.commands import (
    MAX_THRESHOLDS,
    SETTINGS_USAGE,
    SNOOZE_USAGE,
    USAGE,
    CommandError,
    HelpCommand,
    ListCommand,
    SetFinalPostsCommand,
    SetOncallCommand,
    SetQuietHoursCommand,
    SetThresholdsCommand,
    SettingsShowCommand,
    ShowCommand,
    SnoozeCommand,
    UnwatchCommand,
    WatchCommand,
    parse_command,
    parse_duration,
    parse_threshold,
)

JOB = "d305ck0ocacs73ajagvg"
LINK = f"https://quantum.cloud.ibm.com/jobs/{JOB}"

PARSED = [
    ("", HelpCommand()),
    ("   ", HelpCommand()),
    ("help", HelpCommand()),
    ("HELP", HelpCommand()),
    ("help watch", HelpCommand()),
    ("list", ListCommand()),
    (" List ", ListCommand()),
    (JOB, ShowCommand(JOB)),
    (LINK, ShowCommand(JOB)),
    (f"<{LINK}|{LINK}>", ShowCommand(JOB)),
    (f"<{LINK}|a label with spaces>", ShowCommand(JOB)),
    (f"watch {JOB}", WatchCommand(JOB, ())),
    (f"Watch {LINK}?instance=crn:v1:x", WatchCommand(JOB, ())),
    (f"watch {JOB} 90", WatchCommand(JOB, (90.0,))),
    (f"watch {JOB} 90s", WatchCommand(JOB, (90.0,))),
    (f"watch {JOB} 5m", WatchCommand(JOB, (300.0,))),
    (f"watch {JOB} 1h", WatchCommand(JOB, (3600.0,))),
    (f"watch {JOB} 1.5h", WatchCommand(JOB, (5400.0,))),
    (f"watch {JOB} 0.5", WatchCommand(JOB, (0.5,))),
    (f"watch {JOB} 2 min", WatchCommand(JOB, (120.0,))),
    (f"watch {JOB} 90,5m", WatchCommand(JOB, (90.0, 300.0))),
    (f"watch {JOB} 1h, 90 , 5M", WatchCommand(JOB, (90.0, 300.0, 3600.0))),
    (f"watch {JOB} 60 1m", WatchCommand(JOB, (60.0,))),
    (f"unwatch {JOB}", UnwatchCommand(JOB)),
    (f"unwatch <{LINK}>", UnwatchCommand(JOB)),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_command_parsed(text: str, expected: object) -> None:
    assert parse_command(text) == expected


REJECTED = [
    ("watch", "The job ID is missing"),
    ("unwatch", "The job ID is missing"),
    ("wach " + JOB, "Unknown subcommand `wach`. Did you mean `watch`?"),
    ("lsit", "Unknown subcommand `lsit`. Did you mean `list`?"),
    ("unwach " + JOB, "Did you mean `unwatch`?"),
    ("frobnicate " + JOB, "Unknown subcommand `frobnicate`."),
    ("list everything", "Too many arguments: `list` takes nothing more, but got `everything`"),
    (f"unwatch {JOB} now", "Too many arguments: `unwatch` takes nothing more, but got `now`"),
    (f"{JOB} 90", "Too many arguments: `90` follows the job ID"),
    (f"watch {JOB} 0", "The threshold `0` is out of range"),
    (f"watch {JOB} 0s", "The threshold `0s` is out of range"),
    (f"watch {JOB} 200h", "The threshold `200h` is out of range"),
    (f"watch {JOB} -5", "`-5` is not a valid threshold"),
    (f"watch {JOB} ten", "`ten` is not a valid threshold"),
    (f"watch {JOB} 5x", "`5x` is not a valid threshold"),
    (f"watch {JOB} nan", "`nan` is not a valid threshold"),
    (f"watch {JOB} inf", "`inf` is not a valid threshold"),
    (f"watch {JOB} 1e3", "`1e3` is not a valid threshold"),
    (f"watch {JOB} 9" + "9" * 400, "is out of range"),
    (f"watch {JOB} " + " ".join(["1"] * (MAX_THRESHOLDS + 1)), "Too many thresholds (11)"),
    ("watch job!id", "'job!id' is not a valid job ID"),
    ("watch https://quantum.ibm.com/jobs/", "contains no /jobs/&lt;job ID&gt; part"),
]


@pytest.mark.parametrize(("text", "fragment"), REJECTED)
def test_command_rejected(text: str, fragment: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)

    assert fragment in caught.value.problem
    assert caught.value.message.startswith(caught.value.problem)
    assert caught.value.message.endswith(caught.value.usage)


def test_error_escapes_user_value() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("watch <!channel> 5m")

    assert "<!channel>" not in caught.value.message
    assert "&lt;!channel&gt;" in caught.value.problem


def test_error_escapes_ampersand_once() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(f"watch {JOB} a&b")

    assert "`a&amp;b`" in caught.value.problem
    assert "&amp;amp;" not in caught.value.problem


def test_error_escapes_usage() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("lsit")

    assert "<" not in caught.value.message
    assert ">" not in caught.value.message
    assert "&lt;job ID or link&gt;" in caught.value.usage


def test_error_shortens_long_value() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(f"watch {JOB} " + "z" * 3000)

    assert len(caught.value.problem) < 300


def test_error_names_too_long_id() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("watch " + "a" * 65)

    assert "too long (65 characters)" in caught.value.problem


def test_usage_lists_every_subcommand() -> None:
    for subcommand in ("watch", "unwatch", "list", "settings", "snooze", "help"):
        assert f"/jobmetrics {subcommand}" in USAGE


def test_usage_lists_every_setting() -> None:
    for setting in ("thresholds", "oncall", "final thread", "final channel", "quiet"):
        assert f"/jobmetrics settings {setting}" in SETTINGS_USAGE
        assert f"/jobmetrics settings {setting}" in USAGE
    assert SNOOZE_USAGE in USAGE


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90sec", 90.0), ("2minutes", 120.0), (".5h", 1800.0), ("3 hrs", 10800.0)],
)
def test_threshold_units(text: str, seconds: float) -> None:
    assert parse_threshold(text) == seconds


COMMAND_TYPES = (
    ShowCommand
    | WatchCommand
    | UnwatchCommand
    | ListCommand
    | HelpCommand
    | SettingsShowCommand
    | SetThresholdsCommand
    | SetOncallCommand
    | SetFinalPostsCommand
    | SetQuietHoursCommand
    | SnoozeCommand
)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_command_or_error(text: str) -> None:
    try:
        command = parse_command(text)
    except CommandError as exc:
        assert exc.problem
        assert "<" not in exc.message
    else:
        assert isinstance(command, COMMAND_TYPES)


WORDS = st.sampled_from(
    [
        "watch",
        "unwatch",
        "list",
        "help",
        "settings",
        "snooze",
        "thresholds",
        "oncall",
        "final",
        "quiet",
        "all",
        "off",
        "none",
        "thread",
        "channel",
        JOB,
        LINK,
        "5m",
        "1.5h",
        "2h30m",
        "8d",
        ",",
        "0",
        "22:00-07:00",
        "07:60",
        "-",
        "Europe/Berlin",
        "Europe",
        "a" * 300,
        "<#C123ABC|oncall>",
        "#oncall",
        "<!subteam^S1|@sre>",
        "<@U1>",
        "<!here>",
        "@sre",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(WORDS | st.text(max_size=12), max_size=6))
def test_command_like_text_gives_command_or_error(words: list[str]) -> None:
    try:
        command = parse_command(" ".join(words))
    except CommandError as exc:
        assert exc.problem
        assert "<" not in exc.message
    else:
        assert isinstance(command, COMMAND_TYPES)
        if isinstance(command, WatchCommand | SetThresholdsCommand):
            assert all(0 < value <= 7 * 24 * 3600 for value in command.thresholds)
        if isinstance(command, SnoozeCommand):
            assert 0 <= command.seconds <= 7 * 24 * 3600
        if isinstance(command, SetQuietHoursCommand) and command.quiet is not None:
            assert command.quiet.start != command.quiet.end


# -- settings and snooze ----------------------------------------------------------------------

BERLIN_NIGHT = QuietHours(start=time(22, 0), end=time(7, 0), timezone="Europe/Berlin")

SETTINGS_PARSED = [
    ("settings", SettingsShowCommand()),
    (" Settings ", SettingsShowCommand()),
    ("settings thresholds 60s, 5m, 1h", SetThresholdsCommand((60.0, 300.0, 3600.0))),
    ("settings thresholds 1h 90", SetThresholdsCommand((90.0, 3600.0))),
    ("settings THRESHOLDS 2 min", SetThresholdsCommand((120.0,))),
    ("settings thresholds none", SetThresholdsCommand(())),
    ("settings thresholds None", SetThresholdsCommand(())),
    (
        "settings oncall <#C123ABC|oncall> <!subteam^S123|@sre>",
        SetOncallCommand("C123ABC", "<!subteam^S123|@sre>"),
    ),
    ("settings oncall <#C123ABC> <!subteam^S123>", SetOncallCommand("C123ABC", "<!subteam^S123>")),
    ("settings oncall <#C123ABC|> <@U0ALICE>", SetOncallCommand("C123ABC", "<@U0ALICE>")),
    (
        "settings oncall <#G0PRIV|ops> <@U0ALICE|alice>",
        SetOncallCommand("G0PRIV", "<@U0ALICE|alice>"),
    ),
    ("settings oncall C123ABC <!here>", SetOncallCommand("C123ABC", "<!here>")),
    ("settings oncall C123ABC", SetOncallCommand("C123ABC", None)),
    ("settings oncall <#C123ABC|oncall>", SetOncallCommand("C123ABC", None)),
    ("settings oncall off", SetOncallCommand(None, None)),
    ("settings oncall OFF", SetOncallCommand(None, None)),
    ("settings final thread", SetFinalPostsCommand(in_channel=False)),
    ("settings final Channel", SetFinalPostsCommand(in_channel=True)),
    ("settings quiet 22:00-07:00 Europe/Berlin", SetQuietHoursCommand(BERLIN_NIGHT)),
    ("settings quiet 22:00 - 07:00 Europe/Berlin", SetQuietHoursCommand(BERLIN_NIGHT)),
    (
        "settings quiet 9:30-17:00",
        SetQuietHoursCommand(QuietHours(time(9, 30), time(17, 0), "UTC")),
    ),
    (
        "settings quiet 00:00-23:59 utc",
        SetQuietHoursCommand(QuietHours(time(0, 0), time(23, 59), "UTC")),
    ),
    (
        "settings quiet 23:00-06:00 America/New_York",
        SetQuietHoursCommand(QuietHours(time(23, 0), time(6, 0), "America/New_York")),
    ),
    ("settings quiet off", SetQuietHoursCommand(None)),
]


@pytest.mark.parametrize(("text", "expected"), SETTINGS_PARSED)
def test_settings_parsed(text: str, expected: object) -> None:
    assert parse_command(text) == expected


SNOOZE_PARSED = [
    (f"snooze {JOB} 30m", SnoozeCommand(JOB, 1800.0)),
    (f"snooze {LINK} 1h", SnoozeCommand(JOB, 3600.0)),
    ("snooze all 90s", SnoozeCommand(None, 90.0)),
    ("snooze ALL 2h30m", SnoozeCommand(None, 9000.0)),
    ("snooze all 2h 30m", SnoozeCommand(None, 9000.0)),
    ("snooze all 1d", SnoozeCommand(None, 86400.0)),
    ("snooze all 7d", SnoozeCommand(None, 604800.0)),
    ("snooze all 45min", SnoozeCommand(None, 2700.0)),
    ("snooze all 1.5H", SnoozeCommand(None, 5400.0)),
    (f"snooze {JOB} off", SnoozeCommand(JOB, 0.0)),
    ("snooze all Off", SnoozeCommand(None, 0.0)),
]


@pytest.mark.parametrize(("text", "expected"), SNOOZE_PARSED)
def test_snooze_parsed(text: str, expected: object) -> None:
    assert parse_command(text) == expected


SETTINGS_REJECTED = [
    ("settings colour blue", "Unknown setting `colour`: expected one of `thresholds`, `oncall`"),
    ("settings treshold 5m", "Unknown setting `treshold`"),
    ("settings treshold 5m", "Did you mean `thresholds`?"),
    ("settings thresholds", "The thresholds are missing: expected billed-time thresholds"),
    ("settings thresholds 5x", "`5x` is not a valid threshold: expected billed seconds"),
    ("settings thresholds 0", "The threshold `0` is out of range: expected more than 0"),
    ("settings thresholds none 5m", "`none` is not a valid threshold"),
    ("settings thresholds " + "1 " * 11, "Too many thresholds (11): a watch takes at most 10"),
    ("settings oncall", "The on-call channel is missing: expected a channel such as `#oncall`"),
    ("settings oncall #oncall", "The channel `#oncall` arrived as plain text"),
    ("settings oncall #oncall", '"Escape channels, users, and links"'),
    ("settings oncall #oncall", "or give the channel ID such as `C0123ABCD`"),
    ("settings oncall oncall", "`oncall` is not a channel: expected a channel such as `#oncall`"),
    ("settings oncall <@U1>", "`&lt;@U1&gt;` is not a channel: expected a channel"),
    ("settings oncall C123ABC @sre", "The mention `@sre` arrived as plain text"),
    ("settings oncall C123ABC <!channel>", "`&lt;!channel&gt;` is not a mention this bot accepts"),
    ("settings oncall C123ABC <!channel>", "expected a user such as `@alice`, a user group"),
    ("settings oncall C123ABC sre", "`sre` is not a mention this bot accepts"),
    ("settings oncall C123ABC <@U1> <@U2>", "Too many arguments: `&lt;@U2&gt;` follows"),
    ("settings final", "Expected `thread` or `channel` after `final`, but got nothing"),
    ("settings final both", "Expected `thread` or `channel` after `final`, but got `both`"),
    ("settings final thread channel", "but got `thread channel`"),
    ("settings quiet", "The quiet hours are missing: expected a daily window such as"),
    ("settings quiet Europe/Berlin", "The quiet hours are missing"),
    ("settings quiet 22-07", "`22-07` is not a quiet-hours window: expected start and end as"),
    ("settings quiet 22:00", "`22:00` is not a quiet-hours window"),
    ("settings quiet 24:00-07:00", "`24:00` in `24:00-07:00` is not a time of day"),
    ("settings quiet 22:00-07:60", "`07:60` in `22:00-07:60` is not a time of day: expected HH:MM"),
    ("settings quiet 07:00-07:00", "The quiet hours `07:00-07:00` start and end at the same time"),
    ("settings quiet 7:00-07:00", "start and end at the same time"),
    (
        "settings quiet 22:00-07:00 Europe/Berln",
        "`Europe/Berln` is not a time zone: expected an IANA name such as `Europe/Berlin`",
    ),
    ("settings quiet 22:00-07:00 Europe", "`Europe` is not a time zone"),
    ("settings quiet 22:00-07:00 europe/berlin", "`europe/berlin` is not a time zone"),
    ("settings quiet 22:00-07:00 ../../etc/passwd", "is not a time zone"),
    ("settings quiet 22:00-07:00 " + "a" * 300, "is not a time zone"),
    ("settings quiet 22:00-07:00 Europe Berlin", "is not a quiet-hours window"),
]


@pytest.mark.parametrize(("text", "fragment"), SETTINGS_REJECTED)
def test_settings_rejected(text: str, fragment: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)

    assert fragment in caught.value.problem
    assert caught.value.message.endswith(caught.value.usage)
    assert caught.value.usage == SETTINGS_USAGE.replace("<", "&lt;").replace(">", "&gt;")


SNOOZE_REJECTED = [
    ("snooze", "The job is missing: expected a job ID, a job link or `all`"),
    ("snooze all", "The duration is missing after `all`: expected a duration such as `30m`"),
    (f"snooze {JOB}", f"The duration is missing after `{JOB}`"),
    ("snooze all 30", "`30` is not a duration: expected a number with a unit"),
    ("snooze all soon", "`soon` is not a duration"),
    ("snooze all 1w", "`1w` is not a duration"),
    ("snooze all -5m", "`-5m` is not a duration"),
    ("snooze all 1ms", "`1ms` is not a duration"),
    ("snooze all 0m", "The duration `0m` is out of range: expected more than 0 seconds"),
    ("snooze all 8d", "The duration `8d` is out of range"),
    ("snooze all 7d1s", "at most 7 days"),
    ("snooze all 9" + "9" * 400 + "d", "is out of range"),
    ("snooze job!id 1h", "'job!id' is not a valid job ID"),
]


@pytest.mark.parametrize(("text", "fragment"), SNOOZE_REJECTED)
def test_snooze_rejected(text: str, fragment: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)

    assert fragment in caught.value.problem
    assert caught.value.message.endswith(caught.value.usage)


@pytest.mark.parametrize(
    ("text", "suggestion"), [("setings", "settings"), ("snoze all 1h", "snooze")]
)
def test_new_subcommand_typo_suggested(text: str, suggestion: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)

    assert f"Did you mean `{suggestion}`?" in caught.value.problem


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90.0), ("1h30m", 5400.0), ("1d2h", 93600.0), ("3M", 180.0)]
)
def test_duration_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
