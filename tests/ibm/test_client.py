from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.config import ConfigError, Settings
from bot.domain.errors import (
    AccessDenied,
    ApiUnavailable,
    InvalidResponse,
    JobNotFound,
    JobSourceError,
    RateLimited,
)
from bot.domain.snapshot import ApiFlavor, JobState
from bot.ibm.client import IbmJobSource, instance_name
from bot.sim.ibm_api import IbmApiSimulator, ScriptedJob
from tests.ibm.conftest import admin_settings, platform_settings

JOB = "d305ck0ocacs73ajagvg"
CRN_A = (
    "crn:v1:bluemix:public:quantum-computing:us-east:a/0001:aaaa0000-0000-0000-0000-000000000001::"
)
CRN_B = (
    "crn:v1:bluemix:public:quantum-computing:eu-de:a/0001:bbbb0000-0000-0000-0000-000000000002::"
)

# Each fault the simulator can inject, the error it must become, and a word of its message.
ERROR_CASES = [
    (401, AccessDenied, "HTTP 401"),
    (403, AccessDenied, "HTTP 403"),
    (404, JobNotFound, "HTTP 404"),
    (400, InvalidResponse, "HTTP 400"),
    (429, RateLimited, "HTTP 429"),
    (500, ApiUnavailable, "HTTP 500"),
    (502, ApiUnavailable, "HTTP 502"),
    (503, ApiUnavailable, "HTTP 503"),
    ("html", InvalidResponse, "HTML page titled 'IBM Quantum - Scheduled maintenance'"),
    ("truncated", InvalidResponse, "not valid JSON"),
]


def assert_clean_message(error: JobSourceError, sim: IbmApiSimulator) -> None:
    """The message names the job and leaks no credential."""
    message = str(error)
    assert JOB in message
    assert error.job_id == JOB
    for secret in [sim.admin_token, sim.api_key, *sim.issued_tokens]:
        assert secret not in message
        assert secret not in repr(error.__cause__)


@pytest.mark.parametrize(("fault", "error_type", "word"), ERROR_CASES)
async def test_admin_errors_are_translated(
    sim: IbmApiSimulator, admin_source: IbmJobSource, fault, error_type, word
):
    sim.add(ScriptedJob(JOB))
    sim.fail_next(fault, message="Simulated failure")

    with pytest.raises(error_type) as caught:
        await admin_source.fetch(JOB)

    assert word in str(caught.value)
    if isinstance(fault, int):
        assert "Simulated failure" in str(caught.value)
        assert caught.value.status == fault
    assert_clean_message(caught.value, sim)


@pytest.mark.parametrize(("fault", "error_type", "word"), ERROR_CASES)
async def test_platform_errors_are_translated(
    sim: IbmApiSimulator, platform_source: IbmJobSource, fault, error_type, word
):
    sim.add(ScriptedJob(JOB))
    # Two of each, so that a 401 still fails after the one retry with a fresh token.
    sim.fail_next(fault, count=2, message="Simulated failure")

    with pytest.raises(error_type) as caught:
        await platform_source.fetch(JOB)

    assert word in str(caught.value)
    if isinstance(fault, int):
        assert "Simulated failure" in str(caught.value)
    assert_clean_message(caught.value, sim)


async def test_platform_metrics_failure_is_translated(
    sim: IbmApiSimulator, platform_source: IbmJobSource
):
    sim.add(ScriptedJob(JOB))
    sim.fail_next(500, endpoint="metrics")

    with pytest.raises(ApiUnavailable) as caught:
        await platform_source.fetch(JOB)

    assert "HTTP 500" in str(caught.value)
    assert sim.requests_by_endpoint["job"] == 1


async def test_unknown_admin_job_is_not_found(sim: IbmApiSimulator, admin_source: IbmJobSource):
    with pytest.raises(JobNotFound) as caught:
        await admin_source.fetch(JOB)

    assert "Job not found., Error code: 3250" in str(caught.value)
    assert "Check the job ID" in str(caught.value)
    assert_clean_message(caught.value, sim)


