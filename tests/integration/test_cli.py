"""The console command as an operator runs it: real processes against local simulators."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.sim.ibm_api import IbmApiSimulator, ScriptedJob
from bot.sim.slack_api import SlackStandIn
from bot.sim.slack_requests import signed_headers, slash_command_body

JOB = "c5dge2d3rn7breq27i9g"
TOKEN = "ibm-token-for-cli-tests-5b1f"
SIGNING_SECRET = "signing-secret-for-cli-tests-77c2"
BOT_TOKEN = "xoxb-bot-token-for-cli-tests-9d0e"


@pytest.fixture
def simulators() -> Iterator[tuple[IbmApiSimulator, SlackStandIn]]:
    ibm = IbmApiSimulator(admin_token=TOKEN)
    ibm.add(ScriptedJob(JOB, queue_positions=(4, 2), step_seconds=100))
    with ibm, SlackStandIn() as slack:
        yield ibm, slack


def environment(
    tmp_path: Path, ibm: IbmApiSimulator, slack: SlackStandIn, **extra: str
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "IBM_", "DATABASE_", "ONCALL_"))
    }
    env.update(
        IBM_QUANTUM_API_URL=ibm.url,
        IBM_QUANTUM_TOKEN=TOKEN,
        SLACK_API_URL=slack.url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        POLL_INTERVAL_SECONDS="0.2",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_check_prints_normalised_json(tmp_path: Path, simulators) -> None:
    ibm, slack = simulators

    result = run(
        ["check", f"https://quantum.cloud.ibm.com/jobs/{JOB}", "--json"],
        environment(tmp_path, ibm, slack),
        tmp_path,
    )

    assert result.returncode == 0, result.stderr
    snapshot = json.loads(result.stdout)
    assert snapshot["job_id"] == JOB
    assert snapshot["state"] == "queued"
    assert snapshot["position_in_queue"] == 4


def test_check_unknown_job_fails_clearly(tmp_path: Path, simulators) -> None:
    ibm, slack = simulators

    result = run(["check", "cz0000000000notfound"], environment(tmp_path, ibm, slack), tmp_path)

    assert result.returncode == 1
    assert "cz0000000000notfound" in result.stderr
    assert "not found" in result.stderr
    assert TOKEN not in result.stderr


def test_check_rejects_bad_reference(tmp_path: Path, simulators) -> None:
    ibm, slack = simulators

    result = run(["check", "not a job!"], environment(tmp_path, ibm, slack), tmp_path)

    assert result.returncode == 2
    assert "not a job!" in result.stderr


def test_invalid_setting_stops_with_one_line(tmp_path: Path, simulators) -> None:
    ibm, slack = simulators
    env = environment(tmp_path, ibm, slack, POLL_INTERVAL_SECONDS="often")

    result = run(["worker"], env, tmp_path)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "POLL_INTERVAL_SECONDS='often'" in result.stderr


def test_migrate_then_serve_answers_signed_command(tmp_path: Path, simulators) -> None:
    ibm, slack = simulators
    port = free_port()
    env = environment(tmp_path, ibm, slack, PORT=str(port), HOST="127.0.0.1", LOG_LEVEL="DEBUG")

    assert run(["migrate"], env, tmp_path).returncode == 0
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
        body = slash_command_body(f"watch {JOB}", response_url=slack.response_url("cli"))
        response = httpx.post(
            f"http://127.0.0.1:{port}/slack/events",
            content=body,
            headers=signed_headers(SIGNING_SECRET, body),
        )
        slack.wait_for(lambda calls: any(c.method == "chat.postMessage" for c in calls), 10)
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=20)

    assert health["database"] == "ok"
    assert response.status_code == 200
    assert JOB in str(slack.posts()[0].params["text"])
    assert server.returncode == 0
    for secret in (TOKEN, SIGNING_SECRET, BOT_TOKEN):
        assert secret not in output


def wait_healthy(url: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy within 20 s")
