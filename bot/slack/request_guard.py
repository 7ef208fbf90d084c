"""Checks on POST /slack/events that run before Bolt parses a request: size and replay.

Bolt verifies the signature and rejects timestamps older than 5 minutes, but it accepts the
same signed request again within those 5 minutes. This guard remembers each verified
(timestamp, signature) pair for the same 5 minutes and rejects a repeat with 401. A repeat
that carries `X-Slack-Retry-Num` is Slack retrying a request it already sent: it gets 200
without being processed again, because the first copy was.

NOTE: the memory is per process. With several `serve` replicas behind a load balancer a
replay that reaches another replica passes; watch creation is idempotent per team, channel
and job, so a replayed watch still creates no second watch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import Enum

from slack_sdk.signature import SignatureVerifier
from starlette.requests import ClientDisconnect, Request

log = logging.getLogger(__name__)

# Slash commands and button clicks are a few KiB; Slack's own limits keep them far below this.
MAX_BODY_BYTES = 64 * 1024
REPLAY_WINDOW_SECONDS = 5 * 60
MAX_REMEMBERED = 100_000


class Verdict(Enum):
    PASS = "pass"  # hand the request to Bolt
    TOO_LARGE = "too_large"  # 413
    REPLAYED = "replayed"  # 401
    RETRY_SEEN = "retry_seen"  # 200, already processed


class BodyTooLarge(Exception):
    pass


async def read_limited_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """Read the body, raising BodyTooLarge as soon as it passes `limit` bytes.

    The declared Content-Length is checked first, so a large upload is rejected unread.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
    except ClientDisconnect:
        return b""
    return b"".join(chunks)


class ReplayGuard:
    def __init__(
        self,
        signing_secret: str,
        *,
        clock: Callable[[], float] = time.time,
        window: float = REPLAY_WINDOW_SECONDS,
    ):
        self._verifier = SignatureVerifier(signing_secret, clock=_ClockAdapter(clock))
        self._clock = clock
        self._window = window
        self._seen: dict[tuple[str, str], float] = {}

    def check(self, body: bytes, headers: dict[str, str]) -> Verdict:
        """Return the verdict on one request; remember it when it is new and validly signed."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not timestamp.isdigit() or not signature:
            return Verdict.PASS  # Bolt rejects it with 401
        if not self._verifier.is_valid(body, timestamp, signature):
            return Verdict.PASS

        now = self._clock()
        self._forget_expired(now)
        key = (timestamp, signature)
        if key not in self._seen:
            self._seen[key] = now + self._window
            return Verdict.PASS
        if "x-slack-retry-num" in headers:
            return Verdict.RETRY_SEEN
        return Verdict.REPLAYED

    def _forget_expired(self, now: float) -> None:
        # Entries are inserted in time order, so expired ones sit at the front.
        for key, expires in list(self._seen.items()):
            if expires > now and len(self._seen) < MAX_REMEMBERED:
                break
            del self._seen[key]


class _ClockAdapter:
    """slack_sdk's verifier wants an object with `now()`."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock

    def now(self) -> float:
        return self._clock()


def describe(headers: dict[str, str], verdict: Verdict) -> str:
    """A log line's worth about a rejected request; never the body or the signature."""
    retry = headers.get("x-slack-retry-num")
    stamp = headers.get("x-slack-request-timestamp", "none")
    return f"{verdict.value} timestamp={stamp} retry={retry or 'none'}"