async def test_wrong_admin_token_is_not_retried(sim: IbmApiSimulator):
    sim.add(ScriptedJob(JOB))
    settings = admin_settings(sim, ibm_quantum_token="stale-token")

    async with IbmJobSource.from_settings(settings) as source:
        with pytest.raises(AccessDenied) as caught:
            await source.fetch(JOB)

    assert "IBM_QUANTUM_TOKEN" in str(caught.value)
    assert "stale-token" not in str(caught.value)
    assert sim.requests_by_endpoint["admin"] == 1


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_seconds_is_kept(
    sim: IbmApiSimulator, admin_source: IbmJobSource, status: int
):
    sim.fail_next(status, retry_after=7)

    with pytest.raises(RateLimited) as caught:
        await admin_source.fetch(JOB)

    assert caught.value.retry_after == 7
    assert "Retry after 7 s" in str(caught.value)


async def test_retry_after_http_date_is_parsed(sim: IbmApiSimulator, admin_source: IbmJobSource):
    later = datetime.now(UTC) + timedelta(seconds=30)
    sim.fail_next(429, retry_after=format_datetime(later, usegmt=True))

    with pytest.raises(RateLimited) as caught:
        await admin_source.fetch(JOB)

    assert caught.value.retry_after is not None
    assert 25 <= caught.value.retry_after <= 30


async def test_429_without_retry_after(sim: IbmApiSimulator, admin_source: IbmJobSource):
    sim.fail_next(429)

    with pytest.raises(RateLimited) as caught:
        await admin_source.fetch(JOB)

    assert caught.value.retry_after is None
    assert "no Retry-After" in str(caught.value)


async def test_timeout_is_unavailable(sim: IbmApiSimulator):
    sim.latency = 1.0
    settings = admin_settings(sim, ibm_timeout_seconds=0.1)

    async with IbmJobSource.from_settings(settings) as source:
        with pytest.raises(ApiUnavailable) as caught:
            await source.fetch(JOB)

    assert "timed out" in str(caught.value)
    assert "0.1 s" in str(caught.value)
    assert_clean_message(caught.value, sim)


async def test_refused_connection_is_unavailable(sim: IbmApiSimulator, closed_port: int):
    settings = admin_settings(sim, ibm_quantum_api_url=f"http://127.0.0.1:{closed_port}/runtime")

    async with IbmJobSource.from_settings(settings) as source:
        with pytest.raises(ApiUnavailable) as caught:
            await source.fetch(JOB)

    assert "could not be reached" in str(caught.value)
    assert_clean_message(caught.value, sim)


async def test_job_id_is_path_quoted(sim: IbmApiSimulator, admin_source: IbmJobSource):
    with pytest.raises(JobNotFound):
        await admin_source.fetch("../a b?c")

    assert "/runtime/admin/jobs/..%2Fa%20b%3Fc/metrics" in sim.requests_by_path


async def test_admin_lifecycle(sim: IbmApiSimulator, admin_source: IbmJobSource):
    sim.add(
        ScriptedJob(
            JOB, queue_positions=[5, 3, 1, 0], step_seconds=10, run_seconds=40, billed_seconds=20
        )
    )
    seen = []

    for _ in range(10):
        snapshot = await admin_source.fetch(JOB)
        seen.append((snapshot.state, snapshot.position_in_queue, snapshot.billed_seconds))
        sim.advance(10)

    assert seen == [
        (JobState.QUEUED, 5, None),
        (JobState.QUEUED, 3, None),
        (JobState.QUEUED, 1, None),
        (JobState.QUEUED, 0, None),
        (JobState.RUNNING, None, 0),
        (JobState.RUNNING, None, 5),
        (JobState.RUNNING, None, 10),
        (JobState.RUNNING, None, 15),
        (JobState.COMPLETED, None, 20),
        (JobState.COMPLETED, None, 20),
    ]
    assert sim.requests_by_job[JOB] == 10


