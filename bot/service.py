"""The composition root: builds every layer from Settings and runs the web server and ticks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import uvicorn
from sqlalchemy import Engine, text

from bot.config import Settings, sqlite_path
from bot.domain.source import JobSource
from bot.engine.budget import RequestBudget
from bot.engine.health import ApiHealth, TrackedSource
from bot.engine.scheduler import EngineScheduler
from bot.engine.watcher import Clock, EngineConfig, WatchEngine, utc_now
from bot.ibm.client import IbmJobSource
from bot.metrics import CONTENT_TYPE_LATEST, BotMetrics, CountingSender
from bot.slack.access import AccessPolicy, rules_from
from bot.slack.app import OAuthSetup, build_bolt_app
from bot.slack.handlers import Defaults, JobMetricsCommands
from bot.slack.installations import (
    InstallationStore,
    OAuthStateStore,
    WorkspaceClients,
    make_client,
)
from bot.slack.request_guard import ReplayGuard
from bot.slack.sender import SlackAlertSender
from bot.slack.web import build_web_app
from bot.storage import migrate
from bot.storage.database import make_engine
from bot.storage.guard import SqliteProcessLock
from bot.storage.models import AlertStatus
from bot.storage.notices import NoticeStore
from bot.storage.store import Store

log = logging.getLogger(__name__)

# Tokens used when none is configured: the demo and tests talk to local stand-ins only.
PLACEHOLDER_BOT_TOKEN = "xoxb-not-configured"
PLACEHOLDER_SIGNING_SECRET = "not-configured"
# Seconds a stopping process spends posting pending alerts; platforms allow about 30 s in all.
FLUSH_SECONDS = 5
DELIVERY_STALE_AFTER = timedelta(minutes=5)


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: the command installs handlers that
    stop the scheduler and the server together and exit 0, where uvicorn would re-raise the
    signal after shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class BotService:
    def __init__(
        self, settings: Settings, *, source: JobSource | None = None, clock: Clock = utc_now
    ):
        self.settings = settings
        self.clock = clock
        self.database = make_engine(settings.sqlalchemy_url)
        self.store = Store(self.database)
        self.request_budget = RequestBudget(settings.ibm_max_requests_per_second)
        self.metrics = BotMetrics(lambda: self.store.count_alerts(AlertStatus.PENDING))
        self.api_health = ApiHealth(
            NoticeStore(self.database),
            clock,
            operator_channel=settings.operator_channel,
            operator_team=settings.operator_team_id or "",
        )
        self.source = TrackedSource(
            source or IbmJobSource.from_settings(settings, budget=self.request_budget),
            self.api_health,
            self.metrics.observe_fetch,
        )

        self.oauth = _oauth_setup(settings, self.database)
        if self.oauth is None:
            bot_token = _secret(settings.slack_bot_token, PLACEHOLDER_BOT_TOKEN)
            self.slack_client = make_client(bot_token, settings.slack_api_url)
            self.clients = WorkspaceClients(settings.slack_api_url, default=self.slack_client)
        else:
            self.slack_client = make_client(None, settings.slack_api_url)
            self.clients = WorkspaceClients(
                settings.slack_api_url, installations=self.oauth.installations
            )
        self.engine = WatchEngine(
            self.store,
            self.source,
            CountingSender(SlackAlertSender(self.clients), self.metrics),
            _engine_config(settings),
            clock,
        )
        self.engine.poller.on_claim = self.metrics.observe_claims
        self.scheduler = EngineScheduler(self.engine, tick_seconds=_tick_seconds(settings))

        thresholds = (
            (settings.billed_seconds_threshold,) if settings.billed_seconds_threshold else ()
        )
        defaults = Defaults(thresholds, settings.oncall_channel, settings.oncall_mention)
        self.commands = JobMetricsCommands(self.store, self.source, clock, defaults, self.clients)
        self.commands.access = AccessPolicy(rules_from(settings))
        self.bolt = build_bolt_app(
            self.commands,
            signing_secret=_secret(settings.slack_signing_secret, PLACEHOLDER_SIGNING_SECRET),
            client=self.slack_client,
            oauth=self.oauth,
        )
        signing_secret = _secret(settings.slack_signing_secret, PLACEHOLDER_SIGNING_SECRET)
        self.web = build_web_app(
            self.bolt,
            self.health,
            guard=ReplayGuard(signing_secret),
            metrics=self.render_metrics,
            liveness_check=self.liveness,
        )
        # A due alert not posted within this long means the delivery loop is stuck.
        self.delivery_stale_after = DELIVERY_STALE_AFTER
        self._server: _Server | None = None
        self._sqlite_lock: SqliteProcessLock | None = None

    def prepare_database(self) -> None:
        """SQLite is migrated in place; PostgreSQL must already be at the newest revision,
        because migrations run once per release, not in every replica."""
        if self.settings.is_sqlite:
            self._lock_sqlite()
            migrate.upgrade(self.settings.sqlalchemy_url)
            released = self.store.release_all_leases(self.clock())
            if released:
                log.warning("released %d leases left by a bot process that stopped", released)
        else:
            migrate.check_current(self.database)

    def _lock_sqlite(self) -> None:
        """Hold the SQLite file's process lock until close(); raise DatabaseInUse if taken."""
        path = sqlite_path(self.settings)
        in_memory = not self.settings.sqlalchemy_url.startswith("sqlite:///")
        if path is None or in_memory or path.name in ("", ":memory:"):
            return
        self._sqlite_lock = SqliteProcessLock(path)
        self._sqlite_lock.acquire()

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

    async def _flush_deliveries(self) -> None:
        try:
            await asyncio.wait_for(self.engine.deliverer.deliver_pending(), FLUSH_SECONDS)
        except TimeoutError:
            log.warning(
                "shutdown: pending alerts left for the next start (flush took over %d s)",
                FLUSH_SECONDS,
            )
        except Exception:
            log.exception("shutdown: flushing pending alerts failed; they stay pending")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    @property
    def port(self) -> int:
        """The port the web server listens on, once started (useful with port 0)."""
        assert self._server is not None and self._server.servers, "server not started"
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop ticking, then post what is pending if Slack takes it quickly, so that a
        restart or deploy delays as few alerts as possible."""
        await self.scheduler.shutdown()
        await self._flush_deliveries()
        await self.source.aclose()
        self.database.dispose()
        if self._sqlite_lock is not None:
            self._sqlite_lock.release()

    async def health(self) -> tuple[bool, dict[str, Any]]:
        database_ok = await asyncio.to_thread(self._database_ok)
        last_tick = self.engine.last_poll_tick or self.scheduler.started_at
        stale_after = timedelta(seconds=max(30.0, 10 * self.scheduler.tick_seconds))
        ticking = last_tick is not None and self.clock() - last_tick < stale_after
        pending, oldest_due = (
            await asyncio.to_thread(self._pending_figures) if database_ok else (None, None)
        )
        delivering = oldest_due is None or self.clock() - oldest_due < self.delivery_stale_after
        api = self.api_health
        details = {
            "database": "ok" if database_ok else "unreachable",
            "scheduler_last_tick": last_tick.isoformat() if last_tick else None,
            "ibm_api": "degraded" if api.degraded else "ok",
            "ibm_api_last_success": api.last_success.isoformat() if api.last_success else None,
            "pending_alerts": pending,
            "oldest_due_alert": oldest_due.isoformat() if oldest_due else None,
        }
        return database_ok and ticking and delivering and not api.degraded, details

    async def liveness(self) -> tuple[bool, dict[str, Any]]:
        """Check that this process still works, which means its scheduler ticks.

        Outages of the IBM API, Slack or the database are left to /healthz, since restarting
        the process cannot fix them.
        """
        last_tick = self.engine.last_poll_tick or self.scheduler.started_at
        stale_after = timedelta(seconds=max(30.0, 10 * self.scheduler.tick_seconds))
        ticking = last_tick is not None and self.clock() - last_tick < stale_after
        return ticking, {"scheduler_last_tick": last_tick.isoformat() if last_tick else None}

    def _pending_figures(self) -> tuple[int, datetime | None]:
        pending = self.store.count_alerts(AlertStatus.PENDING)
        return pending, self.api_health.notices.oldest_due_pending(self.clock())

    async def render_metrics(self) -> tuple[bytes, str]:
        """Render the Prometheus exposition; the pending-alert gauge reads the database."""
        return await asyncio.to_thread(self.metrics.render), CONTENT_TYPE_LATEST

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


def _oauth_setup(settings: Settings, database: Engine) -> OAuthSetup | None:
    """Multi-workspace installs when the app's client ID and secret are set."""
    if settings.slack_client_id is None or settings.slack_client_secret is None:
        return None
    return OAuthSetup(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        installations=InstallationStore(settings.slack_client_id, database),
        states=OAuthStateStore(database),
    )


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
