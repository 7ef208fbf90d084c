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

from bot.domain.job_ids import InvalidJobReference, is_job_id, parse_job_reference, shorten_value
from bot.slack.blocks_text import code, escape

COMMAND = "/jobmetrics"
SUBCOMMANDS = ("watch", "unwatch", "list", "help")
MAX_THRESHOLDS = 10
# Sanity cap, not an IBM limit: a week of billed time is far more than one job uses, so a larger
# threshold is most likely a typo.
MAX_THRESHOLD_SECONDS = 7 * 24 * 3600.0

USAGE = "\n".join(
    [
        f"`{COMMAND} <job ID or link>` shows a job's metrics.",
        f"`{COMMAND} watch <job ID or link> [threshold ...]` alerts this channel when the job "
        "starts, moves in the queue, passes each billed-time threshold and finishes. "
        "A threshold is billed seconds (`90`, `90s`) or minutes and hours (`5m`, `1.5h`); "
        "separate several with spaces or commas.",
        f"`{COMMAND} unwatch <job ID or link>` stops watching a job.",
        f"`{COMMAND} list` lists the jobs watched in this channel.",
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


Command = ShowCommand | WatchCommand | UnwatchCommand | ListCommand | HelpCommand


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
    words = _split_thresholds(arguments[1:])
    if len(words) > MAX_THRESHOLDS:
        raise CommandError(
            f"Too many thresholds ({len(words)}): a watch takes at most {MAX_THRESHOLDS}."
        )

    thresholds = sorted({parse_threshold(word) for word in words})
    return WatchCommand(job_id, tuple(thresholds))


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
