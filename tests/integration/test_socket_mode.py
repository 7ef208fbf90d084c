"""Socket Mode: `serve` with an app-level token takes commands over a WebSocket."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import WSMsgType, web

from bot.sim.ibm_api import IbmApiSimulator, ScriptedJob
from bot.sim.slack_api import SlackStandIn
from tests.integration.test_cli import TOKEN, environment, free_port, wait_healthy

JOB = "c5dge2d3rn7breq27i9g"


class SocketModeServer:
    """Slack's side of a Socket Mode connection: sends one slash command envelope to the
    first client that connects and records the envelope ids it acknowledges."""

    def __init__(self, command: dict[str, str]):
        self.command = command
        self.acknowledged: list[str] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SocketModeServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/link", self._link)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{port}/link"
        self._ready.set()
        self._loop.run_forever()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        envelope = {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": self.command,
        }
        await socket.send_str(json.dumps(envelope))
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                self.acknowledged.append(json.loads(message.data).get("envelope_id", ""))
        return socket


@pytest.fixture
def simulators() -> Iterator[tuple[IbmApiSimulator, SlackStandIn]]:
    ibm = IbmApiSimulator(admin_token=TOKEN)
    ibm.add(ScriptedJob(JOB, queue_positions=(3,), step_seconds=100))
    with ibm, SlackStandIn() as slack:
        yield ibm, slack


def test_socket_mode_answers_a_command(tmp_path: Path, simulators) -> None:
    ibm, slack = simulators
    port = free_port()
    command = {
        "team_id": "T0DEMO",
        "channel_id": "C0DEMO",
        "user_id": "U0DEMO",
        "command": "/jobmetrics",
        "text": JOB,
        "response_url": slack.response_url("socket"),
        "trigger_id": "1.socket",
        "api_app_id": "A0SIM",
    }
    with SocketModeServer(command) as socket_server:
        slack.socket_mode_url = socket_server.url
        env = environment(
            tmp_path,
            ibm,
            slack,
            PORT=str(port),
            HOST="127.0.0.1",
            SLACK_APP_TOKEN="xapp-1-for-socket-mode-tests",
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            health = wait_healthy(f"http://127.0.0.1:{port}/healthz")
            replies = slack.wait_for(
                lambda calls: any(c.method == "response_url" for c in calls), 15
            )
        finally:
            server.send_signal(signal.SIGTERM)
            output, _ = server.communicate(timeout=20)

    assert health["database"] == "ok"
    assert socket_server.acknowledged[:1] == ["env-1"]
    assert any(JOB in json.dumps(call.params) for call in replies if call.method == "response_url")
    assert len(slack.calls("apps.connections.open")) >= 1
    assert "xapp-1-for-socket-mode-tests" not in output
    assert server.returncode == 0, output
    assert os.path.exists(tmp_path / "cli.sqlite3")