async def test_admin_cancelled_in_queue(sim: IbmApiSimulator, admin_source: IbmJobSource):
    sim.add(ScriptedJob(JOB, queue_positions=[2, 1], outcome="cancelled_in_queue"))
    sim.advance(25)

    snapshot = await admin_source.fetch(JOB)

    assert snapshot.state is JobState.ENDED_IN_QUEUE
    assert snapshot.billed_seconds == 0
    assert snapshot.usage_final is True
    assert snapshot.running_at is None


async def test_platform_sends_pinned_headers(sim: IbmApiSimulator, platform_source: IbmJobSource):
    sim.add(ScriptedJob(JOB))

    await platform_source.fetch(JOB)

    job_request, metrics_request = sim.recent_requests[-2:]
    assert job_request.path == f"/api/v1/jobs/{JOB}"
    assert job_request.query == {"exclude_params": "true"}
    assert metrics_request.path == f"/api/v1/jobs/{JOB}/metrics"
    for request in (job_request, metrics_request):
        assert request.api_version == "2026-04-15"
        assert request.service_crn == sim.crns[0]


async def test_platform_queued_to_failed(sim: IbmApiSimulator, platform_source: IbmJobSource):
    sim.add(
        ScriptedJob(JOB, queue_positions=[2, 1], step_seconds=10, run_seconds=20, outcome="failed")
    )

    queued = await platform_source.fetch(JOB)
    sim.advance(30)
    running = await platform_source.fetch(JOB)
    sim.advance(20)
    failed = await platform_source.fetch(JOB)

    assert queued.state is JobState.QUEUED
    assert queued.position_in_queue is None
    assert running.state is JobState.RUNNING
    assert failed.state is JobState.FAILED
    assert failed.reason == "Error raised during execution."
    assert failed.reason_code == 1517
    assert failed.backend == "ibm_torino"
    assert failed.program_id == "sampler"


async def test_platform_ran_too_long_is_failed(sim: IbmApiSimulator, platform_source: IbmJobSource):
    sim.add(ScriptedJob(JOB, run_seconds=20, outcome="ran_too_long"))
    sim.advance(60)

    snapshot = await platform_source.fetch(JOB)

    assert snapshot.state is JobState.FAILED
    assert snapshot.reason_code == 1305
    assert snapshot.reason == "Job exceeded its maximum execution time."


async def test_platform_completed_usage_turns_final(
    sim: IbmApiSimulator, platform_source: IbmJobSource
):
    sim.add(
        ScriptedJob(
            JOB,
            queue_positions=[1],
            step_seconds=10,
            run_seconds=20,
            billed_seconds=12.5,
            usage_final_delay=5,
        )
    )

    queued = await platform_source.fetch(JOB)
    sim.advance(20)
    running = await platform_source.fetch(JOB)
    sim.advance(10)
    pending = await platform_source.fetch(JOB)
    sim.advance(5)
    final = await platform_source.fetch(JOB)

    assert queued.state is JobState.QUEUED
    assert queued.billed_seconds == 0
    assert running.state is JobState.RUNNING
    assert running.billed_seconds == 6
    assert running.usage_final is False
    assert pending.state is JobState.COMPLETED
    assert pending.billed_seconds == 12
    assert pending.usage_final is False
    assert final.billed_seconds == 12.5
    assert final.usage_final is True
    assert final.circuits_execution_time_ns is not None


async def test_platform_older_api_version(sim: IbmApiSimulator):
    sim.add(ScriptedJob(JOB, billed_seconds=9))
    sim.advance(100)
    settings = platform_settings(sim, ibm_api_version="2025-06-01")

    async with IbmJobSource.from_settings(settings) as source:
        snapshot = await source.fetch(JOB)

    assert snapshot.billed_seconds == 9
    assert snapshot.quantum_seconds == 9
    assert snapshot.usage_final is True


