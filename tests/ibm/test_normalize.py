from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.errors import InvalidResponse
from bot.domain.snapshot import ApiFlavor, JobState
from bot.ibm.normalize import snapshot_from_admin, snapshot_from_platform
from bot.ibm.payloads import AdminMetrics, PlatformJob, PlatformMetrics, parse_body
from tests.ibm.conftest import fixture_bytes

CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:def::"


def admin_metrics(name: str) -> AdminMetrics:
    return parse_body(AdminMetrics, fixture_bytes(name), source=name)


def platform_job(name: str) -> PlatformJob:
    return parse_body(PlatformJob, fixture_bytes(name), source=name)


def platform_metrics(name: str | None) -> PlatformMetrics | None:
    if name is None:
        return None
    return parse_body(PlatformMetrics, fixture_bytes(name), source=name)


@pytest.mark.parametrize(
    ("name", "state", "billed", "usage_final", "position", "provider_position"),
    [
        ("admin-queued.json", JobState.QUEUED, None, False, 37, 4),
        ("admin-next-up.json", JobState.QUEUED, None, False, 0, 0),
        ("admin-sparse.json", JobState.QUEUED, None, False, None, None),
        ("admin-running.json", JobState.RUNNING, 0.0, False, None, None),
        ("admin-completed.json", JobState.COMPLETED, 93.0, True, None, None),
        ("admin-cancelled-in-queue.json", JobState.ENDED_IN_QUEUE, 0.0, True, None, None),
        # The documented example is finished but still lists positions; they are dropped.
        ("admin-doc-example.json", JobState.COMPLETED, 1.0, True, None, None),
        ("admin-usage-fallback.json", JobState.COMPLETED, 40.0, True, None, None),
    ],
)
def test_admin_normalisation(
    name: str,
    state: JobState,
    billed: float | None,
    usage_final: bool,
    position: int | None,
    provider_position: int | None,
):
    snapshot = snapshot_from_admin("c5dge2d3rn7breq27i9g", admin_metrics(name))

    assert snapshot.state is state
    assert snapshot.billed_seconds == billed
    assert snapshot.usage_final is usage_final
    assert snapshot.position_in_queue == position
    assert snapshot.position_in_provider == provider_position
    assert snapshot.flavor is ApiFlavor.ADMIN
    assert snapshot.job_id == "c5dge2d3rn7breq27i9g"


def test_admin_completed_keeps_details():
    snapshot = snapshot_from_admin("job", admin_metrics("admin-completed.json"))

    assert snapshot.num_qubits == (127,)
    assert snapshot.circuit_depths == (115439,)
    assert snapshot.executions == 4000
    assert snapshot.quantum_seconds == 93
    assert snapshot.qiskit_version == "qiskit_ibm_runtime-0.23.0,qiskit-1.1.0*,qiskit_aer-0.14.2"
    assert snapshot.caller == "qiskit"
    assert snapshot.estimated_completion_at == datetime(2024, 8, 12, 9, 43, tzinfo=UTC)
    assert snapshot.run_time is not None
    assert snapshot.run_time.total_seconds() == pytest.approx(92.76604)


def test_admin_mixed_timestamp_forms_are_ordered():
    snapshot = snapshot_from_admin("job", admin_metrics("admin-usage-fallback.json"))

    assert snapshot.created_at == datetime(2024, 9, 30, 22, 1, 17, 500000, tzinfo=UTC)
    assert snapshot.running_at == datetime(2024, 9, 30, 22, 3, tzinfo=UTC)
    assert snapshot.finished_at == datetime(2024, 9, 30, 22, 4, 12, tzinfo=UTC)
    assert snapshot.num_qubits == (156,)
    assert snapshot.circuit_depths == (17, 23)


