"""The HTTP surface: Bolt's Slack endpoints and GET /healthz for the platform."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.slack.request_guard import BodyTooLarge, ReplayGuard, Verdict, describe, read_limited_body

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
# Returns the Prometheus text exposition and its content type.
MetricsRenderer = Callable[[], Awaitable[tuple[bytes, str]]]


def build_web_app(
    bolt_app: AsyncApp,
    health_check: HealthCheck,
    *,
    guard: ReplayGuard | None = None,
    metrics: MetricsRenderer | None = None,
    liveness_check: HealthCheck | None = None,
) -> Starlette:
    """Routes: Bolt's endpoints, /healthz for readiness (fails while a dependency such as the
    IBM API is down), /livez for liveness (fails only when this process stopped working)."""
    handler = AsyncSlackRequestHandler(bolt_app)

    async def slack_events(request: Request) -> Response:
        if request.method == "POST":
            rejected = await _screen(request, guard)
            if rejected is not None:
                return rejected
        return await handler.handle(request)

    async def metrics_endpoint(_request: Request) -> Response:
        assert metrics is not None
        body, content_type = await metrics()
        return Response(body, media_type=content_type)

    async def healthz(_request: Request) -> Response:
        return _health_response(*await health_check())

    async def livez(_request: Request) -> Response:
        check = liveness_check or health_check
        return _health_response(*await check())

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            # Bolt serves these only when multi-workspace installs are configured.
            Route("/slack/install", slack_events, methods=["GET"]),
            Route("/slack/oauth_redirect", slack_events, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/livez", livez, methods=["GET"]),
            *([Route("/metrics", metrics_endpoint, methods=["GET"])] if metrics else []),
        ]
    )


def _health_response(healthy: bool, details: dict[str, Any]) -> Response:
    return JSONResponse(
        {"status": "ok" if healthy else "failing", **details},
        status_code=200 if healthy else 503,
    )


async def _screen(request: Request, guard: ReplayGuard | None) -> Response | None:
    """Reject an oversized or replayed request before Bolt parses it; None lets it through."""
    try:
        body = await read_limited_body(request)
    except BodyTooLarge:
        log.warning("request to %s rejected: body over the size limit", request.url.path)
        return PlainTextResponse("request body too large", status_code=413)
    # Starlette's Request.body() returns this cached copy, so Bolt reads the same bytes.
    request._body = body

    if guard is None:
        return None
    headers = {name.lower(): value for name, value in request.headers.items()}
    verdict = guard.check(body, headers)
    if verdict is Verdict.PASS:
        return None
    log.warning("request to %s rejected: %s", request.url.path, describe(headers, verdict))
    if verdict is Verdict.RETRY_SEEN:
        return Response(status_code=200)
    return PlainTextResponse("replayed request", status_code=401)
