"""The IBM job source: fetches a job over HTTP and normalises it into a JobSnapshot.

This module is the boundary where HTTP statuses and httpx exceptions become the domain errors
of `bot.domain.errors`, so no layer above it imports httpx.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol
from urllib.parse import quote

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from bot.config import ConfigError, Settings
from bot.domain.errors import (
    AccessDenied,
    ApiUnavailable,
    InvalidResponse,
    JobNotFound,
    JobSourceError,
    RateLimited,
)
from bot.domain.snapshot import ApiFlavor, JobSnapshot
from bot.ibm.auth import IamTokenManager, StaticToken, TokenProvider
from bot.ibm.headers import parse_retry_after
from bot.ibm.normalize import snapshot_from_admin, snapshot_from_platform
from bot.ibm.payloads import AdminMetrics, PlatformJob, PlatformMetrics, error_message, parse_body

logger = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2026-04-15"
DEFAULT_TIMEOUT_SECONDS = 20.0


class IbmJobSource:
    """JobSource over the legacy admin endpoint or the IBM Quantum Platform API.

    Pass `http` to share or instrument an httpx.AsyncClient (it is then closed only with
    `close_http=True`), or `transport` to choose the transport of the client built here.
    """

    def __init__(
        self,
        *,
        flavor: ApiFlavor,
        base_url: str,
        tokens: TokenProvider,
        instances: Sequence[str] = (),
        api_version: str = DEFAULT_API_VERSION,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        close_http: bool = False,
    ) -> None:
        if flavor is ApiFlavor.PLATFORM and not instances:
            raise ValueError("the platform API needs at least one service instance CRN")

        self.flavor = flavor
        self._base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._instances = tuple(instances)
        self._api_version = api_version
        self._http = http or build_http_client(timeout=timeout, transport=transport)
        self._close_http = close_http or http is None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        budget: RequestLimiter | None = None,
    ) -> IbmJobSource:
        """Build a source from Settings; raises ConfigError when the credential is missing.

        With `budget`, every request of the client built here waits for it first.
        """
        _check_credentials(settings)
        client = http or build_http_client(
            timeout=settings.ibm_timeout_seconds, transport=transport, budget=budget
        )
        return cls(
            flavor=settings.ibm_api_flavor,
            base_url=settings.ibm_base_url,
            tokens=_token_provider(settings, client),
            instances=settings.ibm_service_crns,
            api_version=settings.ibm_api_version,
            http=client,
            close_http=http is None,
        )

    async def __aenter__(self) -> IbmJobSource:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._close_http:
            await self._http.aclose()

    async def fetch(self, job_id: str, instance: str | None = None) -> JobSnapshot:
        """Fetch one job; raises a JobSourceError subclass that names the job on failure.

        On the platform, `instance` is a service CRN. Without it, each configured CRN is tried
        in turn until one has the job, and `snapshot.instance` is set to that CRN.
        """
        if self.flavor is ApiFlavor.ADMIN:
            snapshot = await self._fetch_admin(job_id)
        else:
            snapshot = await self._fetch_platform(job_id, instance)
        logger.debug("Fetched job %s: %s", job_id, snapshot.state)
        return snapshot

    async def _fetch_admin(self, job_id: str) -> JobSnapshot:
        url = f"{self._base_url}/admin/jobs/{_quote(job_id)}/metrics"
        response = await self._get(url, job_id=job_id)
        self._raise_for_status(response, job_id=job_id)

        source = f"metrics body of job {job_id} (HTTP {response.status_code})"
        metrics = parse_body(
            AdminMetrics,
            response.content,
            source=source,
            job_id=job_id,
            status=response.status_code,
        )
        return snapshot_from_admin(job_id, metrics)

    async def _fetch_platform(self, job_id: str, instance: str | None) -> JobSnapshot:
        candidates = (instance,) if instance else self._instances
        detail = "no message"

        for crn in candidates:
            try:
                return await self._fetch_platform_in(job_id, crn)
            except _NotInInstance as miss:
                logger.debug("Job %s is not in instance %s", job_id, crn)
                detail = miss.detail

        raise JobNotFound(_not_found_message(job_id, candidates, detail), job_id=job_id, status=404)

    async def _fetch_platform_in(self, job_id: str, crn: str) -> JobSnapshot:
        headers = {"Service-CRN": crn, "IBM-API-Version": self._api_version}
        job_url = f"{self._base_url}/v1/jobs/{_quote(job_id)}"
        response = await self._get(
            job_url, job_id=job_id, params={"exclude_params": "true"}, headers=headers
        )
        if response.status_code == 404:
            raise _NotInInstance(error_message(response.content) or "no message")
        self._raise_for_status(response, job_id=job_id)

        source = f"job body of job {job_id} (HTTP {response.status_code})"
        job = parse_body(
            PlatformJob, response.content, source=source, job_id=job_id, status=response.status_code
        )
        metrics = await self._fetch_platform_metrics(f"{job_url}/metrics", job_id, headers)
        return snapshot_from_platform(job_id, job, metrics, instance=crn)

    async def _fetch_platform_metrics(
        self, url: str, job_id: str, headers: dict[str, str]
    ) -> PlatformMetrics | None:
        """Fetch the metrics of a job the API just returned; None if it has none yet (404)."""
        response = await self._get(url, job_id=job_id, headers=headers)
        if response.status_code == 404:
            logger.debug("Job %s has no metrics yet (HTTP 404)", job_id)
            return None
        self._raise_for_status(response, job_id=job_id)

        source = f"metrics body of job {job_id} (HTTP {response.status_code})"
        return parse_body(
            PlatformMetrics,
            response.content,
            source=source,
            job_id=job_id,
            status=response.status_code,
        )

    async def _get(
        self,
        url: str,
        *,
        job_id: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """GET with the bearer token; after a 401 with a refreshable token, retry once."""
        response, token = await self._send(url, job_id, params, headers or {})
        if response.status_code != 401 or not self._tokens.refreshable:
            return response

        logger.warning(
            "IBM API returned 401 for job %s; exchanging the API key again and retrying once",
            job_id,
        )
        self._tokens.invalidate(token)
        response, _ = await self._send(url, job_id, params, headers or {})
        return response

    async def _send(
        self,
        url: str,
        job_id: str,
        params: dict[str, str] | None,
        headers: dict[str, str],
    ) -> tuple[httpx.Response, str]:
        token = await self._token_for(job_id)
        request_headers = {
            **headers,
            "Accept": "application/json",
            "Authorization": f"Bearer {token}",
        }

        try:
            response = await self._http.get(url, params=params, headers=request_headers)
        except httpx.TimeoutException as exc:
            raise ApiUnavailable(
                f"The IBM API timed out on job {job_id} (timeout "
                f"{self._http.timeout.read} s). The bot retries later; raise "
                "IBM_TIMEOUT_SECONDS if IBM is slow.",
                job_id=job_id,
            ) from exc
        except httpx.RequestError as exc:
            raise ApiUnavailable(
                f"The IBM API at {self._base_url} could not be reached for job {job_id} "
                f"({type(exc).__name__}: {exc}). Check the IBM API URL and the network; "
                "the bot retries later.",
                job_id=job_id,
            ) from exc
        return response, token

    async def _token_for(self, job_id: str) -> str:
        try:
            return await self._tokens.token()
        except JobSourceError as exc:
            exc.job_id = job_id
            exc.message = f"Cannot fetch job {job_id}: {exc.message}"
            exc.args = (exc.message,)
            raise

    def _raise_for_status(self, response: httpx.Response, *, job_id: str) -> None:
        """Raise the domain error for a non-2xx response; 2xx returns."""
        status = response.status_code
        if 200 <= status < 300:
            return

        detail = error_message(response.content) or "no message"
        context = f"job {job_id} (HTTP {status}: {detail})"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))

        if status in (401, 403):
            raise AccessDenied(self._access_message(status, context), job_id=job_id, status=status)
        if status == 404:
            raise JobNotFound(
                f"Job {job_id} was not found (HTTP 404: {detail}). Check the job ID.",
                job_id=job_id,
                status=status,
            )
        if status == 429 or (status == 503 and retry_after is not None):
            raise RateLimited(
                f"The IBM API rate-limited {context}. Retry after {_seconds(retry_after)}.",
                retry_after=retry_after,
                job_id=job_id,
                status=status,
            )
        if status >= 500:
            raise ApiUnavailable(
                f"The IBM API failed on {context}. This is usually transient; the bot "
                "retries later.",
                retry_after=retry_after,
                job_id=job_id,
                status=status,
            )
        raise InvalidResponse(
            f"The IBM API returned an unexpected status for {context}. Check the IBM API URL "
            "and IBM_API_VERSION.",
            job_id=job_id,
            status=status,
        )

    def _access_message(self, status: int, context: str) -> str:
        setting = "IBM_CLOUD_API_KEY" if self._tokens.refreshable else "IBM_QUANTUM_TOKEN"
        if status == 401:
            return (
                f"The IBM API rejected the credentials for {context}. Check that {setting} "
                "is valid and not expired."
            )
        return (
            f"Access is forbidden to {context}. Check that the account of {setting} has "
            "access to the job's instance."
        )


def build_http_client(
    *,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
    budget: RequestLimiter | None = None,
) -> httpx.AsyncClient:
    """An httpx client over aiohttp's connection handling unless `transport` is given.

    bench/pipeline.py measured httpx's own transport at several times the client CPU per
    request of the aiohttp-backed one (figures in bench/RESULTS.md).
    """
    chosen = transport or _AiohttpTransport()
    if budget is not None:
        chosen = BudgetedTransport(chosen, budget)
    return httpx.AsyncClient(timeout=timeout, transport=chosen)


class _AiohttpTransport(AiohttpTransport):
    """httpx-aiohttp 0.2.0 turns every aiohttp connection error into httpx.ConnectTimeout, a
    refused connection included; this maps errors that are not timeouts to their httpx kin."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if cause is None or isinstance(cause, TimeoutError):
                raise
            if isinstance(cause, aiohttp.ClientConnectorError):
                raise httpx.ConnectError(str(cause), request=request) from cause
            raise httpx.RemoteProtocolError(str(cause), request=request) from cause


