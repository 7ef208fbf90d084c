"""The bot wired to local stand-ins: the simulated IBM API, the Slack stand-in, a database.

Used by the demo and the integration tests. Everything listens on 127.0.0.1 only; slash
commands go through the real HTTP endpoint, signed as Slack signs them.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.config import Settings
from bot.domain.snapshot import ApiFlavor
from bot.service import BotService
from bot.sim.ibm_api import IbmApiSimulator
from bot.sim.slack_api import SlackStandIn
from bot.sim.slack_requests import (
    block_action_body,
    event_callback_body,
    signed_headers,
    slash_command_body,
)

TEAM_ID = "T0DEMO"
CHANNEL_ID = "C0DEMO"
USER_ID = "U0DEMO"
# Two service instances, so that the platform flavour tries the second when the first has no job.
INSTANCE_CRNS = (
    "crn:v1:bluemix:public:quantum-computing:us-east:a/0c1d2e3f4a5b:5e6f7a8b-0000-4c3d-9e8f-0123456789ab::",
    "crn:v1:bluemix:public:quantum-computing:us-east:a/0c1d2e3f4a5b:77aa0000-1111-4c3d-9e8f-0123456789cd::",
)


@dataclass(frozen=True)
class StackSecrets:
    """The secrets a local stack uses; random unless a test needs to know them."""

    signing_secret: str
    bot_token: str
    ibm_token: str
    ibm_api_key: str

    @classmethod
    def random(cls) -> StackSecrets:
        return cls(
            signing_secret=secrets.token_hex(16),
            bot_token="xoxb-" + secrets.token_hex(12),
            ibm_token=secrets.token_urlsafe(16),
            ibm_api_key=secrets.token_urlsafe(16),
        )

    def values(self) -> tuple[str, ...]:
        return (self.signing_secret, self.bot_token, self.ibm_token, self.ibm_api_key)


class LocalStack:
    """Start with `async with LocalStack(...) as stack:`; the bot serves until the block ends."""

    def __init__(
        self,
        *,
        flavor: ApiFlavor = ApiFlavor.ADMIN,
        database_url: str | None = None,
        sim_speed: float = 0.0,
        poll_interval: float = 0.2,
        known_secrets: StackSecrets | None = None,
        **settings: Any,
    ):
        chosen = known_secrets or StackSecrets.random()
        self.flavor = flavor
        self.ibm = IbmApiSimulator(
            speed=sim_speed,
            api_key=chosen.ibm_api_key,
            admin_token=chosen.ibm_token,
            crns=INSTANCE_CRNS,
        )
        self.slack = SlackStandIn()
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._database_url = database_url
        self._poll_interval = poll_interval
        self._extra_settings = settings
        self.signing_secret = chosen.signing_secret
        self.bot_token = chosen.bot_token
        self.service: BotService | None = None
        self._task: asyncio.Task[None] | None = None
        self._http = httpx.AsyncClient(timeout=10)
        self._responses = 0

    async def __aenter__(self) -> LocalStack:
        self.ibm.start()
        self.slack.start()
        if self._database_url is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="jobmetrics-")
            self._database_url = f"sqlite:///{Path(self._tempdir.name) / 'bot.sqlite3'}"
        await self.start_bot()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_bot()
        await self._http.aclose()
        self.slack.stop()
        self.ibm.stop()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    @property
    def settings(self) -> Settings:
        values: dict[str, Any] = {
            "slack_bot_token": self.bot_token,
            "slack_signing_secret": self.signing_secret,
            "slack_app_token": None,
            "slack_api_url": self.slack.url,
            "ibm_api_flavor": self.flavor,
            "database_url": self._database_url,
            "poll_interval_seconds": self._poll_interval,
            "queue_alert_min_gap_seconds": 0,
            "port": 0,
        }
        if self.flavor is ApiFlavor.PLATFORM:
            values.update(
                ibm_quantum_api_url=self.ibm.platform_url,
                ibm_cloud_api_key=self.ibm.api_key,
                ibm_iam_url=self.ibm.iam_url,
                ibm_service_crns=list(self.ibm.crns),
                ibm_quantum_token=None,
            )
        else:
            values.update(ibm_quantum_api_url=self.ibm.url, ibm_quantum_token=self.ibm.admin_token)
        values.update(self._extra_settings)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    async def start_bot(self) -> None:
        self.service = BotService(self.settings)
        await asyncio.to_thread(self.service.prepare_database)
        started = asyncio.Event()
        self._task = asyncio.create_task(self.service.serve("127.0.0.1", 0, started))
        await asyncio.wait_for(started.wait(), timeout=10)

    async def stop_bot(self) -> None:
        if self.service is None or self._task is None:
            return
        self.service.stop()
        await asyncio.wait_for(self._task, timeout=10)
        self.service = None
        self._task = None

    @property
    def events_url(self) -> str:
        assert self.service is not None, "the bot is not running"
        return f"http://127.0.0.1:{self.service.port}/slack/events"

    async def command(
        self, text: str, *, channel: str = CHANNEL_ID, user: str = USER_ID, team: str = TEAM_ID
    ) -> httpx.Response:
        """Send `/jobmetrics <text>` as Slack would; the reply lands at the stand-in."""
        body = slash_command_body(
            text,
            response_url=self._next_response_url(),
            team_id=team,
            channel_id=channel,
            user_id=user,
        )
        return await self._post_signed(body)

    async def click(
        self, action_id: str, value: str, *, channel: str = CHANNEL_ID
    ) -> httpx.Response:
        body = block_action_body(
            action_id,
            value,
            response_url=self._next_response_url(),
            channel_id=channel,
            team_id=TEAM_ID,
            user_id=USER_ID,
        )
        return await self._post_signed(body)

    async def event(self, event: dict[str, Any], *, team: str = TEAM_ID) -> httpx.Response:
        """Deliver an Events API callback, signed, as Slack would."""
        body = event_callback_body(event, team_id=team)
        headers = signed_headers(self.signing_secret, body, content_type="application/json")
        return await self._http.post(self.events_url, content=body, headers=headers)

    async def install(self, team: str) -> httpx.Response:
        """Install the app in a workspace through the OAuth flow, as a person's browser would:
        open the install page, then follow Slack's redirect back with a code and the state."""
        root = self.events_url.removesuffix("/slack/events")
        async with httpx.AsyncClient(timeout=10) as browser:
            page = await browser.get(f"{root}/slack/install")
            state = _state_in(page.text)
            code = self.slack.authorization_code(team)
            # Bolt marks its state cookie Secure, so a browser sends it back only over https.
            # The loopback server speaks plain HTTP, so the cookie is sent by hand.
            cookie = page.headers.get("set-cookie", "").split(";")[0]
            return await browser.get(
                f"{root}/slack/oauth_redirect",
                params={"code": code, "state": state},
                headers={"Cookie": cookie},
            )

    async def _post_signed(self, body: str) -> httpx.Response:
        headers = signed_headers(self.signing_secret, body)
        return await self._http.post(self.events_url, content=body, headers=headers)

    def _next_response_url(self) -> str:
        self._responses += 1
        return self.slack.response_url(f"r{self._responses}")


def _state_in(install_page: str) -> str:
    """Return the OAuth state in the authorize link of Bolt's install page."""
    match = re.search(r"[?&;]state=([^&\"']+)", install_page)
    if match is None:
        raise AssertionError(f"no OAuth state in the install page: {install_page[:300]!r}")
    return match.group(1)
