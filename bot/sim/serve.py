"""`jobmetrics-bot simulators` and `send`: try `serve` in HTTP mode with no Slack or IBM account.

`simulators` starts the simulated IBM API (with a few jobs in real time) and the Slack
stand-in on 127.0.0.1, writes the settings that point the bot at them, and prints every
message the bot sends until Ctrl-C. `send` signs a `/jobmetrics` command as Slack would and
posts it to a running `serve`.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bot.sim.ibm_api import IbmApiSimulator, ScriptedJob, SimClock
from bot.sim.slack_api import SlackStandIn
from bot.sim.slack_requests import signed_headers, slash_command_body

SAMPLE_JOBS = (
    # Queued for about 2 minutes at falling positions, then 3 minutes of running.
    ScriptedJob(
        "c5dge2d3rn7breq27i9g",
        queue_positions=(12, 9, 6, 3, 1, 0),
        step_seconds=20,
        run_seconds=180,
        billed_seconds=150,
    ),
    ScriptedJob(
        "d305ck0ocacs73ajagvg",
        queue_positions=(5, 4, 3),
        step_seconds=30,
        outcome="cancelled_in_queue",
    ),
    ScriptedJob(
        "d7gthd493s0c738s1gk0",
        queue_positions=(0,),
        step_seconds=30,
        run_seconds=60,
        outcome="failed",
    ),
)


def run_simulators(env_file: Path) -> int:
    """Serve both stand-ins until Ctrl-C, with the bot's settings written to `env_file`."""
    token = secrets.token_urlsafe(16)
    # Real time from now, so that job times and the bot's own times read alike.
    ibm = IbmApiSimulator(clock=SimClock(speed=1.0, epoch=datetime.now(UTC)), admin_token=token)
    ibm.add(*SAMPLE_JOBS)
    slack = SlackStandIn()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    with ibm, slack:
        env_file.write_text(_settings(ibm, slack, token))
        print(_instructions(env_file), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            _print_messages(slack, stop)
    print("\nsimulators stopped")
    return 0


def send_command(text: str, url: str, signing_secret: str, channel: str) -> int:
    """Send one signed `/jobmetrics` command to a running bot; the reply goes to the
    Slack stand-in, which prints it."""
    response_url = f"{_stand_in_root()}/respond/cli"
    body = slash_command_body(text, response_url=response_url, channel_id=channel)
    try:
        response = httpx.post(url, content=body, headers=signed_headers(signing_secret, body))
    except httpx.HTTPError as exc:
        print(
            f"jobmetrics-bot: cannot reach {url}: {type(exc).__name__}; is `serve` running?",
            file=sys.stderr,
        )
        return 1

    print(f"HTTP {response.status_code} {response.text or '(empty body: the reply goes to Slack)'}")
    return 0 if response.status_code == 200 else 1


def _stand_in_root() -> str:
    """Return the Slack stand-in's address, read from the settings `simulators` wrote."""
    from bot.config import load_settings

    return load_settings().slack_api_url.removesuffix("/").removesuffix("/api")


def _settings(ibm: IbmApiSimulator, slack: SlackStandIn, token: str) -> str:
    signing_secret = secrets.token_hex(16)
    lines = [
        "# Written by `jobmetrics-bot simulators`: the bot talks to local stand-ins only.",
        f"SLACK_API_URL={slack.url}",
        f"SLACK_BOT_TOKEN=xoxb-simulated-{secrets.token_hex(8)}",
        f"SLACK_SIGNING_SECRET={signing_secret}",
        "IBM_API_FLAVOR=admin",
        f"IBM_QUANTUM_API_URL={ibm.url}",
        f"IBM_QUANTUM_TOKEN={token}",
        "DATABASE_URL=sqlite:///simulated.sqlite3",
        "POLL_INTERVAL_SECONDS=5",
        "QUEUE_ALERT_MIN_GAP_SECONDS=0",
        "BILLED_SECONDS_THRESHOLD=60",
        "PORT=3000",
        "HOST=127.0.0.1",
    ]
    return "\n".join(lines) + "\n"


def _instructions(env_file: Path) -> str:
    jobs = ", ".join(job.job_id for job in SAMPLE_JOBS)
    return f"""Simulated IBM API and Slack stand-in are running on 127.0.0.1.
Settings for the bot are in {env_file}. In a second terminal, in the same folder:

    ENV_FILE={env_file} .venv/bin/jobmetrics-bot serve
    ENV_FILE={env_file} .venv/bin/jobmetrics-bot send "watch c5dge2d3rn7breq27i9g 60s"
    ENV_FILE={env_file} .venv/bin/jobmetrics-bot send "list"

Sample jobs: {jobs}. Their lifecycles start now: the first is queued for
about 2 minutes, then runs for 3; the others end within 2 minutes. Restart `simulators` to
replay them. Every message the bot sends appears below, in full. Ctrl-C stops.
"""


def _print_messages(slack: SlackStandIn, stop: threading.Event) -> None:
    shown = 0
    while not stop.is_set():
        calls = slack.all_calls()
        for call in calls[shown:]:
            if call.method in ("chat.postMessage", "chat.update", "response_url") and call.ok:
                print(f"\n{call.method}: {slack.render(call)}", flush=True)
        shown = len(calls)
        stop.wait(0.5)
