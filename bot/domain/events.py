"""Events the change detector finds; each becomes one alert row, then one Slack message."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.domain.snapshot import JobSnapshot


class EventKind(StrEnum):
    STARTED = "started"
    QUEUE_MOVED = "queue_moved"
    THRESHOLD_EXCEEDED = "threshold_exceeded"
    FINISHED = "finished"
    USAGE_FINAL = "usage_final"
    NOT_FOUND = "not_found"
    ACCESS_LOST = "access_lost"
    ACCESS_RESTORED = "access_restored"
    # Notices to the operator channel about the IBM API itself; their job_id is empty.
    API_DEGRADED = "api_degraded"
    API_RECOVERED = "api_recovered"


class JobEvent(BaseModel):
    """One change worth telling a channel about.

    `key` is unique per watch and event occurrence; the alert's dedup key is built from it so
    that the same event is never stored, and so never posted, twice.
    """

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    job_id: str
    key: str
    snapshot: JobSnapshot | None = None
    threshold_seconds: float | None = None
    previous_position: int | None = None
    position: int | None = None
    error_message: str | None = None

    @property
    def is_usage_alert(self) -> bool:
        """Usage alerts are also sent to the on-call channel when one is configured."""
        return self.kind is EventKind.THRESHOLD_EXCEEDED