async def test_platform_refreshes_once_after_401(
    sim: IbmApiSimulator, platform_source: IbmJobSource
):
    sim.add(ScriptedJob(JOB))
    await platform_source.fetch(JOB)
    sim.revoke_tokens()

    snapshot = await platform_source.fetch(JOB)

    assert snapshot.state is JobState.QUEUED
    assert sim.iam_exchanges == 2
    assert sim.requests_by_endpoint["job"] == 3


async def test_platform_expired_token_is_refreshed(
    sim: IbmApiSimulator, platform_source: IbmJobSource
):
    sim.token_lifetime = 60
    sim.add(ScriptedJob(JOB))
    await platform_source.fetch(JOB)
    sim.advance(61)

    await platform_source.fetch(JOB)

    assert sim.iam_exchanges == 2


async def test_platform_second_401_is_access_denied(
    sim: IbmApiSimulator, platform_source: IbmJobSource
):
    sim.add(ScriptedJob(JOB))
    sim.fail_next(401, count=2, endpoint="job")

    with pytest.raises(AccessDenied) as caught:
        await platform_source.fetch(JOB)

    assert "IBM_CLOUD_API_KEY" in str(caught.value)
    assert sim.requests_by_endpoint["job"] == 2
    assert sim.iam_exchanges == 2


@pytest.fixture
def two_instance_sim():
    with IbmApiSimulator(crns=[CRN_A, CRN_B]) as simulator:
        yield simulator


async def test_instance_fallback_finds_job(two_instance_sim: IbmApiSimulator):
    sim = two_instance_sim
    sim.add(ScriptedJob(JOB, instance=CRN_B))

    async with IbmJobSource.from_settings(platform_settings(sim)) as source:
        snapshot = await source.fetch(JOB)

    assert snapshot.instance == CRN_B
    assert [request.service_crn for request in sim.recent_requests if request.method == "GET"] == [
        CRN_A,
        CRN_B,
        CRN_B,
    ]


async def test_given_instance_is_not_searched_further(two_instance_sim: IbmApiSimulator):
    sim = two_instance_sim
    sim.add(ScriptedJob(JOB, instance=CRN_B))

    async with IbmJobSource.from_settings(platform_settings(sim)) as source:
        with pytest.raises(JobNotFound) as caught:
            await source.fetch(JOB, instance=CRN_A)

    message = str(caught.value)
    assert f"instance {instance_name(CRN_A)}" in message
    assert "aaaa0000-0000-0000-0000-000000000001 (us-east)" in message
    assert "another instance or region" in message
    assert sim.requests_by_endpoint["job"] == 1


async def test_job_in_no_instance_is_not_found(two_instance_sim: IbmApiSimulator):
    sim = two_instance_sim

    async with IbmJobSource.from_settings(platform_settings(sim)) as source:
        with pytest.raises(JobNotFound) as caught:
            await source.fetch(JOB)

    message = str(caught.value)
    assert "any of the 2 instances" in message
    assert "another instance or region" in message
    assert "Job not found" in message
    assert_clean_message(caught.value, sim)


def test_from_settings_needs_credentials(sim: IbmApiSimulator):
    settings = Settings(_env_file=None, ibm_quantum_api_url=sim.url)  # type: ignore[call-arg]

    with pytest.raises(ConfigError, match="IBM_QUANTUM_TOKEN is missing"):
        IbmJobSource.from_settings(settings)


async def test_from_settings_picks_flavor(sim: IbmApiSimulator):
    async with IbmJobSource.from_settings(platform_settings(sim)) as source:
        assert source.flavor is ApiFlavor.PLATFORM
    async with IbmJobSource.from_settings(admin_settings(sim)) as source:
        assert source.flavor is ApiFlavor.ADMIN
