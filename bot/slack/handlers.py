"""Handlers of each `/jobmetrics` subcommand and card button, apart from how Bolt delivers them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.cards import CardView
from bot.domain.channel_settings import ChannelSettings
from bot.domain.errors import AccessDenied, JobNotFound, JobSourceError
from bot.domain.snapshot import JobSnapshot
from bot.domain.source import JobSource
from bot.engine.config import Clock
from bot.slack import commands as cmd
from bot.slack import messages
from bot.slack.access import AccessPolicy, Permission
from bot.slack.installations import WorkspaceClients
from bot.slack.messages import SlackMessage
from bot.slack.sender import PERMANENT_ERRORS, slack_error_code
from bot.storage.models import WatchStatus
from bot.storage.settings_store import Actor
from bot.storage.store import Store, WatchKey

log = logging.getLogger(__name__)

Respond = Callable[..., Awaitable[Any]]

# Slack errors that mean the bot cannot post in the channel where a user asked for a watch.
CANNOT_POST = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"}
CARD_SNOOZE = timedelta(hours=1)
MEMBERS_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Caller:
    team_id: str
    channel_id: str
    user_id: str

    @property
    def actor(self) -> Actor:
        return Actor(self.team_id, self.channel_id, self.user_id)

    def __str__(self) -> str:
        return f"channel={self.channel_id} team={self.team_id} user={self.user_id}"


@dataclass(frozen=True)
class Defaults:
    """The deployment's settings that a channel's own settings override."""

    thresholds: tuple[float, ...] = ()
    oncall_channel: str | None = None
    oncall_mention: str | None = None


class JobMetricsCommands:
    def __init__(
        self,
        store: Store,
        source: JobSource,
        clock: Clock,
        defaults: Defaults,
        clients: WorkspaceClients | None = None,
    ):
        self.store = store
        self.source = source
        self.clock = clock
        self.defaults = defaults
        self.clients = clients
        # Everyone may do everything until the service sets the configured access rules.
        self.access = AccessPolicy()
        self._members: dict[str, tuple[float, frozenset[str]]] = {}

    async def run(
        self, text: str, caller: Caller, respond: Respond, client: AsyncWebClient
    ) -> None:
        try:
            command = cmd.parse_command(text)
        except cmd.CommandError as exc:
            log.info("invalid command text %s: %s", caller, exc.problem)
            await _reply(respond, messages.usage_error(exc.message))
            return

        permission = _permission_of(command)
        if permission is not None and not await self._permitted(
            permission, caller, respond, client, request_name=type(command).__name__
        ):
            return
        await self._dispatch(command, caller, respond, client)

    async def _permitted(
        self,
        permission: Permission,
        caller: Caller,
        respond: Respond,
        client: AsyncWebClient,
        *,
        request_name: str,
    ) -> bool:
        """Check the access settings; tell a rejected caller why and log it."""
        denial = await self.access.denial(permission, caller.channel_id, caller.user_id, client)
        if denial is None:
            return True
        log.warning("request denied (%s) request=%s %s", denial.value, request_name, caller)
        await _reply(respond, messages.access_denied(denial.value))
        return False

    async def _dispatch(
        self, command: Any, caller: Caller, respond: Respond, client: AsyncWebClient
    ) -> None:
        if isinstance(command, cmd.ShowCommand):
            await self.show(command.job_id, caller, respond)
        elif isinstance(command, cmd.WatchCommand):
            await self.watch(command.job_id, command.thresholds, caller, respond, client)
        elif isinstance(command, cmd.UnwatchCommand):
            await self.unwatch(command.job_id, caller, respond)
        elif isinstance(command, cmd.ListCommand):
            await self.list(caller, respond)
        elif isinstance(command, cmd.SnoozeCommand):
            await self.snooze(command.job_id, command.seconds, caller, respond)
        elif isinstance(command, cmd.HelpCommand):
            await _reply(respond, messages.help_message())
        else:
            await self.settings(command, caller, respond)

    # Jobs and watches.

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
        # The Watch button comes here without passing through run().
        if not await self._permitted(
            Permission.QUERY, caller, respond, client, request_name="watch"
        ):
            return
        key = WatchKey(caller.team_id, caller.channel_id, job_id)
        existing = await asyncio.to_thread(self.store.get_watch, key)
        if existing is not None and existing.status in WatchStatus.POLLED:
            await self._rewatch(
                existing.id, job_id, thresholds, existing.thresholds, caller, respond
            )
            return

        baseline, problem = await self._baseline(job_id, caller)
        if problem is not None:
            await _reply(respond, messages.error_message(problem))
            return

        channel = await asyncio.to_thread(
            self.store.settings.get, caller.team_id, caller.channel_id
        )
        chosen = thresholds or _default_thresholds(channel, self.defaults)
        now = self.clock()
        watch_id, created = await asyncio.to_thread(
            self.store.add_watch,
            key,
            user_id=caller.user_id,
            flavor=self.source.flavor.value,
            instance=baseline.instance if baseline else None,
            thresholds=chosen,
            baseline=baseline,
            now=now,
        )
        if not created:
            # The same command arrived twice at once (a Slack retry) and the other copy won.
            current = await asyncio.to_thread(self.store.get_watch, key)
            current_thresholds = current.thresholds if current is not None else []
            await self._rewatch(watch_id, job_id, thresholds, current_thresholds, caller, respond)
            return
        log.info("watch added job_id=%s %s thresholds=%s", job_id, caller, chosen)

        card = CardView(watch_id, job_id, baseline, tuple(sorted(set(chosen))), "active", now)
        ts, error = await _post(client, caller.channel_id, messages.card_message(card))
        if ts is not None:
            await asyncio.to_thread(self.store.set_card, watch_id, ts, now)
            await self._audit(caller, "watch", job_id, f"thresholds={list(chosen)}")
            return

        await asyncio.to_thread(self.store.remove_watch, key, now=self.clock())
        log.warning("watch removed, cannot post job_id=%s %s: %s", job_id, caller, error)
        await _reply(respond, messages.error_message(_cannot_post_message(error or "unknown")))

    async def _rewatch(
        self,
        watch_id: int,
        job_id: str,
        thresholds: tuple[float, ...],
        current: list[float],
        caller: Caller,
        respond: Respond,
    ) -> None:
        """Keep the card of a job this channel already watches, replacing its thresholds if new
        ones are given."""
        if thresholds:
            await asyncio.to_thread(self.store.set_thresholds, watch_id, thresholds, self.clock())
            await self._audit(caller, "thresholds", job_id, f"thresholds={list(thresholds)}")
        shown = _seconds_list(thresholds or tuple(current))
        changed = "now" if thresholds else "still"
        await _reply(
            respond,
            messages.notice_message(
                f"Job `{job_id}` is already watched in this channel, and its card stays. "
                f"Its thresholds are {changed} {shown}."
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
        removed = await asyncio.to_thread(
            self.store.remove_watch, key, now=self.clock(), user_id=caller.user_id
        )
        log.info("unwatch job_id=%s %s removed=%s", job_id, caller, removed)
        if removed:
            await self._audit(caller, "unwatch", job_id, None)
        await _reply(respond, messages.unwatch_confirmation(job_id, removed))

    async def list(self, caller: Caller, respond: Respond) -> None:
        rows = await asyncio.to_thread(self.store.list_watches, caller.team_id, caller.channel_id)
        await _reply(respond, messages.watch_list(rows))

    async def snooze(
        self, job_id: str | None, seconds: float, caller: Caller, respond: Respond
    ) -> None:
        now = self.clock()
        until = now + timedelta(seconds=seconds) if seconds > 0 else None
        changed = await asyncio.to_thread(
            self.store.snooze, caller.team_id, caller.channel_id, job_id, until, now
        )
        if not changed:
            await _reply(
                respond, messages.error_message(await self._nothing_to_snooze(job_id, caller))
            )
            return

        detail = f"until={until.isoformat()}" if until else "ended"
        for changed_job in changed:
            await self._audit(caller, "snooze", changed_job, detail)
        await _reply(respond, messages.snooze_confirmation(changed, until))

    async def _nothing_to_snooze(self, job_id: str | None, caller: Caller) -> str:
        if job_id is None:
            return "This channel has no active watch to snooze."

        watch = await asyncio.to_thread(
            self.store.get_watch, WatchKey(caller.team_id, caller.channel_id, job_id)
        )
        if watch is None or watch.status == WatchStatus.UNWATCHED:
            return f"Job `{job_id}` is not watched in this channel, so there is nothing to snooze."
        return (
            f"The watch of job `{job_id}` has ended ({watch.status}), so there is nothing to "
            "snooze. `/jobmetrics list` shows it; `/jobmetrics unwatch` removes it."
        )

    # Channel settings.

    async def settings(self, command: Any, caller: Caller, respond: Respond) -> None:
        if isinstance(command, cmd.SettingsShowCommand):
            current = await asyncio.to_thread(
                self.store.settings.get, caller.team_id, caller.channel_id
            )
            await _reply(respond, self._settings_message(current))
            return

        description = messages.describe_settings_change(command)
        await asyncio.to_thread(
            self.store.settings.change,
            caller.actor,
            lambda settings: _apply_setting(settings, command),
            description,
            self.clock(),
        )
        log.info("channel settings changed %s: %s", caller, description)
        await _reply(respond, messages.settings_updated(description))

    def _settings_message(self, settings: ChannelSettings) -> SlackMessage:
        return messages.channel_settings_message(
            settings,
            default_thresholds=self.defaults.thresholds,
            default_oncall_channel=self.defaults.oncall_channel,
            default_oncall_mention=self.defaults.oncall_mention,
        )

    # Workspaces.

    async def workspace_removed(self, team_id: str, reason: str) -> None:
        """Stop every watch of a workspace that uninstalled the app or revoked its token, and
        forget its installation so that nothing is posted there again."""
        if not team_id:
            log.warning("workspace removal without a team id ignored: %s", reason)
            return

        stopped = await asyncio.to_thread(self.store.stop_team_watches, team_id, self.clock())
        if self.clients is not None:
            self.clients.forget(team_id)
            if self.clients.installations is not None:
                await self.clients.installations.async_delete_all(
                    enterprise_id=None, team_id=team_id
                )
        log.warning("workspace removed team=%s (%s): %d watches stopped", team_id, reason, stopped)

    # Card buttons.

    async def card_action(
        self,
        action_id: str,
        watch_id: int,
        caller: Caller,
        respond: Respond,
        client: AsyncWebClient,
    ) -> None:
        """Refresh, snooze or stop a watch from its card, for members of its channel only."""
        watch = await asyncio.to_thread(self.store.get_watch_by_id, watch_id)
        if watch is None or watch.channel_id != caller.channel_id:
            await _reply(respond, messages.action_denied("This card belongs to another channel."))
            return
        if not await self._is_member(client, caller):
            log.warning("card action denied, not a channel member action=%s %s", action_id, caller)
            await _reply(
                respond,
                messages.action_denied("Only members of this channel can change its watches."),
            )
            return
        permission = Permission.QUERY if action_id == "card_refresh" else Permission.CHANGE
        if not await self._permitted(permission, caller, respond, client, request_name=action_id):
            return

        now = self.clock()
        if action_id == "card_refresh":
            await asyncio.to_thread(self.store.request_refresh, watch_id, now)
            await self._audit(caller, "refresh", watch.job_id, None)
        elif action_id == "card_snooze":
            await self.snooze(watch.job_id, CARD_SNOOZE.total_seconds(), caller, respond)
        elif action_id == "card_stop":
            stopped = await asyncio.to_thread(
                self.store.stop_watch, watch_id, now=now, user_id=caller.user_id
            )
            if stopped is not None:
                await self._audit(caller, "unwatch", watch.job_id, "card button")
                await _reply(respond, messages.watch_stopped_by(caller.user_id, watch.job_id))

    async def _is_member(self, client: AsyncWebClient, caller: Caller) -> bool:
        cached = self._members.get(caller.channel_id)
        if cached is None or time.monotonic() - cached[0] > MEMBERS_CACHE_SECONDS:
            members = await _channel_members(client, caller.channel_id)
            cached = (time.monotonic(), members)
            self._members[caller.channel_id] = cached
        return caller.user_id in cached[1]

    async def _audit(
        self, caller: Caller, action: str, job_id: str | None, detail: str | None
    ) -> None:
        await asyncio.to_thread(
            self.store.settings.record, caller.actor, action, job_id, detail, self.clock()
        )


def _permission_of(command: Any) -> Permission | None:
    """Return the permission a command needs; None for help, which anyone may read."""
    if isinstance(command, cmd.HelpCommand):
        return None
    if isinstance(command, cmd.ShowCommand | cmd.WatchCommand | cmd.ListCommand):
        return Permission.QUERY
    if isinstance(command, cmd.SettingsShowCommand):
        return Permission.QUERY
    return Permission.CHANGE


def _seconds_list(values: tuple[float, ...]) -> str:
    return ", ".join(f"{value:g} s" for value in sorted(values)) or "none"


def _cannot_post_message(error: str) -> str:
    if error in CANNOT_POST:
        reason = PERMANENT_ERRORS.get(error, error)
        return (
            f"I cannot post in this channel ({reason}), so the job is not watched. "
            "Invite me with `/invite @jobmetrics` and try again."
        )
    return f"Slack did not accept the job's card ({error}), so the job is not watched. Try again."


def _default_thresholds(channel: ChannelSettings, defaults: Defaults) -> tuple[float, ...]:
    if channel.thresholds is not None:
        return channel.thresholds
    return defaults.thresholds


def _apply_setting(current: ChannelSettings, command: Any) -> ChannelSettings:
    """Return the channel's settings with one change applied."""
    if isinstance(command, cmd.SetThresholdsCommand):
        return replace(current, thresholds=command.thresholds)
    if isinstance(command, cmd.SetOncallCommand):
        return replace(current, oncall_channel=command.channel_id, oncall_mention=command.mention)
    if isinstance(command, cmd.SetFinalPostsCommand):
        return replace(current, final_in_channel=command.in_channel)
    if isinstance(command, cmd.SetQuietHoursCommand):
        return replace(current, quiet_hours=command.quiet)
    raise TypeError(f"unhandled settings command {command!r}")


async def _channel_members(client: AsyncWebClient, channel_id: str) -> frozenset[str]:
    members: set[str] = set()
    cursor = None
    while True:
        response = await client.conversations_members(channel=channel_id, cursor=cursor, limit=500)
        members.update(response.get("members") or [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return frozenset(members)


async def _reply(respond: Respond, message: SlackMessage) -> None:
    """Reply to the caller only, through the command's response_url."""
    await respond(text=message.text, blocks=message.blocks, response_type="ephemeral")


async def _post(
    client: AsyncWebClient, channel: str, message: SlackMessage
) -> tuple[str | None, str | None]:
    """Post in a channel; return the message ts, or Slack's error code when posting there
    is impossible."""
    try:
        response = await client.chat_postMessage(
            channel=channel, text=message.text, blocks=message.blocks
        )
    except SlackApiError as exc:
        code = slack_error_code(exc)
        log.warning("card not posted channel=%s: Slack error %s", channel, code)
        return None, code
    return str(response["ts"]), None
