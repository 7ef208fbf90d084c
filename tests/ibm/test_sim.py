from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.sim.ibm_api import (
    IAM_GRANT_TYPE,
    Fault,
    IbmApiSimulator,
    ScriptedJob,
    SimClock,
)

JOB = "c5dge2d3rn7breq27i9g"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


async def iam_token(sim: IbmApiSimulator, http: httpx.AsyncClient) -> str:
    reply = await http.post(sim.iam_url, data={"grant_type": IAM_GRANT_TYPE, "apikey": sim.api_key})
    reply.raise_for_status()
    return reply.json()["access_token"]


async def platform_get(
    sim: IbmApiSimulator, http: httpx.AsyncClient, path: str, **headers: str
) -> httpx.Response:
    defaults = {
        "Authorization": f"Bearer {await iam_token(sim, http)}",
        "Service-CRN": sim.crns[0],
        "IBM-API-Version": "2026-04-15",
    }
    defaults.update({name.replace("_", "-"): value for name, value in headers.items()})
    return await http.get(f"{sim.platform_url}{path}", headers=defaults)


async def admin_get(sim: IbmApiSimulator, http: httpx.AsyncClient, job_id: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {sim.admin_token}"}
    return await http.get(f"{sim.url}/admin/jobs/{job_id}/metrics", headers=headers)


def test_lifecycle_view_by_hand():
    sim = IbmApiSimulator()
    sim.add(
        ScriptedJob(
            JOB,
            queue_positions=[5, 3, 1, 0],
            step_seconds=10,
            run_seconds=20,
            billed_seconds=8,
            usage_final_delay=4,
        )
    )
    statuses = []

    for _ in range(8):
        view = sim.view(JOB)
        statuses.append((view.status, view.position, view.pending_billed, view.usage_complete))
        sim.advance(10)

    assert statuses == [
        ("Queued", 5, 0, False),
        ("Queued", 3, 0, False),
        ("Queued", 1, 0, False),
        ("Queued", 0, 0, False),
        ("Running", None, 0, False),
        ("Running", None, 4, False),
        ("Completed", None, 8, False),
        ("Completed", None, 8, True),
    ]


@pytest.mark.parametrize(
    ("outcome", "status", "ran"),
    [
        ("completed", "Completed", True),
        ("failed", "Failed", True),
        ("ran_too_long", "Cancelled", True),
        ("cancelled_in_queue", "Cancelled", False),
    ],
)
def test_outcomes(outcome: str, status: str, ran: bool):
    sim = IbmApiSimulator()
    sim.add(ScriptedJob(JOB, outcome=outcome))  # type: ignore[arg-type]
    sim.advance(1000)

    view = sim.view(JOB)

    assert view.status == status
    assert view.running is ran
    assert view.finished is True


def test_clock_runs_at_speed():
    clock = SimClock(speed=1000)
    before = clock.now()

    clock.advance(5)
    clock_after = clock.now()

    assert clock_after >= before + 5
    assert clock.now() < before + 5 + 1000 * 10


async def test_real_time_clock_moves_jobs():
    sim = IbmApiSimulator(speed=2000)
    sim.add(ScriptedJob(JOB, queue_positions=[1], step_seconds=10, run_seconds=10))

    await asyncio.sleep(0.05)

    assert sim.view(JOB).status == "Completed"


async def test_async_with_serves_on_current_loop(http: httpx.AsyncClient):
    async with IbmApiSimulator() as sim:
        sim.add(ScriptedJob(JOB, queue_positions=[4]))
        reply = await admin_get(sim, http, JOB)

    assert reply.status_code == 200
    assert reply.json()["position_in_queue"] == 4


async def test_admin_body_grows_billed_mid_run(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.add(ScriptedJob(JOB, queue_positions=[], run_seconds=100, billed_seconds=50))
    sim.advance(40)

    body = (await admin_get(sim, http, JOB)).json()

    assert body["bss"] == {"seconds": 20}
    assert "finished" not in body["timestamps"]
    assert "position_in_queue" not in body


async def test_admin_rejects_wrong_token(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.add(ScriptedJob(JOB))

    reply = await http.get(
        f"{sim.url}/admin/jobs/{JOB}/metrics", headers={"Authorization": "Bearer nope"}
    )

    assert reply.status_code == 401
    assert "message" in reply.json()["error"]


async def test_admin_unknown_job_uses_legacy_shape(sim: IbmApiSimulator, http: httpx.AsyncClient):
    reply = await admin_get(sim, http, "nosuchjob")

    assert reply.status_code == 404
    assert reply.json() == {"error": {"message": "Job not found., Error code: 3250", "code": 3250}}


async def test_platform_rejects_unissued_token(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.add(ScriptedJob(JOB))

    reply = await platform_get(sim, http, f"/v1/jobs/{JOB}", Authorization="Bearer forged")

    assert reply.status_code == 401
    assert reply.json()["errors"][0]["code"] == "unauthorized"
    assert "trace" in reply.json()


async def test_platform_rejects_expired_token(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.token_lifetime = 30
    sim.add(ScriptedJob(JOB))
    token = await iam_token(sim, http)
    sim.advance(31)

    reply = await platform_get(sim, http, f"/v1/jobs/{JOB}", Authorization=f"Bearer {token}")

    assert reply.status_code == 401


async def test_platform_job_under_other_crn_is_404(sim: IbmApiSimulator, http: httpx.AsyncClient):
    other = "crn:v1:bluemix:public:quantum-computing:eu-de:a/1:2::"
    sim.add(ScriptedJob(JOB, instance=other))

    reply = await platform_get(sim, http, f"/v1/jobs/{JOB}")

    assert reply.status_code == 404
    assert reply.json()["errors"][0]["message"] == "Job not found"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Service_CRN": ""}, 400),
        ({"IBM_API_Version": ""}, 400),
        ({"IBM_API_Version": "latest"}, 400),
    ],
)
async def test_platform_checks_headers(
    sim: IbmApiSimulator, http: httpx.AsyncClient, headers: dict[str, str], status: int
):
    sim.add(ScriptedJob(JOB))

    reply = await platform_get(sim, http, f"/v1/jobs/{JOB}", **headers)

    assert reply.status_code == status


async def test_platform_params_only_without_exclude(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.add(ScriptedJob(JOB))

    full = await platform_get(sim, http, f"/v1/jobs/{JOB}")
    lean = await platform_get(sim, http, f"/v1/jobs/{JOB}?exclude_params=true")

    assert "params" in full.json()
    assert "params" not in lean.json()


async def test_platform_usage_pending_then_complete(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.add(
        ScriptedJob(
            JOB, queue_positions=[], run_seconds=10, billed_seconds=7.5, usage_final_delay=20
        )
    )
    sim.advance(15)
    pending = (await platform_get(sim, http, f"/v1/jobs/{JOB}/metrics")).json()
    sim.advance(20)
    complete = (await platform_get(sim, http, f"/v1/jobs/{JOB}/metrics")).json()

    assert pending["usage"] == {"qpu_charge_time_seconds": 7, "status": "pending"}
    assert complete["usage"] == {"qpu_charge_time_seconds": 7.5, "status": "complete"}


async def test_platform_older_version_has_bss(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.add(ScriptedJob(JOB))

    body = (
        await platform_get(sim, http, f"/v1/jobs/{JOB}/metrics", IBM_API_Version="2025-01-01")
    ).json()

    assert "bss" in body
    assert "qpu_charge_time_seconds" not in body["usage"]


async def test_iam_rejects_wrong_key(sim: IbmApiSimulator, http: httpx.AsyncClient):
    reply = await http.post(sim.iam_url, data={"grant_type": IAM_GRANT_TYPE, "apikey": "x"})

    assert reply.status_code == 400
    assert reply.json()["errorCode"] == "BXNIM0415E"


async def test_iam_reply_has_expiry(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.token_lifetime = 120
    reply = await http.post(sim.iam_url, data={"grant_type": IAM_GRANT_TYPE, "apikey": sim.api_key})

    assert reply.json()["expires_in"] == 120
    assert reply.json()["token_type"] == "Bearer"
    assert sim.iam_exchanges == 1


async def test_fail_next_is_consumed(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.add(ScriptedJob(JOB))
    sim.fail_next(500, count=2)

    statuses = [(await admin_get(sim, http, JOB)).status_code for _ in range(3)]

    assert statuses == [500, 500, 200]


async def test_fail_next_for_one_job(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.add(ScriptedJob(JOB), ScriptedJob("otherjob"))
    sim.fail_next(429, retry_after=9, job_id=JOB)

    other = await admin_get(sim, http, "otherjob")
    target = await admin_get(sim, http, JOB)

    assert other.status_code == 200
    assert target.status_code == 429
    assert target.headers["Retry-After"] == "9"


async def test_job_fault_is_permanent(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.add(ScriptedJob(JOB, fault=Fault(403)))

    statuses = [(await admin_get(sim, http, JOB)).status_code for _ in range(3)]

    assert statuses == [403, 403, 403]


@pytest.mark.parametrize(("kind", "content_type"), [("html", "text/html"), ("truncated", "json")])
async def test_broken_bodies(
    sim: IbmApiSimulator, http: httpx.AsyncClient, kind: str, content_type: str
):
    sim.fail_next(kind)  # type: ignore[arg-type]

    reply = await admin_get(sim, http, JOB)

    assert reply.status_code == 200
    assert content_type in reply.headers["Content-Type"]
    with pytest.raises(ValueError):
        reply.json()


async def test_requests_are_counted(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.add(ScriptedJob(JOB))

    await admin_get(sim, http, JOB)
    await admin_get(sim, http, JOB)
    await admin_get(sim, http, "otherjob")

    assert sim.requests_by_path[f"/runtime/admin/jobs/{JOB}/metrics"] == 2
    assert sim.requests_by_job == {JOB: 2, "otherjob": 1}
    assert sim.requests_by_endpoint["admin"] == 3
    sim.reset_counts()
    assert sim.requests_by_endpoint["admin"] == 0


def test_start_twice_is_rejected(sim: IbmApiSimulator):
    with pytest.raises(RuntimeError, match="already running"):
        sim.start()


def test_url_before_start_is_an_error():
    with pytest.raises(RuntimeError, match="not running"):
        _ = IbmApiSimulator().url
