"""The Bolt app: the `/jobmetrics` command and the "Watch this job" button."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.errors import AccessDenied, JobNotFound, JobSourceError
from bot.domain.snapshot import JobSnapshot
from bot.domain.source import JobSource
from bot.engine.watcher import Clock
from bot.slack import messages
from bot.slack.commands import (
    CommandError,
    HelpCommand,
    ListCommand,
    ShowCommand,
    UnwatchCommand,
    WatchCommand,
    parse_command,
)
from bot.slack.messages import SlackMessage
from bot.slack.sender import PERMANENT_ERRORS, slack_error_code
from bot.storage.store import Store, WatchKey

log = logging.getLogger(__name__)

Respond = Callable[..., Awaitable[Any]]

# Slack errors that mean the bot cannot post in the channel where a user asked for a watch.
CANNOT_POST = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"}


@dataclass(frozen=True)
class Caller:
    team_id: str
    channel_id: str
    user_id: str

    def __str__(self) -> str:
        return f"channel={self.channel_id} team={self.team_id} user={self.user_id}"


class JobMetricsCommands:
    """What each `/jobmetrics` subcommand does, apart from how Bolt delivers it."""

    def __init__(
        self,
        store: Store,
        source: JobSource,
        clock: Clock,
        default_thresholds: tuple[float, ...] = (),
    ):
        self.store = store
        self.source = source
        self.clock = clock
        self.default_thresholds = default_thresholds

    async def run(
        self, text: str, caller: Caller, respond: Respond, client: AsyncWebClient
    ) -> None:
        try:
            command = parse_command(text)
        except CommandError as exc:
            log.info("invalid command text %s: %s", caller, exc.problem)
            await _reply(respond, messages.usage_error(exc.message))
            return

        if isinstance(command, ShowCommand):
            await self.show(command.job_id, caller, respond)
        elif isinstance(command, WatchCommand):
            await self.watch(command.job_id, command.thresholds, caller, respond, client)
        elif isinstance(command, UnwatchCommand):
            await self.unwatch(command.job_id, caller, respond)
        elif isinstance(command, ListCommand):
            await self.list(caller, respond)
        elif isinstance(command, HelpCommand):
            await _reply(respond, messages.help_message())

    async def show(self, job_id: str, caller: Caller, respond: Respond) -> None:
        try:
            snapshot = await self.source.fetch(job_id)
        except JobSourceError as exc:
            log.info("show failed job_id=%s %s: %s", job_id, caller, exc)
            await _reply(respond, messages.error_message(exc.message))
            return

        await _reply(respond, messages.job_metrics_message(snapshot))

    async def watch(
        self,
        job_id: str,
        thresholds: tuple[float, ...],
        caller: Caller,
        respond: Respond,
        client: AsyncWebClient,
    ) -> None:
        thresholds = thresholds or self.default_thresholds
        baseline, problem = await self._baseline(job_id, caller)
        if problem is not None:
            await _reply(respond, messages.error_message(problem))
            return

        key = WatchKey(caller.team_id, caller.channel_id, job_id)
        instance = baseline.instance if baseline else None
        await asyncio.to_thread(
            self.store.add_watch,
            key,
            user_id=caller.user_id,
            flavor=self.source.flavor.value,
            instance=instance,
            thresholds=thresholds,
            baseline=baseline,
            now=self.clock(),
        )
        log.info("watch added job_id=%s %s thresholds=%s", job_id, caller, thresholds)

        confirmation = messages.watch_confirmation(job_id, thresholds, baseline)
        error = await _post(client, caller.channel_id, confirmation)
        if error is None:
            return

        await asyncio.to_thread(self.store.remove_watch, key, now=self.clock())
        log.warning("watch removed, cannot post job_id=%s %s: %s", job_id, caller, error)
        reason = PERMANENT_ERRORS.get(error, error)
        await _reply(
            respond,
            messages.error_message(
                f"I cannot post in this channel ({reason}), so the job is not watched. "
                "Invite me with `/invite @jobmetrics` and try again."
            ),
        )

    async def _baseline(self, job_id: str, caller: Caller) -> tuple[JobSnapshot | None, str | None]:
        """Fetch the job once before watching it: a job that is not found or not accessible
        is not watched, while a passing outage only delays the first snapshot."""
        try:
            return await self.source.fetch(job_id), None
        except (JobNotFound, AccessDenied) as exc:
            log.info("watch rejected job_id=%s %s: %s", job_id, caller, exc)
            return None, exc.message
        except JobSourceError as exc:
            log.warning("watching without a first snapshot job_id=%s %s: %s", job_id, caller, exc)
            return None, None

    async def unwatch(self, job_id: str, caller: Caller, respond: Respond) -> None:
        key = WatchKey(caller.team_id, caller.channel_id, job_id)
        removed = await asyncio.to_thread(self.store.remove_watch, key, now=self.clock())
        log.info("unwatch job_id=%s %s removed=%s", job_id, caller, removed)
        await _reply(respond, messages.unwatch_confirmation(job_id, removed))

    async def list(self, caller: Caller, respond: Respond) -> None:
        rows = await asyncio.to_thread(self.store.list_watches, caller.team_id, caller.channel_id)
        await _reply(respond, messages.watch_list(rows))


def build_bolt_app(
    commands: JobMetricsCommands, *, signing_secret: str, client: AsyncWebClient
) -> AsyncApp:
    """The Bolt app; `client` carries the bot token and the Web API base URL."""
    app = AsyncApp(signing_secret=signing_secret, client=client)

    @app.command("/jobmetrics")
    async def on_command(ack: Any, command: dict[str, Any], respond: Respond, client: Any) -> None:
        await ack()
        caller = Caller(command["team_id"], command["channel_id"], command["user_id"])
        await commands.run(command.get("text") or "", caller, respond, client)

    @app.action("watch_job")
    async def on_watch_button(
        ack: Any, body: dict[str, Any], respond: Respond, client: Any
    ) -> None:
        await ack()
        caller = Caller(body["team"]["id"], body["channel"]["id"], body["user"]["id"])
        job_id = body["actions"][0]["value"]
        await commands.watch(job_id, (), caller, respond, client)

    return app


async def _reply(respond: Respond, message: SlackMessage) -> None:
    """Answer the caller only, through the command's response_url."""
    await respond(text=message.text, blocks=message.blocks, response_type="ephemeral")


async def _post(client: AsyncWebClient, channel: str, message: SlackMessage) -> str | None:
    """Post in a channel; return Slack's error code when posting there is impossible."""
    try:
        await client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
    except SlackApiError as exc:
        code = slack_error_code(exc)
        if code in CANNOT_POST:
            return code
        log.warning("watch confirmation not posted channel=%s: Slack error %s", channel, code)
    return None
