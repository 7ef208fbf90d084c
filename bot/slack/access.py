"""Who may query and watch jobs, and who may stop watches or change a channel's settings.

Admin job metrics are sensitive, so an operator can narrow both:
- query (show, watch, list, settings show, card refresh): the channel must be in
  ALLOWED_CHANNELS when that is set, and the user in ALLOWED_USERS or a member of
  ALLOWED_USERGROUP when either is set;
- change (unwatch, snooze, settings changes, the card's Stop and Snooze): the user must be in
  ADMIN_USERS when that is set; otherwise the query rule applies.
With nothing set, everyone may do everything, as before these settings existed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

USERGROUP_CACHE_SECONDS = 60.0


class Permission(StrEnum):
    QUERY = "query"
    CHANGE = "change"


class Denial(StrEnum):
    """Why a request was rejected; messages.access_denied words it for the user."""

    NOT_ADMIN = "not_admin"
    CHANNEL_NOT_ALLOWED = "channel_not_allowed"
    USER_NOT_ALLOWED = "user_not_allowed"


@dataclass(frozen=True)
class AccessRules:
    allowed_channels: frozenset[str] = frozenset()
    allowed_users: frozenset[str] = frozenset()
    allowed_usergroup: str | None = None
    admin_users: frozenset[str] = frozenset()

    @property
    def restricts_users(self) -> bool:
        return bool(self.allowed_users) or self.allowed_usergroup is not None


class AccessPolicy:
    """Decides requests by the rules; returns a Denial when one is rejected."""

    def __init__(self, rules: AccessRules = AccessRules()):
        self.rules = rules
        self._group: tuple[float, frozenset[str]] | None = None

    async def denial(
        self, permission: Permission, channel_id: str, user_id: str, client: Any
    ) -> Denial | None:
        """None when the request is allowed, else why it is not."""
        rules = self.rules
        if permission is Permission.CHANGE and rules.admin_users:
            if user_id in rules.admin_users:
                return None
            return Denial.NOT_ADMIN

        if rules.allowed_channels and channel_id not in rules.allowed_channels:
            return Denial.CHANNEL_NOT_ALLOWED
        if rules.restricts_users and not await self._user_allowed(user_id, client):
            return Denial.USER_NOT_ALLOWED
        return None

    async def _user_allowed(self, user_id: str, client: Any) -> bool:
        if user_id in self.rules.allowed_users:
            return True
        if self.rules.allowed_usergroup is None:
            return False
        return user_id in await self._group_members(client)

    async def _group_members(self, client: Any) -> frozenset[str]:
        """Members of ALLOWED_USERGROUP, cached; empty when Slack cannot tell (deny)."""
        cached = self._group
        if cached is not None and time.monotonic() - cached[0] < USERGROUP_CACHE_SECONDS:
            return cached[1]

        group = self.rules.allowed_usergroup
        try:
            response = await client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            log.warning(
                "cannot read members of user group %s (%s): denying its members until it "
                "works; check the usergroups:read scope",
                group,
                error or exc.response.status_code,
            )
            return frozenset()

        members = frozenset(response.get("users") or [])
        self._group = (time.monotonic(), members)
        return members


def rules_from(settings: Any) -> AccessRules:
    """Access rules from the bot's Settings."""
    return AccessRules(
        allowed_channels=frozenset(settings.allowed_channels),
        allowed_users=frozenset(settings.allowed_users),
        allowed_usergroup=settings.allowed_usergroup,
        admin_users=frozenset(settings.admin_users),
    )
