"""Text helpers: escaping, numbers, durations, date tokens and value summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.blocks_text import (
    code,
    escape,
    format_duration,
    format_number,
    format_seconds,
    slack_date,
    summarise_values,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("a & b", "a &amp; b"),
        ("&amp; stays", "&amp; stays"),
        ("&lt;b&gt;", "&lt;b&gt;"),
        ("&copy;", "&amp;copy;"),
        ("plain", "plain"),
    ],
)
def test_escape_table(text: str, expected: str) -> None:
    assert escape(text) == expected


@given(st.text())
def test_escape_idempotent_and_safe(text: str) -> None:
    once = escape(text)

    assert escape(once) == once
    assert "<" not in once
    assert ">" not in once


def test_code_replaces_backticks() -> None:
    assert code("a`b<c") == "`a'b&lt;c`"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0 s"),
        (0.4, "0.4 s"),
        (93, "93 s"),
        (119.4, "119 s"),
        (119.6, "2 min 00 s"),
        (125, "2 min 05 s"),
        (3599, "59 min 59 s"),
        (3720, "1 h 02 min"),
        (86400 + 3 * 3600, "1 d 03 h"),
        (-93, "-93 s"),
    ],
)
def test_format_duration_table(seconds: float, expected: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == expected


def test_format_duration_none() -> None:
    assert format_duration(None) == "not available"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, "not available"),
        (0.0, "0 s"),
        (41.5, "41.5 s"),
        (1.234, "1.23 s"),
        (7200, "7,200 s (2 h 00 min)"),
    ],
)
def test_format_seconds_table(seconds: float | None, expected: str) -> None:
    assert format_seconds(seconds) == expected


def test_format_number_separators() -> None:
    assert format_number(1024) == "1,024"
    assert format_number(2500.5) == "2,500.5"


def test_slack_date_token() -> None:
    moment = datetime(2025, 9, 12, 12, 0, tzinfo=timezone(timedelta(hours=2)))

    token = slack_date(moment)

    assert token == "<!date^1757671200^{date_short_pretty} {time}|2025-09-12T10:00:00Z>"


def test_slack_date_naive_is_utc() -> None:
    naive = datetime(2025, 9, 12, 10, 0)

    assert slack_date(naive) == slack_date(naive.replace(tzinfo=UTC))


def test_slack_date_none() -> None:
    assert slack_date(None) == "not available"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((), "not available"),
        ((127,), "127"),
        ((5, 5, 5), "5 (all 3 circuits)"),
        ((12, 80, 4003), "12, 80, 4,003"),
        (tuple(range(1, 1025)), "min 1 / median 512.5 / max 1,024 over 1,024 circuits"),
    ],
)
def test_summarise_values_table(values: tuple[int, ...], expected: str) -> None:
    assert summarise_values(values) == expected


@given(st.lists(st.integers(min_value=0, max_value=10**6), max_size=20_000))
def test_summary_stays_short(values: list[int]) -> None:
    assert len(summarise_values(values)) < 120
