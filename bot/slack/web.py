"""The HTTP surface: POST /slack/events for Bolt and GET /healthz for the platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


def build_web_app(bolt_app: AsyncApp, health_check: HealthCheck) -> Starlette:
    handler = AsyncSlackRequestHandler(bolt_app)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        healthy, details = await health_check()
        return JSONResponse(
            {"status": "ok" if healthy else "failing", **details},
            status_code=200 if healthy else 503,
        )

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
