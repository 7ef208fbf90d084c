"""The composition root: builds every layer from Settings and runs the web server and ticks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import uvicorn
from sqlalchemy import text

from bot.config import Settings
from bot.domain.source import JobSource
from bot.engine.scheduler import EngineScheduler
from bot.engine.watcher import Clock, EngineConfig, WatchEngine, utc_now
from bot.ibm.client import IbmJobSource
from bot.slack.app import build_bolt_app
from bot.slack.handlers import Defaults, JobMetricsCommands
from bot.slack.sender import SlackAlertSender, make_client
from bot.slack.web import build_web_app
from bot.storage import migrate
from bot.storage.database import make_engine
from bot.storage.models import AlertStatus
from bot.storage.store import Store

log = logging.getLogger(__name__)

# Tokens used when none is configured: the demo and tests talk to local stand-ins only.
PLACEHOLDER_BOT_TOKEN = "xoxb-not-configured"
PLACEHOLDER_SIGNING_SECRET = "not-configured"


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: the command installs handlers that
    stop the scheduler and the server together and exit 0, where uvicorn would re-raise the
    signal after shutdown."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


class BotService:
    def __init__(
        self, settings: Settings, *, source: JobSource | None = None, clock: Clock = utc_now
    ):
        self.settings = settings
        self.clock = clock
        self.database = make_engine(settings.sqlalchemy_url)
        self.store = Store(self.database)
        self.source = source or IbmJobSource.from_settings(settings)

        bot_token = _secret(settings.slack_bot_token, PLACEHOLDER_BOT_TOKEN)
        self.slack_client = make_client(bot_token, settings.slack_api_url)
        self.engine = WatchEngine(
            self.store,
            self.source,
            SlackAlertSender(self.slack_client),
            _engine_config(settings),
            clock,
        )
        self.scheduler = EngineScheduler(self.engine, tick_seconds=_tick_seconds(settings))

        thresholds = (
            (settings.billed_seconds_threshold,) if settings.billed_seconds_threshold else ()
        )
        defaults = Defaults(thresholds, settings.oncall_channel, settings.oncall_mention)
        self.commands = JobMetricsCommands(self.store, self.source, clock, defaults)
        self.bolt = build_bolt_app(
            self.commands,
            signing_secret=_secret(settings.slack_signing_secret, PLACEHOLDER_SIGNING_SECRET),
            client=self.slack_client,
        )
        self.web = build_web_app(self.bolt, self.health)
        self._server: _Server | None = None

    def prepare_database(self) -> None:
        """SQLite is migrated in place; PostgreSQL must already be at the newest revision,
        because migrations run once per release, not in every replica."""
        if self.settings.is_sqlite:
            migrate.upgrade(self.settings.sqlalchemy_url)
        else:
            migrate.check_current(self.database)

    async def serve(self, host: str, port: int, started: asyncio.Event | None = None) -> None:
        """Run the web server and the scheduler until the server stops."""
        config = uvicorn.Config(self.web, host=host, port=port, log_level="warning", lifespan="off")
        self._server = _Server(config)
        self.scheduler.start()
        watcher = asyncio.create_task(self._signal_started(started)) if started else None
        try:
            await self._server.serve()
        finally:
            if watcher is not None:
                watcher.cancel()
            await self.close()

    async def work(self, stop: asyncio.Event) -> None:
        """Run the scheduler alone until `stop` is set."""
        self.scheduler.start()
        try:
            await stop.wait()
        finally:
            await self.close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    @property
    def port(self) -> int:
        """The port the web server listens on, once started (useful with port 0)."""
        assert self._server is not None and self._server.servers, "server not started"
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    async def close(self) -> None:
        await self.scheduler.shutdown()
        await self.source.aclose()
        self.database.dispose()

    async def health(self) -> tuple[bool, dict[str, Any]]:
        database_ok = await asyncio.to_thread(self._database_ok)
        last_tick = self.engine.last_poll_tick or self.scheduler.started_at
        stale_after = timedelta(seconds=max(30.0, 10 * self.scheduler.tick_seconds))
        ticking = last_tick is not None and self.clock() - last_tick < stale_after
        pending = (
            await asyncio.to_thread(self.store.count_alerts, AlertStatus.PENDING)
            if database_ok
            else None
        )
        details = {
            "database": "ok" if database_ok else "unreachable",
            "scheduler_last_tick": last_tick.isoformat() if last_tick else None,
            "pending_alerts": pending,
        }
        return database_ok and ticking, details

    def _database_ok(self) -> bool:
        try:
            with self.database.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception as exc:
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            return False

    async def _signal_started(self, started: asyncio.Event) -> None:
        while self._server is None or not self._server.started:
            await asyncio.sleep(0.01)
        started.set()


def _engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        poll_interval=settings.poll_interval_seconds,
        oncall_channel=settings.oncall_channel,
        oncall_mention=settings.oncall_mention,
        queue_alert_min_gap=settings.queue_alert_min_gap_seconds,
    )


def _tick_seconds(settings: Settings) -> float:
    """Tick often enough that a due watch waits at most a quarter of its interval, at most 1 s."""
    return max(0.05, min(1.0, settings.poll_interval_seconds / 4))


def _secret(value: Any, placeholder: str) -> str:
    return value.get_secret_value() if value is not None else placeholder
