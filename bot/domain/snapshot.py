"""The one job snapshot model that both IBM API flavours normalise into."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class ApiFlavor(StrEnum):
    """Which IBM API a deployment talks to."""

    ADMIN = "admin"
    PLATFORM = "platform"


class JobState(StrEnum):
    """Lifecycle state of a job, as the bot reports it."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # The admin endpoint only shows timestamps: a job that finished without a running
    # timestamp was cancelled or failed while queued, and the endpoint cannot tell which.
    ENDED_IN_QUEUE = "ended_in_queue"

    @property
    def is_final(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


class JobSnapshot(BaseModel):
    """What one poll learned about a job, with every field optional but the state.

    None always means "the API did not say", never zero.
    """

    model_config = ConfigDict(frozen=True)

    job_id: str
    flavor: ApiFlavor = ApiFlavor.ADMIN
    instance: str | None = None
    state: JobState

    created_at: datetime | None = None
    running_at: datetime | None = None
    finished_at: datetime | None = None

    billed_seconds: float | None = None
    usage_final: bool = False
    quantum_seconds: float | None = None
    usage_seconds: float | None = None
    circuits_execution_time_ns: int | None = None

    executions: int | None = None
    num_circuits: int | None = None
    num_qubits: tuple[int, ...] = ()
    circuit_depths: tuple[int, ...] = ()

    position_in_queue: int | None = None
    position_in_provider: int | None = None
    estimated_start_at: datetime | None = None
    estimated_completion_at: datetime | None = None

    qiskit_version: str | None = None
    caller: str | None = None
    backend: str | None = None
    program_id: str | None = None
    reason: str | None = None
    reason_code: int | None = None

    @property
    def queue_wait(self) -> timedelta | None:
        """Time from creation to the start of running, or to the end for a job that never ran."""
        started = self.running_at or self.finished_at
        if self.created_at is None or started is None:
            return None
        return started - self.created_at

    @property
    def run_time(self) -> timedelta | None:
        if self.running_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.running_at

    @property
    def ran(self) -> bool:
        return self.running_at is not None
