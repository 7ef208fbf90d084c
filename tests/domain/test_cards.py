"""The billed-time forecast of a living card: linear extrapolation to the next threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.cards import ThresholdForecast, forecast_next_threshold

T0 = datetime(2025, 9, 12, 10, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


FORECASTS = [
    # previous billed, previous at, billed, at, thresholds, expected forecast
    (10.0, at(0), 40.0, at(60), (60.0, 300.0), ThresholdForecast(60.0, at(100))),
    (0.0, at(0), 30.0, at(30), (300.0, 60.0), ThresholdForecast(60.0, at(60))),
    (20.0, at(0), 45.0, at(50), (30.0, 60.0), ThresholdForecast(60.0, at(80))),
    (50.0, at(0), 60.0, at(10), (60.0, 120.0), ThresholdForecast(60.0, at(10))),
    (0.0, at(0), 0.5, at(1), (3600.0,), ThresholdForecast(3600.0, at(7200))),
]


@pytest.mark.parametrize(
    ("previous_billed", "previous_at", "billed", "now", "thresholds", "expected"), FORECASTS
)
def test_forecast_extrapolates(
    previous_billed: float,
    previous_at: datetime,
    billed: float,
    now: datetime,
    thresholds: tuple[float, ...],
    expected: ThresholdForecast,
) -> None:
    forecast = forecast_next_threshold(previous_billed, previous_at, billed, now, thresholds)

    assert forecast == expected


NO_FORECAST = [
    ("no previous billed", None, at(0), 40.0, at(60), (60.0,)),
    ("no previous time", 10.0, None, 40.0, at(60), (60.0,)),
    ("no billed now", 10.0, at(0), None, at(60), (60.0,)),
    ("no growth", 40.0, at(0), 40.0, at(60), (60.0,)),
    ("billed shrank", 50.0, at(0), 40.0, at(60), (60.0,)),
    ("every threshold passed", 10.0, at(0), 61.0, at(60), (30.0, 60.0)),
    ("no thresholds", 10.0, at(0), 40.0, at(60), ()),
    ("same instant", 10.0, at(60), 40.0, at(60), (60.0,)),
    ("clock went back", 10.0, at(90), 40.0, at(60), (60.0,)),
    ("not a number", float("nan"), at(0), 40.0, at(60), (60.0,)),
    ("infinite", 10.0, at(0), float("inf"), at(60), (60.0,)),
    ("beyond datetime range", 0.0, at(0), 1e-300, at(1), (1e6,)),
]


@pytest.mark.parametrize(
    ("case", "previous_billed", "previous_at", "billed", "now", "thresholds"),
    NO_FORECAST,
    ids=[row[0] for row in NO_FORECAST],
)
def test_forecast_none(
    case: str,
    previous_billed: float | None,
    previous_at: datetime | None,
    billed: float | None,
    now: datetime,
    thresholds: tuple[float, ...],
) -> None:
    assert forecast_next_threshold(previous_billed, previous_at, billed, now, thresholds) is None


def test_forecast_threshold_equal_billed_is_now() -> None:
    forecast = forecast_next_threshold(30.0, at(0), 60.0, at(30), (60.0,))

    assert forecast is not None
    assert forecast.expected_at == at(30)


def test_forecast_accepts_list() -> None:
    forecast = forecast_next_threshold(10.0, at(0), 40.0, at(60), [300.0, 60.0])

    assert forecast == ThresholdForecast(60.0, at(100))


SECONDS = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(
    previous_billed=SECONDS,
    billed=SECONDS,
    elapsed=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    thresholds=st.lists(st.floats(min_value=0.5, max_value=1e6), max_size=10),
)
def test_forecast_never_in_past(
    previous_billed: float, billed: float, elapsed: float, thresholds: list[float]
) -> None:
    forecast = forecast_next_threshold(
        previous_billed, at(0), billed, at(elapsed), tuple(thresholds)
    )

    if forecast is not None:
        assert forecast.expected_at >= at(elapsed)
        assert forecast.threshold_seconds >= billed
        assert forecast.threshold_seconds in thresholds