class RequestLimiter(Protocol):
    """Anything that can hold a request back until it fits a rate, such as a token bucket."""

    async def acquire(self) -> None: ...


class BudgetedTransport(httpx.AsyncBaseTransport):
    """Waits for `budget` before each request, so that every request through one client,
    retries and IAM exchanges included, counts against one rate."""

    def __init__(self, inner: httpx.AsyncBaseTransport, budget: RequestLimiter) -> None:
        self._inner = inner
        self._budget = budget

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._budget.acquire()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _check_credentials(settings: Settings) -> None:
    if settings.ibm_api_flavor is ApiFlavor.PLATFORM:
        if settings.ibm_cloud_api_key is None and settings.ibm_quantum_token is None:
            raise ConfigError(
                "IBM_CLOUD_API_KEY is missing; the platform API needs an IBM Cloud API key"
            )
    elif settings.ibm_quantum_token is None:
        raise ConfigError("IBM_QUANTUM_TOKEN is missing; the admin API needs a bearer token")


def _token_provider(settings: Settings, http: httpx.AsyncClient) -> TokenProvider:
    """IAM tokens when the platform flavour has an API key, else the static token."""
    if settings.ibm_api_flavor is ApiFlavor.PLATFORM and settings.ibm_cloud_api_key:
        return IamTokenManager(settings.ibm_cloud_api_key, iam_url=settings.ibm_iam_url, http=http)
    assert settings.ibm_quantum_token is not None, "checked by _check_credentials"
    return StaticToken(settings.ibm_quantum_token)


class _NotInInstance(Exception):
    """The platform returned 404 for a job under one instance CRN."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _not_found_message(job_id: str, instances: Sequence[str], detail: str) -> str:
    names = ", ".join(instance_name(crn) for crn in instances)
    count = len(instances)
    where = f"instance {names}" if count == 1 else f"any of the {count} instances {names}"
    return (
        f"Job {job_id} was not found in {where} (HTTP 404: {detail}). Check the job ID. "
        "The job may belong to another instance or region: add that instance's CRN to "
        "IBM_SERVICE_CRNS."
    )


def instance_name(crn: str) -> str:
    """Return the short form of a service CRN for messages: its region and instance ID."""
    parts = crn.split(":")
    if len(parts) >= 8 and parts[7]:
        return f"{parts[7]} ({parts[5]})"
    return crn


def _quote(job_id: str) -> str:
    return quote(job_id, safe="")


def _seconds(retry_after: float | None) -> str:
    if retry_after is None:
        return "a backoff delay, as IBM gave no Retry-After"
    return f"{retry_after:g} s"