@pytest.mark.parametrize(
    ("job_name", "metrics_name", "state", "billed", "usage_final", "reason_code"),
    [
        ("platform-job-queued.json", None, JobState.QUEUED, None, False, None),
        (
            "platform-job-queued.json",
            "platform-metrics-no-status.json",
            JobState.QUEUED,
            7.0,
            False,
            None,
        ),
        (
            "platform-job-completed.json",
            "platform-metrics-pending.json",
            JobState.COMPLETED,
            0.0,
            False,
            None,
        ),
        (
            "platform-job-completed.json",
            "platform-metrics-complete.json",
            JobState.COMPLETED,
            12.0,
            True,
            None,
        ),
        (
            "platform-job-completed.json",
            "platform-metrics-older-version.json",
            JobState.COMPLETED,
            12.0,
            True,
            None,
        ),
        (
            "platform-job-completed.json",
            "platform-metrics-no-status.json",
            JobState.COMPLETED,
            7.0,
            True,
            None,
        ),
        (
            "platform-job-failed.json",
            "platform-metrics-pending.json",
            JobState.FAILED,
            0.0,
            False,
            1517,
        ),
        (
            "platform-job-ran-too-long.json",
            "platform-metrics-complete.json",
            JobState.FAILED,
            12.0,
            True,
            1305,
        ),
    ],
)
def test_platform_normalisation(
    job_name: str,
    metrics_name: str | None,
    state: JobState,
    billed: float | None,
    usage_final: bool,
    reason_code: int | None,
):
    snapshot = snapshot_from_platform(
        "d305ck0ocacs73ajagvg", platform_job(job_name), platform_metrics(metrics_name), instance=CRN
    )

    assert snapshot.state is state
    assert snapshot.billed_seconds == billed
    assert snapshot.usage_final is usage_final
    assert snapshot.reason_code == reason_code
    assert snapshot.position_in_queue is None
    assert snapshot.estimated_start_at is None
    assert snapshot.flavor is ApiFlavor.PLATFORM
    assert snapshot.instance == CRN


def test_platform_failed_keeps_reason_and_backend():
    snapshot = snapshot_from_platform(
        "d7gthd493s0c738s1gk0", platform_job("platform-job-failed.json"), None
    )

    assert snapshot.reason == "Error raised during execution."
    assert snapshot.backend == "ibm_fez"
    assert snapshot.program_id == "estimator"
    assert snapshot.created_at == datetime(2026, 5, 4, 9, 0, 2, 400000, tzinfo=UTC)


def test_platform_complete_metrics_details():
    snapshot = snapshot_from_platform(
        "job",
        platform_job("platform-job-completed.json"),
        platform_metrics("platform-metrics-complete.json"),
    )

    assert snapshot.circuits_execution_time_ns == 11874000000
    assert snapshot.caller == "qiskit_ibm_runtime~sampler.py"
    assert snapshot.running_at == datetime(2026, 5, 4, 13, 31, 40, 203710, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "state"),
    [
        (b'{"state": {"status": "running"}}', JobState.RUNNING),
        (b'{"state": {"status": "CANCELLED"}}', JobState.CANCELLED),
        (b'{"status": "Cancelled - Ran too long"}', JobState.FAILED),
        (b'{"state": null, "status": "Completed"}', JobState.COMPLETED),
        (b'{"state": {"status": "Cancelled", "reason_code": "1305"}}', JobState.FAILED),
    ],
)
def test_platform_status_variants(body: bytes, state: JobState):
    job = parse_body(PlatformJob, body, source="test")

    assert snapshot_from_platform("job", job, None).state is state


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"state": {"status": "Paused"}}', "'Paused'"),
        (b'{"id": "job"}', "no state.status"),
    ],
)
def test_platform_unusable_status_is_invalid(body: bytes, expected: str):
    job = parse_body(PlatformJob, body, source="test")

    with pytest.raises(InvalidResponse) as caught:
        snapshot_from_platform("d305ck0ocacs73ajagvg", job, None)

    assert expected in str(caught.value)
    assert "d305ck0ocacs73ajagvg" in str(caught.value)
