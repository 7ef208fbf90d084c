"""Turn the bodies of either IBM API flavour into the one JobSnapshot model."""

from __future__ import annotations

from bot.domain.errors import InvalidResponse
from bot.domain.snapshot import ApiFlavor, JobSnapshot, JobState
from bot.ibm.payloads import (
    AdminMetrics,
    BssUsage,
    PlatformJob,
    PlatformMetrics,
    Timestamps,
    Usage,
)

#: `state.reason_code` of a job that IBM cancelled because it ran longer than allowed.
RAN_TOO_LONG = 1305

_PLATFORM_STATES = {
    "queued": JobState.QUEUED,
    "running": JobState.RUNNING,
    "completed": JobState.COMPLETED,
    "cancelled": JobState.CANCELLED,
    "failed": JobState.FAILED,
}


def admin_state(timestamps: Timestamps) -> JobState:
    """Derive the state from the admin endpoint's timestamps, its only lifecycle data."""
    if timestamps.finished is not None:
        return JobState.COMPLETED if timestamps.running is not None else JobState.ENDED_IN_QUEUE
    if timestamps.running is not None:
        return JobState.RUNNING
    return JobState.QUEUED


def snapshot_from_admin(job_id: str, metrics: AdminMetrics) -> JobSnapshot:
    """Build a snapshot from the legacy admin metrics body.

    Queue positions are kept only while the job is queued: the endpoint should send them only
    then, and a stale position on a running job would read as queue movement.
    """
    state = admin_state(metrics.timestamps)
    queued = state is JobState.QUEUED
    usage = metrics.usage or Usage()

    return JobSnapshot(
        job_id=job_id,
        flavor=ApiFlavor.ADMIN,
        state=state,
        created_at=metrics.timestamps.created,
        running_at=metrics.timestamps.running,
        finished_at=metrics.timestamps.finished,
        billed_seconds=_first_number(_bss_seconds(metrics.bss), usage.seconds),
        usage_final=state.is_final,
        quantum_seconds=usage.quantum_seconds,
        usage_seconds=usage.seconds,
        executions=metrics.executions,
        num_circuits=metrics.num_circuits,
        num_qubits=metrics.num_qubits,
        circuit_depths=metrics.circuit_depths,
        position_in_queue=metrics.position_in_queue if queued else None,
        position_in_provider=metrics.position_in_provider if queued else None,
        estimated_start_at=metrics.estimated_start_time,
        estimated_completion_at=metrics.estimated_completion_time,
        qiskit_version=metrics.qiskit_version,
        caller=metrics.caller,
    )


def platform_state(job: PlatformJob, *, job_id: str) -> JobState:
    """Map `state.status` to a JobState; a job cancelled for running too long is FAILED.

    Falls back to the top-level display `status` ("Cancelled - Ran too long") when `state` is
    missing. Raises InvalidResponse for a missing or unknown status.
    """
    state = job.state
    status = state.status if state is not None and state.status else job.status
    if not status:
        raise InvalidResponse(
            f"The job body of job {job_id} has no state.status. Check IBM_API_VERSION; "
            "report the body if the version is supported.",
            job_id=job_id,
        )

    mapped = _PLATFORM_STATES.get(status.partition(" - ")[0].strip().lower())
    if mapped is None:
        known = ", ".join(name.capitalize() for name in _PLATFORM_STATES)
        raise InvalidResponse(
            f"The job body of job {job_id} has state.status {status!r}; expected one of "
            f"{known}. The bot may need an update for this IBM API version.",
            job_id=job_id,
        )

    if mapped is JobState.CANCELLED and _ran_too_long(job, status):
        return JobState.FAILED
    return mapped


def _ran_too_long(job: PlatformJob, status: str) -> bool:
    return _reason_code(job) == RAN_TOO_LONG or "ran too long" in status.lower()


def snapshot_from_platform(
    job_id: str,
    job: PlatformJob,
    metrics: PlatformMetrics | None,
    *,
    instance: str | None = None,
) -> JobSnapshot:
    """Build a snapshot from the platform job body and, when the API had them, its metrics.

    Queue positions and estimated times stay None: the platform API does not report them.
    """
    state = platform_state(job, job_id=job_id)
    timestamps = metrics.timestamps if metrics is not None else Timestamps()
    usage = (metrics.usage if metrics is not None else None) or Usage()
    bss = metrics.bss if metrics is not None else None

    return JobSnapshot(
        job_id=job_id,
        flavor=ApiFlavor.PLATFORM,
        instance=instance,
        state=state,
        created_at=timestamps.created or job.created,
        running_at=timestamps.running,
        finished_at=timestamps.finished,
        billed_seconds=_first_number(
            usage.qpu_charge_time_seconds, _bss_seconds(bss), usage.seconds
        ),
        usage_final=_platform_usage_final(metrics, usage, state),
        quantum_seconds=usage.quantum_seconds,
        usage_seconds=usage.seconds,
        circuits_execution_time_ns=metrics.circuits_execution_time_ns if metrics else None,
        executions=metrics.executions if metrics else None,
        num_circuits=metrics.num_circuits if metrics else None,
        num_qubits=metrics.num_qubits if metrics else (),
        circuit_depths=metrics.circuit_depths if metrics else (),
        qiskit_version=metrics.qiskit_version if metrics else None,
        caller=metrics.caller if metrics else None,
        backend=job.backend,
        program_id=job.program.id if job.program else None,
        reason=job.state.reason if job.state else None,
        reason_code=_reason_code(job),
    )


def _platform_usage_final(metrics: PlatformMetrics | None, usage: Usage, state: JobState) -> bool:
    """Usage is final once `usage.status` leaves "pending".

    API versions without `usage.status` give no signal, so their usage counts as final once
    the job is.
    """
    if metrics is None:
        return False
    if usage.status is not None:
        return usage.status != "pending"
    return state.is_final


def _reason_code(job: PlatformJob) -> int | None:
    return job.state.reason_code if job.state is not None else None


def _bss_seconds(bss: BssUsage | None) -> float | None:
    return bss.seconds if bss is not None else None


def _first_number(*values: float | None) -> float | None:
    for value in values:
        if value is not None:
            return value
    return None
