from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.domain.errors import AccessDenied, ApiUnavailable, InvalidResponse
from bot.ibm.auth import IamTokenManager, StaticToken
from bot.ibm.client import IbmJobSource
from bot.sim.ibm_api import IbmApiSimulator, ScriptedJob
from tests.ibm.conftest import platform_settings


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def manager(sim: IbmApiSimulator, http: httpx.AsyncClient, **kwargs: object) -> IamTokenManager:
    return IamTokenManager(sim.api_key, iam_url=sim.iam_url, http=http, **kwargs)  # type: ignore[arg-type]


async def test_iam_token_is_cached(sim: IbmApiSimulator, http: httpx.AsyncClient):
    tokens = manager(sim, http)

    first = await tokens.token()
    second = await tokens.token()

    assert first == second
    assert sim.iam_exchanges == 1


async def test_iam_refreshes_at_80_percent(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.token_lifetime = 100
    clock = ManualClock()
    tokens = manager(sim, http, clock=clock)
    first = await tokens.token()

    clock.now += 79
    assert await tokens.token() == first
    assert sim.iam_exchanges == 1

    clock.now += 2
    assert await tokens.token() != first
    assert sim.iam_exchanges == 2


async def test_concurrent_callers_share_one_exchange(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.iam_delay = 0.05
    tokens = manager(sim, http)

    results = await asyncio.gather(*(tokens.token() for _ in range(20)))

    assert len(set(results)) == 1
    assert sim.iam_exchanges == 1


async def test_concurrent_polls_trigger_one_exchange(sim: IbmApiSimulator):
    sim.iam_delay = 0.05
    sim.add(*(ScriptedJob(f"job{n}") for n in range(10)))

    async with IbmJobSource.from_settings(platform_settings(sim)) as source:
        snapshots = await asyncio.gather(*(source.fetch(f"job{n}") for n in range(10)))

    assert len(snapshots) == 10
    assert sim.iam_exchanges == 1
    assert sim.requests_by_endpoint["job"] == 10


async def test_invalidate_forces_new_exchange(sim: IbmApiSimulator, http: httpx.AsyncClient):
    tokens = manager(sim, http)
    first = await tokens.token()

    tokens.invalidate(first)

    assert await tokens.token() != first
    assert sim.iam_exchanges == 2


async def test_invalidate_ignores_stale_token(sim: IbmApiSimulator, http: httpx.AsyncClient):
    tokens = manager(sim, http)
    current = await tokens.token()

    tokens.invalidate("an older token")

    assert await tokens.token() == current
    assert sim.iam_exchanges == 1


async def test_wrong_api_key_is_access_denied(sim: IbmApiSimulator, http: httpx.AsyncClient):
    tokens = IamTokenManager("not-the-key", iam_url=sim.iam_url, http=http)

    with pytest.raises(AccessDenied) as caught:
        await tokens.token()

    message = str(caught.value)
    assert "HTTP 400" in message
    assert "Provided API key could not be found" in message
    assert "IBM_CLOUD_API_KEY" in message
    assert "not-the-key" not in message


@pytest.mark.parametrize(("status", "retry_after"), [(500, None), (503, 12.0), (429, 3.0)])
async def test_iam_failure_is_unavailable(
    sim: IbmApiSimulator, http: httpx.AsyncClient, status: int, retry_after: float | None
):
    sim.fail_next(status, endpoint="iam", retry_after=retry_after)

    with pytest.raises(ApiUnavailable) as caught:
        await manager(sim, http).token()

    assert f"HTTP {status}" in str(caught.value)
    assert caught.value.retry_after == retry_after
    assert caught.value.status == status


async def test_iam_unreachable_is_unavailable(http: httpx.AsyncClient, closed_port: int):
    tokens = IamTokenManager("key", iam_url=f"http://127.0.0.1:{closed_port}/token", http=http)

    with pytest.raises(ApiUnavailable, match="could not be reached"):
        await tokens.token()


async def test_iam_html_reply_is_invalid(sim: IbmApiSimulator, http: httpx.AsyncClient):
    sim.fail_next("html", endpoint="iam")

    with pytest.raises(InvalidResponse, match="IAM token reply is an HTML page"):
        await manager(sim, http).token()


async def test_iam_error_names_job_through_client(sim: IbmApiSimulator):
    settings = platform_settings(sim, ibm_cloud_api_key="wrong-key-123")

    async with IbmJobSource.from_settings(settings) as source:
        with pytest.raises(AccessDenied) as caught:
            await source.fetch("d305ck0ocacs73ajagvg")

    assert "d305ck0ocacs73ajagvg" in str(caught.value)
    assert caught.value.job_id == "d305ck0ocacs73ajagvg"
    assert "wrong-key-123" not in str(caught.value)


async def test_secrets_stay_out_of_reprs_logs_and_errors(
    sim: IbmApiSimulator, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    sim.add(ScriptedJob("job0"))
    tokens = manager(sim, http)
    source = IbmJobSource.from_settings(platform_settings(sim), http=http)
    await tokens.token()

    await source.fetch("job0")
    sim.revoke_tokens()
    await source.fetch("job0")
    sim.fail_next(401, count=2, endpoint="job")
    with pytest.raises(AccessDenied) as caught:
        await source.fetch("job0")

    texts = [
        caplog.text,
        repr(tokens),
        repr(source),
        str(caught.value),
        repr(caught.value),
        repr(caught.value.__cause__),
    ]
    secrets = [sim.api_key, *sim.issued_tokens]
    assert len(secrets) == 5
    for secret in secrets:
        for text in texts:
            assert secret not in text


def test_static_token_repr_hides_token():
    assert "s3cret" not in repr(StaticToken("s3cret"))


async def test_static_token_ignores_invalidate():
    tokens = StaticToken("s3cret")

    tokens.invalidate("s3cret")

    assert await tokens.token() == "s3cret"
    assert tokens.refreshable is False
