"""Parse the text of the `/jobmetrics` slash command into a command object.

Pure: no Slack library is imported. `parse_command` raises only CommandError, whose message is
Slack mrkdwn with `&`, `<` and `>` escaped, quotes the user's value shortened, and ends with
the usage.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from datetime import time

from bot.domain.channel_settings import InvalidTimeZone, QuietHours, load_zone
from bot.domain.job_ids import InvalidJobReference, is_job_id, parse_job_reference, shorten_value
from bot.slack.blocks_text import code, escape

COMMAND = "/jobmetrics"
SUBCOMMANDS = ("watch", "unwatch", "list", "settings", "snooze", "help")
SETTINGS = ("thresholds", "oncall", "final", "quiet")
MAX_THRESHOLDS = 10
# Sanity cap, not an IBM limit: a week of billed time is far more than one job uses, so a larger
# threshold is most likely a typo.
MAX_THRESHOLD_SECONDS = 7 * 24 * 3600.0
MAX_SNOOZE_SECONDS = 7 * 24 * 3600.0
DEFAULT_TIME_ZONE = "UTC"

SETTINGS_USAGE = "\n".join(
    [
        f"`{COMMAND} settings` shows this channel's settings.",
        f"`{COMMAND} settings thresholds <threshold ...>` sets the billed-time thresholds of "
        "watches started here without thresholds, in the units `watch` takes, or `none`.",
        f"`{COMMAND} settings oncall <#channel> [<@user or @group>]` also posts threshold "
        "alerts in an on-call channel, with an optional mention. `off` removes this channel's "
        "on-call routing, so the deployment's default applies.",
        f"`{COMMAND} settings final thread` posts a job's final result only in its card's "
        f"thread; `{COMMAND} settings final channel` also sends it to the channel.",
        f"`{COMMAND} settings quiet <HH:MM-HH:MM> [time zone]` holds this channel's alerts "
        "during a daily window, for example `22:00-07:00 Europe/Berlin`; the time zone is an "
        "IANA name and UTC when left out. `off` removes the window.",
    ]
)
SNOOZE_USAGE = (
    f"`{COMMAND} snooze <job ID or link | all> <duration>` snoozes the alerts of one job, or "
    "of every job watched in this channel, for a duration such as `90s`, `30m`, `2h30m` or `1d` "
    "(at most 7 days). `off` in place of the duration ends the snooze."
)

USAGE = "\n".join(
    [
        f"`{COMMAND} <job ID or link>` shows a job's metrics.",
        f"`{COMMAND} watch <job ID or link> [threshold ...]` alerts this channel when the job "
        "starts, moves in the queue, passes each billed-time threshold and finishes. "
        "A threshold is billed seconds (`90`, `90s`) or minutes and hours (`5m`, `1.5h`); "
        "separate several with spaces or commas.",
        f"`{COMMAND} unwatch <job ID or link>` stops watching a job.",
        f"`{COMMAND} list` lists the jobs watched in this channel.",
        SETTINGS_USAGE,
        SNOOZE_USAGE,
        f"`{COMMAND} help` shows this help.",
    ]
)

# Slack links (`<url|label>`) may contain spaces in the label, so they are kept as one token.
_TOKEN = re.compile(r"<[^<>]*>|[^\s<]+|<")
_THRESHOLD = re.compile(
    r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>[a-z]*)", re.ASCII | re.IGNORECASE
)
_UNIT_SECONDS = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_BARE_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+", re.ASCII)
_TYPO_MAX_LENGTH = 9

# Channel and mention tokens as Slack sends them when the command escapes channels and users.
_CHANNEL_LINK = re.compile(r"<#(?P<id>[CG][A-Z0-9]+)(?:\|[^<>]*)?>", re.ASCII)
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+", re.ASCII)
_MENTIONS = (
    re.compile(r"<@[UW][A-Z0-9]+(?:\|[^<>]*)?>", re.ASCII),
    re.compile(r"<!subteam\^S[A-Z0-9]+(?:\|[^<>]*)?>", re.ASCII),
    re.compile(r"<!here>"),
)
_QUIET_WINDOW = re.compile(
    r"(?P<start>[0-9]{1,2}:[0-9]{2})\s*[-–]\s*(?P<end>[0-9]{1,2}:[0-9]{2})", re.ASCII
)
_CLOCK_TIME = re.compile(r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})", re.ASCII)
_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:d|h|min|m|s))+", re.ASCII | re.IGNORECASE)
_DURATION_PART = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<unit>d|h|min|m|s)", re.ASCII)
_DURATION_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "min": 60.0, "m": 60.0, "s": 1.0}


@dataclass(frozen=True)
class ShowCommand:
    job_id: str


@dataclass(frozen=True)
class WatchCommand:
    """Watch a job. Empty `thresholds` means the configured default threshold, if any."""

    job_id: str
    thresholds: tuple[float, ...] = ()


@dataclass(frozen=True)
class UnwatchCommand:
    job_id: str


@dataclass(frozen=True)
class ListCommand:
    pass


@dataclass(frozen=True)
class HelpCommand:
    pass


@dataclass(frozen=True)
class SettingsShowCommand:
    pass


@dataclass(frozen=True)
class SetThresholdsCommand:
    """Set the thresholds of watches started in the channel without any. Empty means none."""

    thresholds: tuple[float, ...]


@dataclass(frozen=True)
class SetOncallCommand:
    """Route threshold alerts to an on-call channel as well. Both None removes the routing.

    `mention` is the token exactly as Slack sent it, for example `<!subteam^S123|@sre>`, and
    matches one of the mention forms Slack uses, so it can be posted unescaped.
    """

    channel_id: str | None
    mention: str | None = None


@dataclass(frozen=True)
class SetFinalPostsCommand:
    """Post a job's final result in the channel too (True), or only in its card's thread."""

    in_channel: bool


@dataclass(frozen=True)
class SetQuietHoursCommand:
    """Set the channel's daily quiet window. None removes it."""

    quiet: QuietHours | None


