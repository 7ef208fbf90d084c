"""Fixtures for the Slack surface: a running Slack Web API stand-in and job snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.snapshot import ApiFlavor, JobSnapshot, JobState
from bot.sim.slack_api import SlackStandIn

JOB = "d305ck0ocacs73ajagvg"
CREATED = datetime(2025, 9, 12, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as stand_in:
        yield stand_in


def make_snapshot(state: JobState, **overrides: Any) -> JobSnapshot:
    """A realistic snapshot of a job in `state`; keyword arguments replace fields."""
    fields: dict[str, Any] = {
        "job_id": JOB,
        "state": state,
        "backend": "ibm_torino",
        "created_at": CREATED,
        "qiskit_version": "qiskit_ibm_runtime-0.40.1*,qiskit-2.1.2*",
        "num_circuits": 3,
        "num_qubits": (127, 127, 127),
        "circuit_depths": (12, 80, 4003),
        "executions": 3000,
    }
    if state is JobState.QUEUED:
        fields |= {
            "position_in_queue": 4,
            "position_in_provider": 2,
            "estimated_start_at": CREATED + timedelta(hours=1),
            "estimated_completion_at": CREATED + timedelta(hours=1, minutes=5),
        }
    if state is not JobState.QUEUED and state is not JobState.ENDED_IN_QUEUE:
        fields |= {"running_at": CREATED + timedelta(minutes=12), "billed_seconds": 0.0}
    if state.is_final:
        fields["finished_at"] = CREATED + timedelta(hours=1, minutes=14, seconds=3)
    if state is JobState.COMPLETED:
        fields |= {"billed_seconds": 93.0, "quantum_seconds": 93.0, "usage_seconds": 93.0}
    if state in (JobState.FAILED, JobState.CANCELLED):
        fields |= {"reason": "Ran too long", "reason_code": 1305, "billed_seconds": 41.5}
    if state is JobState.ENDED_IN_QUEUE:
        fields["billed_seconds"] = None
    fields |= overrides
    return JobSnapshot(**fields)


def platform_snapshot(state: JobState, **overrides: Any) -> JobSnapshot:
    return make_snapshot(state, flavor=ApiFlavor.PLATFORM, **overrides)
