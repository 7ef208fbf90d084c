"""The interface the engine and the Slack surface use to read jobs from IBM."""

from __future__ import annotations

from typing import Protocol

from bot.domain.snapshot import ApiFlavor, JobSnapshot


class JobSource(Protocol):
    """Reads one job's state and metrics and normalises them into a JobSnapshot.

    Raises a `bot.domain.errors.JobSourceError` subclass on every failure.
    """

    @property
    def flavor(self) -> ApiFlavor: ...

    async def fetch(self, job_id: str, instance: str | None = None) -> JobSnapshot:
        """Fetch a job. With no instance, try each configured instance in turn and set
        `snapshot.instance` to the one that has the job."""
        ...

    async def aclose(self) -> None: ...