@dataclass(frozen=True)
class SnoozeCommand:
    """Snooze alerts for `seconds`. Zero seconds ends the snooze.

    `job_id` None means every job watched in the channel.
    """

    job_id: str | None
    seconds: float


SettingsChangeCommand = (
    SetThresholdsCommand | SetOncallCommand | SetFinalPostsCommand | SetQuietHoursCommand
)
SettingsCommand = SettingsShowCommand | SettingsChangeCommand
Command = (
    ShowCommand
    | WatchCommand
    | UnwatchCommand
    | ListCommand
    | HelpCommand
    | SettingsCommand
    | SnoozeCommand
)


class CommandError(ValueError):
    """The command text is invalid.

    `message` is Slack mrkdwn that describes the problem and ends with the usage, and `problem`
    is the description alone. Both are escaped for Slack.
    """

    def __init__(self, problem: str, usage: str = USAGE):
        self.problem = escape(problem)
        self.usage = escape(usage)
        self.message = f"{self.problem}\n\n{self.usage}"
        super().__init__(self.message)


def parse_command(text: str) -> Command:
    """Parse the text typed after `/jobmetrics`. Empty text gives HelpCommand."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return HelpCommand()

    name = tokens[0].lower()
    arguments = tokens[1:]
    if name == "help":
        return HelpCommand()
    if name == "list":
        _expect_no_more(arguments, "list")
        return ListCommand()
    if name == "watch":
        return _parse_watch(arguments)
    if name == "unwatch":
        job_id = _parse_job_argument(arguments, "unwatch")
        _expect_no_more(arguments[1:], "unwatch")
        return UnwatchCommand(job_id)
    if name == "settings":
        return _parse_settings(arguments)
    if name == "snooze":
        return _parse_snooze(arguments)

    return _parse_show(tokens)


def parse_threshold(text: str) -> float:
    """Parse one billed-time threshold such as `90`, `90s`, `5m` or `1.5h` into seconds."""
    match = _THRESHOLD.fullmatch(text.strip())
    unit = match.group("unit").lower() if match else None
    if match is None or unit not in _UNIT_SECONDS:
        raise CommandError(
            f"{code(shorten_value(text))} is not a valid threshold: expected billed seconds "
            "such as `90` or `90s`, or minutes and hours such as `5m` or `1.5h`."
        )

    seconds = float(match.group("number")) * _UNIT_SECONDS[unit]
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_THRESHOLD_SECONDS:
        raise CommandError(
            f"The threshold {code(shorten_value(text))} is out of range: expected more than "
            f"0 seconds and at most {MAX_THRESHOLD_SECONDS / 3600:g} hours (one week)."
        )
    return seconds


def _parse_show(tokens: list[str]) -> ShowCommand:
    first = tokens[0]
    suggestion = _closest_subcommand(first)

    # A short word close to a subcommand is a typo, not a job ID: real IDs are 20 characters.
    # A word of letters alone followed by arguments is read as a subcommand for the same reason.
    typo = suggestion is not None and (len(tokens) > 1 or len(first) <= _TYPO_MAX_LENGTH)
    if typo or (len(tokens) > 1 and not _looks_like_job_reference(first)):
        raise CommandError(_unknown_subcommand(first, suggestion))

    job_id = _job_id_or_error(first)
    _expect_no_more(tokens[1:], "show")
    return ShowCommand(job_id)


def _parse_watch(arguments: list[str]) -> WatchCommand:
    job_id = _parse_job_argument(arguments, "watch")
    return WatchCommand(job_id, _parse_thresholds(arguments[1:]))


def _parse_thresholds(arguments: list[str]) -> tuple[float, ...]:
    words = _split_thresholds(arguments)
    if len(words) > MAX_THRESHOLDS:
        raise CommandError(
            f"Too many thresholds ({len(words)}): a watch takes at most {MAX_THRESHOLDS}."
        )
    return tuple(sorted({parse_threshold(word) for word in words}))


def _split_thresholds(arguments: list[str]) -> list[str]:
    words = [word for argument in arguments for word in argument.split(",") if word]

    # `5 m` is read as `5m`: a unit on its own joins the bare number before it.
    merged: list[str] = []
    for word in words:
        if merged and word.lower() in _UNIT_SECONDS and _BARE_NUMBER.fullmatch(merged[-1]):
            merged[-1] += word
        else:
            merged.append(word)
    return merged


def _parse_job_argument(arguments: list[str], subcommand: str) -> str:
    if not arguments:
        raise CommandError(
            f"The job ID is missing: `{COMMAND} {subcommand}` needs a job ID or a job link."
        )
    return _job_id_or_error(arguments[0])


def _job_id_or_error(token: str) -> str:
    try:
        return parse_job_reference(token)
    except InvalidJobReference as exc:
        raise CommandError(exc.message) from None


def _expect_no_more(extra: list[str], subcommand: str) -> None:
    if not extra:
        return
    quoted = code(shorten_value(" ".join(extra)))
    if subcommand == "show":
        problem = (
            f"Too many arguments: {quoted} follows the job ID. To watch the job with a "
            f"threshold, use `{COMMAND} watch <job ID> <threshold>`."
        )
    else:
        problem = f"Too many arguments: `{subcommand}` takes nothing more, but got {quoted}."
    raise CommandError(problem)


def _looks_like_job_reference(token: str) -> bool:
    if token.isalpha():
        return False
    return is_job_id(token) or token.startswith("<") or "/" in token


def _closest_subcommand(word: str) -> str | None:
    matches = difflib.get_close_matches(word.lower(), SUBCOMMANDS, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _unknown_subcommand(word: str, suggestion: str | None) -> str:
    problem = f"Unknown subcommand {code(shorten_value(word))}."
    if suggestion is not None:
        problem += f" Did you mean `{suggestion}`?"
    return problem


# -- settings ----------------------------------------------------------------------------------


def _parse_settings(arguments: list[str]) -> SettingsCommand:
    if not arguments:
        return SettingsShowCommand()

    setting = arguments[0].lower()
    values = arguments[1:]
    if setting == "thresholds":
        return _parse_threshold_setting(values)
    if setting == "oncall":
        return _parse_oncall_setting(values)
    if setting == "final":
        return _parse_final_setting(values)
    if setting == "quiet":
        return _parse_quiet_setting(values)
    raise _settings_error(_unknown_setting(arguments[0]))


def _parse_threshold_setting(values: list[str]) -> SetThresholdsCommand:
    if not values:
        raise _settings_error(
            "The thresholds are missing: expected billed-time thresholds such as "
            "`60s, 5m, 1h`, or `none`."
        )
    if len(values) == 1 and values[0].lower() == "none":
        return SetThresholdsCommand(())
    try:
        return SetThresholdsCommand(_parse_thresholds(values))
    except CommandError as exc:
        # Escaping is idempotent, so the escaped problem can be passed on as it is.
        raise _settings_error(exc.problem) from None


def _parse_oncall_setting(values: list[str]) -> SetOncallCommand:
    if not values:
        raise _settings_error(
            "The on-call channel is missing: expected a channel such as `#oncall`, optionally "
            "followed by a mention such as `@sre`, or `off`."
        )
    if len(values) == 1 and values[0].lower() == "off":
        return SetOncallCommand(channel_id=None, mention=None)
    if len(values) > 2:
        extra = code(shorten_value(" ".join(values[2:])))
        raise _settings_error(
            f"Too many arguments: {extra} follows the on-call channel and mention. Expected "
            "one channel and at most one mention."
        )

    channel_id = _parse_channel(values[0])
    mention = _parse_mention(values[1]) if len(values) == 2 else None
    return SetOncallCommand(channel_id=channel_id, mention=mention)


def _parse_channel(token: str) -> str:
    link = _CHANNEL_LINK.fullmatch(token)
    if link is not None:
        return link.group("id")
    if _CHANNEL_ID.fullmatch(token):
        return token

    quoted = code(shorten_value(token))
    if token.startswith("#"):
        raise _settings_error(
            f"The channel {quoted} arrived as plain text, so its channel ID is unknown. Turn on "
            'the slash command\'s option "Escape channels, users, and links" so Slack sends '
            "channel links, or give the channel ID such as `C0123ABCD` (shown in the channel's "
            "details)."
        )
    raise _settings_error(
        f"{quoted} is not a channel: expected a channel such as `#oncall` or a channel ID "
        "such as `C0123ABCD`."
    )


def _parse_mention(token: str) -> str:
    if any(pattern.fullmatch(token) for pattern in _MENTIONS):
        return token

    quoted = code(shorten_value(token))
    if token.startswith("@"):
        raise _settings_error(
            f"The mention {quoted} arrived as plain text, so it would notify no one. Turn on the "
            'slash command\'s option "Escape channels, users, and links" so Slack sends '
            "mentions with user and group IDs."
        )
    raise _settings_error(
        f"{quoted} is not a mention this bot accepts: expected a user such as `@alice`, a "
        "user group such as `@sre`, or `@here`."
    )


def _parse_final_setting(values: list[str]) -> SetFinalPostsCommand:
    choice = " ".join(values).lower()
    if choice == "thread":
        return SetFinalPostsCommand(in_channel=False)
    if choice == "channel":
        return SetFinalPostsCommand(in_channel=True)

    received = code(shorten_value(" ".join(values))) if values else "nothing"
    raise _settings_error(
        f"Expected `thread` or `channel` after `final`, but got {received}: `thread` posts a "
        "job's final result only in its card's thread, `channel` also sends it to the channel."
    )


def _parse_quiet_setting(values: list[str]) -> SetQuietHoursCommand:
    if len(values) == 1 and values[0].lower() == "off":
        return SetQuietHoursCommand(None)

    window_parts = values
    zone_name = DEFAULT_TIME_ZONE
    if values and _has_letter(values[-1]):
        window_parts, zone_name = values[:-1], values[-1]
    if not window_parts:
        raise _settings_error(
            "The quiet hours are missing: expected a daily window such as "
            "`22:00-07:00 Europe/Berlin`, or `off`."
        )

    start, end = _parse_quiet_window(" ".join(window_parts))
    return SetQuietHoursCommand(QuietHours(start=start, end=end, timezone=_zone(zone_name)))


def _parse_quiet_window(window: str) -> tuple[time, time]:
    quoted = code(shorten_value(window))
    match = _QUIET_WINDOW.fullmatch(window)
    if match is None:
        raise _settings_error(
            f"{quoted} is not a quiet-hours window: expected start and end as HH:MM, such as "
            "`22:00-07:00`."
        )

    start = _clock_time(match.group("start"), quoted)
    end = _clock_time(match.group("end"), quoted)
    if start == end:
        raise _settings_error(
            f"The quiet hours {quoted} start and end at the same time: expected two different "
            "times such as `22:00-07:00`."
        )
    return start, end


def _clock_time(text: str, quoted_window: str) -> time:
    match = _CLOCK_TIME.fullmatch(text)
    hour = int(match.group("hour")) if match else -1
    minute = int(match.group("minute")) if match else -1
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise _settings_error(
            f"{code(text)} in {quoted_window} is not a time of day: expected HH:MM from "
            "`00:00` to `23:59`."
        )
    return time(hour, minute)


def _zone(name: str) -> str:
    if name.upper() == DEFAULT_TIME_ZONE:
        return DEFAULT_TIME_ZONE
    try:
        load_zone(name)
    except (InvalidTimeZone, OSError):
        # NOTE: zoneinfo raises OSError, not ZoneInfoNotFoundError, for names such as `Europe`
        # (a directory of the database) or names too long for a file name.
        raise _settings_error(
            f"{code(shorten_value(name))} is not a time zone: expected an IANA name such as "
            "`Europe/Berlin`, `America/New_York` or `UTC`."
        ) from None
    return name


def _has_letter(text: str) -> bool:
    return any(character.isalpha() for character in text)


def _unknown_setting(word: str) -> str:
    problem = f"Unknown setting {code(shorten_value(word))}: expected one of "
    problem += ", ".join(f"`{name}`" for name in SETTINGS) + "."
    matches = difflib.get_close_matches(word.lower(), SETTINGS, n=1, cutoff=0.6)
    if matches:
        problem += f" Did you mean `{matches[0]}`?"
    return problem


def _settings_error(problem: str) -> CommandError:
    return CommandError(problem, usage=SETTINGS_USAGE)


# -- snooze ------------------------------------------------------------------------------------


def _parse_snooze(arguments: list[str]) -> SnoozeCommand:
    if not arguments:
        raise _snooze_error(
            "The job is missing: expected a job ID, a job link or `all`, then a duration such "
            "as `30m`."
        )

    target = arguments[0]
    job_id = None if target.lower() == "all" else _job_id_or_error(target)
    duration = "".join(arguments[1:])
    if not duration:
        raise _snooze_error(
            f"The duration is missing after {code(shorten_value(target))}: expected a duration "
            "such as `30m`, `2h30m` or `1d`, or `off`."
        )

    seconds = 0.0 if duration.lower() == "off" else parse_duration(duration)
    return SnoozeCommand(job_id=job_id, seconds=seconds)


def parse_duration(text: str) -> float:
    """Parse a snooze duration such as `90s`, `30m`, `2h30m` or `1d` into seconds.

    Raises CommandError unless the duration is more than 0 and at most MAX_SNOOZE_SECONDS.
    """
    quoted = code(shorten_value(text))
    if _DURATION.fullmatch(text) is None:
        raise _snooze_error(
            f"{quoted} is not a duration: expected a number with a unit, `d`, `h`, `m` or `s`, "
            "such as `90s`, `30m`, `2h30m` or `1d`."
        )

    seconds = sum(
        float(part.group("number")) * _DURATION_UNIT_SECONDS[part.group("unit").lower()]
        for part in _DURATION_PART.finditer(text.lower())
    )
    if not 0 < seconds <= MAX_SNOOZE_SECONDS:
        raise _snooze_error(
            f"The duration {quoted} is out of range: expected more than 0 seconds and at most "
            "7 days. To end a snooze, use `off`."
        )
    return seconds


def _snooze_error(problem: str) -> CommandError:
    return CommandError(problem, usage=SNOOZE_USAGE)
