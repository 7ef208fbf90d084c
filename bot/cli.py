"""The `jobmetrics-bot` command: serve, worker, migrate, check, demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.config import ConfigError, Settings, load_settings
from bot.domain.errors import JobSourceError
from bot.domain.job_ids import InvalidJobReference, parse_job_reference
from bot.logs import configure_logging
from bot.storage.guard import DatabaseInUse
from bot.storage.migrate import SchemaOutOfDate

if TYPE_CHECKING:
    from bot.service import BotService

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_FAILED = 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "simulators":
        from bot.sim.serve import run_simulators

        return run_simulators(Path(args.env_file))
    if args.command == "config-reference":
        from bot.config_reference import render_reference

        print(render_reference(), end="")
        return 0
    if args.command == "demo":
        from bot.demo import run_demo

        return run_demo(flavor=args.flavor)

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"jobmetrics-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    configure_logging(settings)
    try:
        return _run(args, settings)
    except ConfigError as exc:
        print(f"jobmetrics-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (SchemaOutOfDate, DatabaseInUse) as exc:
        print(f"jobmetrics-bot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except SQLAlchemyError as exc:
        print(f"jobmetrics-bot: {_database_problem(settings, exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 0


def _database_problem(settings: Settings, exc: SQLAlchemyError) -> str:
    """Describe a database failure in one line: the URL (password hidden), the error and the fix."""
    try:
        where = make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)
    except ArgumentError:
        return (
            f"invalid setting DATABASE_URL={settings.database_url!r}: not a database URL; "
            "use sqlite:///file.sqlite3 or postgresql://user:password@host:5432/name"
        )
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return (
        f"database {where} failed: {type(exc).__name__}: {detail}. "
        "Check DATABASE_URL and that the database server is running."
    )


def _require_slack_settings(settings: Settings, *, serving: bool) -> None:
    """Raise ConfigError when Slack credentials the process needs are missing: without them
    it would start, report healthy, and reject or drop everything."""
    multi_workspace = settings.slack_client_id is not None
    if serving and settings.slack_app_token is None and settings.slack_signing_secret is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is missing; HTTP mode rejects every Slack request without "
            "it. Copy it from the app's Basic Information page, or set SLACK_APP_TOKEN for "
            "Socket Mode"
        )
    if settings.slack_bot_token is None and not multi_workspace:
        raise ConfigError(
            "SLACK_BOT_TOKEN is missing; copy the bot token from the app's OAuth & "
            "Permissions page, or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for "
            "multi-workspace installs"
        )
    if multi_workspace and settings.slack_client_secret is None:
        raise ConfigError("SLACK_CLIENT_SECRET is missing; SLACK_CLIENT_ID needs it for installs")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobmetrics-bot",
        description="Slack alerts and metrics for IBM Quantum jobs. Settings come from the "
        "environment and .env (see .env.example).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="run the HTTP endpoint (or Socket Mode) and the scheduler")
    commands.add_parser("worker", help="run the scheduler alone: polls and alert delivery")
    commands.add_parser("migrate", help="create or upgrade the database schema")
    commands.add_parser("config-reference", help="print the configuration reference in Markdown")

    simulators = commands.add_parser(
        "simulators",
        help="run a simulated IBM API and Slack stand-in on 127.0.0.1 to try `serve` locally",
    )
    simulators.add_argument(
        "--env-file", default="simulators.env", help="where to write the bot's settings"
    )

    send = commands.add_parser(
        "send", help="send a signed /jobmetrics command to a running `serve`, as Slack would"
    )
    send.add_argument("text", help='the command text, for example "watch <job ID> 60s"')
    send.add_argument("--channel", default="C0DEMO", help="channel ID the command comes from")

    check = commands.add_parser("check", help="fetch one job and print its normalised metrics")
    check.add_argument("job", help="job ID or job link")
    check.add_argument("--json", action="store_true", help="print JSON instead of text")

    demo = commands.add_parser(
        "demo", help="run the bot against local simulators and print the transcript"
    )
    demo.add_argument(
        "--flavor", choices=["admin", "platform"], default="admin", help="IBM API to simulate"
    )
    return parser


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        from bot.storage.migrate import upgrade

        upgrade(settings.sqlalchemy_url)
        log.info("database schema is current")
        return 0
    if args.command == "check":
        return asyncio.run(_check(args.job, settings, as_json=args.json))
    if args.command == "serve":
        return asyncio.run(_serve(settings))
    if args.command == "worker":
        return asyncio.run(_work(settings))
    if args.command == "send":
        from bot.sim.serve import send_command

        url = f"http://127.0.0.1:{settings.port}/slack/events"
        secret = settings.slack_signing_secret
        if secret is None:
            print("jobmetrics-bot: SLACK_SIGNING_SECRET is missing; set ENV_FILE", file=sys.stderr)
            return EXIT_CONFIG
        return send_command(args.text, url, secret.get_secret_value(), args.channel)
    raise AssertionError(f"unhandled command {args.command}")


async def _check(reference: str, settings: Settings, *, as_json: bool) -> int:
    from bot.ibm.client import IbmJobSource

    try:
        job_id = parse_job_reference(reference)
    except InvalidJobReference as exc:
        print(f"jobmetrics-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    source = IbmJobSource.from_settings(settings)
    try:
        snapshot = await source.fetch(job_id)
    except JobSourceError as exc:
        print(f"jobmetrics-bot: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await source.aclose()

    if as_json:
        print(json.dumps(snapshot.model_dump(mode="json"), indent=2))
    else:
        for name, value in snapshot.model_dump(mode="json").items():
            print(f"{name:28} {'not available' if value is None else value}")
    return 0


async def _serve(settings: Settings) -> int:
    from bot.service import BotService

    _require_slack_settings(settings, serving=True)
    service = BotService(settings)
    service.prepare_database()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, service.stop)

    if settings.slack_app_token is not None:
        return await _serve_socket_mode(service, settings)

    log.info("serving HTTP on port %d (POST /slack/events, GET /healthz)", settings.port)
    await service.serve(settings.host, settings.port)
    log.info("stopped")
    return 0


async def _serve_socket_mode(service: BotService, settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    assert settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(service.bolt, settings.slack_app_token.get_secret_value())
    log.info("serving through Socket Mode; health on port %d", settings.port)
    await handler.connect_async()
    await service.serve(settings.host, settings.port)
    await handler.close_async()
    return 0


async def _work(settings: Settings) -> int:
    from bot.service import BotService

    _require_slack_settings(settings, serving=False)
    service = BotService(settings)
    service.prepare_database()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    log.info("worker started")
    await service.work(stop)
    log.info("worker stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
