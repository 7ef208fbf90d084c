"""Quiet hours in a named time zone, across midnight and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.domain.channel_settings import ChannelSettings, InvalidTimeZone, QuietHours, load_zone

NIGHT_BERLIN = QuietHours(time(22, 0), time(7, 0), "Europe/Berlin")
LUNCH_TOKYO = QuietHours(time(12, 0), time(13, 0), "Asia/Tokyo")


@pytest.mark.parametrize(
    ("quiet", "moment", "inside"),
    [
        # Berlin is UTC+1 in winter: 22:00-07:00 local is 21:00-06:00 UTC.
        (NIGHT_BERLIN, datetime(2026, 12, 4, 20, 59, tzinfo=UTC), False),
        (NIGHT_BERLIN, datetime(2026, 12, 4, 21, 0, tzinfo=UTC), True),
        (NIGHT_BERLIN, datetime(2026, 12, 4, 23, 30, tzinfo=UTC), True),
        (NIGHT_BERLIN, datetime(2026, 12, 5, 0, 30, tzinfo=UTC), True),
        (NIGHT_BERLIN, datetime(2026, 12, 5, 5, 59, tzinfo=UTC), True),
        (NIGHT_BERLIN, datetime(2026, 12, 5, 6, 0, tzinfo=UTC), False),
        # In summer Berlin is UTC+2: 22:00 local is 20:00 UTC.
        (NIGHT_BERLIN, datetime(2026, 7, 1, 20, 0, tzinfo=UTC), True),
        (NIGHT_BERLIN, datetime(2026, 7, 1, 19, 59, tzinfo=UTC), False),
        # A window inside one day: Tokyo is UTC+9, so 12:00-13:00 local is 03:00-04:00 UTC.
        (LUNCH_TOKYO, datetime(2026, 12, 4, 3, 0, tzinfo=UTC), True),
        (LUNCH_TOKYO, datetime(2026, 12, 4, 4, 0, tzinfo=UTC), False),
        (LUNCH_TOKYO, datetime(2026, 12, 4, 2, 59, tzinfo=UTC), False),
    ],
)
def test_quiet_hours_contains(quiet: QuietHours, moment: datetime, inside: bool) -> None:
    assert quiet.contains(moment) is inside


def test_end_after_midnight_is_next_morning() -> None:
    moment = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)  # 23:30 in Berlin

    assert NIGHT_BERLIN.ends_after(moment) == datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def test_end_after_midnight_same_morning() -> None:
    moment = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 02:00 in Berlin

    assert NIGHT_BERLIN.ends_after(moment) == datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def test_end_on_daylight_saving_night() -> None:
    # Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 29 March 2026, so 07:00 local is 05:00 UTC.
    moment = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)

    assert NIGHT_BERLIN.ends_after(moment) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)


def test_settings_hold_until_quiet_end() -> None:
    settings = ChannelSettings(quiet_hours=NIGHT_BERLIN)

    assert settings.hold_until(datetime(2026, 12, 4, 12, 0, tzinfo=UTC)) is None
    assert settings.hold_until(datetime(2026, 12, 4, 22, 0, tzinfo=UTC)) == datetime(
        2026, 12, 5, 6, 0, tzinfo=UTC
    )


def test_no_quiet_hours_never_holds() -> None:
    assert ChannelSettings().hold_until(datetime(2026, 12, 4, 22, 0, tzinfo=UTC)) is None


def test_unknown_zone_names_the_value() -> None:
    with pytest.raises(InvalidTimeZone, match="'Mars/Olympus' is not a time zone"):
        load_zone("Mars/Olympus")
