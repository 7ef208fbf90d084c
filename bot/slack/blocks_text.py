"""Text helpers for Slack messages: escaping, numbers, durations and date tokens.

Nothing here imports a Slack library, so the command parser can use the escaping too.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

NOT_AVAILABLE = "not available"

# `&` is left alone when it already starts one of the three entities Slack uses, so escaping
# twice gives the same text as escaping once and no raw `<` or `>` ever survives.
_BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt);)")
_SUMMARY_LIST_MAX = 8


def escape(text: str) -> str:
    """Escape `&`, `<` and `>` so Slack shows the text as typed and never reads a mention in it.

    Escaping is idempotent: text that is already escaped is returned unchanged.
    """
    escaped = _BARE_AMPERSAND.sub("&amp;", text)
    return escaped.replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """Format untrusted text as inline code, escaped, with backticks that would end it replaced."""
    return "`" + escape(text).replace("`", "'") + "`"


def truncate(text: str, max_length: int) -> str:
    """Cut text to `max_length` characters, marking the cut with an ellipsis."""
    if len(text) <= max_length:
        return text
    return text[: max_length - 1] + "…"


def format_number(value: float) -> str:
    """Format a count or an amount with thousands separators and at most two decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def format_seconds(seconds: float | None) -> str:
    """Format a number of seconds as `93 s`, adding a readable duration when it is long."""
    if seconds is None:
        return NOT_AVAILABLE
    plain = f"{format_number(seconds)} s"
    if abs(seconds) < 120:
        return plain
    return f"{plain} ({format_duration(timedelta(seconds=seconds))})"


def format_duration(duration: timedelta | None) -> str:
    """Format a duration as `93 s`, `4 min 05 s`, `1 h 02 min` or `2 d 03 h`."""
    if duration is None:
        return NOT_AVAILABLE

    total = duration.total_seconds()
    if total < 0:
        return "-" + format_duration(-duration)
    if total < 10 and not total.is_integer():
        return f"{total:.1f} s"

    seconds = round(total)
    if seconds < 120:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"


def format_timestamp(moment: datetime) -> str:
    """Format a time in UTC as ISO 8601 to the second, with a `Z`. Naive times count as UTC."""
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def slack_date(moment: datetime | None) -> str:
    """Return a Slack date token that each reader sees in their own time zone.

    Clients that cannot render the token show the ISO 8601 UTC fallback.
    """
    if moment is None:
        return NOT_AVAILABLE
    unix = int(_as_utc(moment).timestamp())
    return f"<!date^{unix}^{{date_short_pretty}} {{time}}|{format_timestamp(moment)}>"


def summarise_values(values: Sequence[int], items: str = "circuits") -> str:
    """Describe a list of numbers, one per circuit, in one short line whatever its length.

    A few values are listed, equal values are stated once, and longer lists are reduced to
    `min / median / max`, so thousands of circuits never produce thousands of numbers.
    """
    if not values:
        return NOT_AVAILABLE

    count = format_number(len(values))
    low, high = min(values), max(values)
    if len(values) == 1:
        return format_number(low)
    if low == high:
        return f"{format_number(low)} (all {count} {items})"
    if len(values) <= _SUMMARY_LIST_MAX:
        return ", ".join(format_number(value) for value in values)

    median = format_number(statistics.median(values))
    return (
        f"min {format_number(low)} / median {median} / max {format_number(high)} "
        f"over {count} {items}"
    )


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
