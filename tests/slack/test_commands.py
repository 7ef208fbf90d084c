"""The `/jobmetrics` text parser: every subcommand, threshold forms and error messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.commands import (
    MAX_THRESHOLDS,
    USAGE,
    CommandError,
    HelpCommand,
    ListCommand,
    ShowCommand,
    UnwatchCommand,
    WatchCommand,
    parse_command,
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
    for subcommand in ("watch", "unwatch", "list", "help"):
        assert f"/jobmetrics {subcommand}" in USAGE


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90sec", 90.0), ("2minutes", 120.0), (".5h", 1800.0), ("3 hrs", 10800.0)],
)
def test_threshold_units(text: str, seconds: float) -> None:
    assert parse_threshold(text) == seconds


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_command_or_error(text: str) -> None:
    try:
        command = parse_command(text)
    except CommandError as exc:
        assert exc.problem
        assert "<" not in exc.message
    else:
        assert isinstance(
            command, ShowCommand | WatchCommand | UnwatchCommand | ListCommand | HelpCommand
        )


WORDS = st.sampled_from(["watch", "unwatch", "list", "help", JOB, LINK, "5m", "1.5h", ",", "0"])


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS | st.text(max_size=12), max_size=6))
def test_command_like_text_gives_command_or_error(words: list[str]) -> None:
    try:
        command = parse_command(" ".join(words))
    except CommandError as exc:
        assert exc.problem
    else:
        if isinstance(command, WatchCommand):
            assert all(0 < value <= 7 * 24 * 3600 for value in command.thresholds)
