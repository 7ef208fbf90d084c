"""Per-channel settings: default thresholds, on-call routing, final posts, quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class InvalidTimeZone(ValueError):
    """The name is not an IANA time zone such as Europe/Berlin."""


def load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # zoneinfo raises OSError for names such as "Europe" (a folder) or over-long names.
        raise InvalidTimeZone(
            f"{name!r} is not a time zone; use an IANA name such as Europe/Berlin or UTC"
        ) from exc


@dataclass(frozen=True)
class QuietHours:
    """A daily window, in a named time zone, when channel alerts wait.

    `start == end` is rejected by the parser; a window may cross midnight (22:00-07:00).
    """

    start: time
    end: time
    timezone: str

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(load_zone(self.timezone)).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, moment: datetime) -> datetime:
        """Return the first end of the window after `moment` (in UTC), for a moment inside it."""
        zone = load_zone(self.timezone)
        local = moment.astimezone(zone)
        candidate = datetime.combine(local.date(), self.end, tzinfo=zone)
        if candidate <= local:
            candidate = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=zone)
        return candidate.astimezone(UTC)

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.timezone}"


@dataclass(frozen=True)
class ChannelSettings:
    """What a channel chose; None fields fall back to the deployment's settings."""

    thresholds: tuple[float, ...] | None = None
    oncall_channel: str | None = None
    oncall_mention: str | None = None
    final_in_channel: bool = True
    quiet_hours: QuietHours | None = None

    def hold_until(self, moment: datetime) -> datetime | None:
        """When quiet hours hold channel alerts at `moment`, the time they end."""
        if self.quiet_hours is None or not self.quiet_hours.contains(moment):
            return None
        return self.quiet_hours.ends_after(moment)
