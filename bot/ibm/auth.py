"""Bearer tokens for the IBM APIs: a static token, or IAM tokens exchanged from an API key.

Secrets are kept as SecretStr and never put in logs, reprs or exception messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

import httpx
from pydantic import SecretStr

from bot.domain.errors import AccessDenied, ApiUnavailable
from bot.ibm.headers import parse_retry_after
from bot.ibm.payloads import IamToken, error_message, parse_body

logger = logging.getLogger(__name__)

IAM_GRANT_TYPE = "urn:ibm:params:oauth:grant-type:apikey"
#: Lifetime assumed when the IAM reply gives neither `expires_in` nor `expiration`.
DEFAULT_LIFETIME_SECONDS = 3600.0


class TokenProvider(Protocol):
    """Source of the bearer token sent on every IBM API call."""

    #: Whether `invalidate()` followed by `token()` can yield a different token.
    refreshable: bool

    async def token(self) -> str: ...

    def invalidate(self, rejected: str | None = None) -> None: ...


class StaticToken:
    """A fixed bearer token, such as an IBM Quantum API token for the admin endpoint."""

    refreshable = False

    def __init__(self, token: SecretStr | str) -> None:
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)

    def __repr__(self) -> str:
        return "StaticToken(token=SecretStr('**********'))"

    async def token(self) -> str:
        return self._token.get_secret_value()

    def invalidate(self, rejected: str | None = None) -> None:
        """Do nothing: a static token cannot be refreshed, so a 401 is final."""


class IamTokenManager:
    """Exchanges an IBM Cloud API key for IAM access tokens and caches them.

    A token is refreshed once `refresh_fraction` of its lifetime has passed. Concurrent callers
    share one exchange: the first refreshes under a lock while the others wait for its result.
    """

    refreshable = True

    def __init__(
        self,
        api_key: SecretStr | str,
        *,
        iam_url: str,
        http: httpx.AsyncClient,
        refresh_fraction: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self._iam_url = iam_url
        self._http = http
        self._refresh_fraction = refresh_fraction
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: SecretStr | None = None
        self._refresh_at = 0.0
        #: Number of successful exchanges, for logs and tests.
        self.exchanges = 0

    def __repr__(self) -> str:
        return f"IamTokenManager(iam_url={self._iam_url!r}, api_key=SecretStr('**********'))"

    async def token(self) -> str:
        """Return a valid access token, exchanging the API key first when needed.

        Raises AccessDenied when IAM rejects the key and ApiUnavailable when IAM fails.
        """
        cached = self._fresh_token()
        if cached is not None:
            return cached

        async with self._lock:
            cached = self._fresh_token()
            if cached is not None:
                return cached
            return await self._exchange()

    def invalidate(self, rejected: str | None = None) -> None:
        """Drop the cached token so the next `token()` exchanges the key again.

        With `rejected`, drop it only if it is still the cached token, so that many calls
        rejected with the same token cause one exchange, not one each.
        """
        if self._token is None:
            return
        if rejected is not None and self._token.get_secret_value() != rejected:
            return
        self._token = None
        self._refresh_at = 0.0

    def _fresh_token(self) -> str | None:
        if self._token is None or self._clock() >= self._refresh_at:
            return None
        return self._token.get_secret_value()

    async def _exchange(self) -> str:
        started = self._clock()
        response = await self._post()
        reply = self._check(response)

        lifetime = _lifetime_seconds(reply)
        self._token = reply.access_token
        self._refresh_at = started + lifetime * self._refresh_fraction
        self.exchanges += 1
        logger.info("IAM token obtained; it expires in %.0f s", lifetime)
        return reply.access_token.get_secret_value()

    async def _post(self) -> httpx.Response:
        form = {"grant_type": IAM_GRANT_TYPE, "apikey": self._api_key.get_secret_value()}
        try:
            return await self._http.post(
                self._iam_url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.TimeoutException as exc:
            raise ApiUnavailable(
                f"IBM Cloud IAM at {self._iam_url} timed out. The bot retries later; check "
                "IBM_IAM_URL if this persists."
            ) from exc
        except httpx.RequestError as exc:
            raise ApiUnavailable(
                f"IBM Cloud IAM at {self._iam_url} could not be reached "
                f"({type(exc).__name__}: {exc}). Check IBM_IAM_URL and the network."
            ) from exc

    def _check(self, response: httpx.Response) -> IamToken:
        status = response.status_code
        if status == 200:
            return parse_body(IamToken, response.content, source="IBM Cloud IAM token reply")

        detail = self._scrub(error_message(response.content) or "no message")
        if status in (400, 401, 403):
            raise AccessDenied(
                f"IBM Cloud IAM rejected the API key (HTTP {status}: {detail}). Check that "
                "IBM_CLOUD_API_KEY is a valid, active IBM Cloud API key.",
                status=status,
            )
        raise ApiUnavailable(
            f"IBM Cloud IAM failed (HTTP {status}: {detail}). The bot retries later.",
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key.get_secret_value(), "**********")


def _lifetime_seconds(reply: IamToken) -> float:
    if reply.expires_in is not None:
        return reply.expires_in
    if reply.expiration is not None:
        return reply.expiration - time.time()
    return DEFAULT_LIFETIME_SECONDS
