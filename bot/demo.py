"""`jobmetrics-bot demo`: the whole bot on local stand-ins, jobs in compressed time.

Needs no token and no setup: a temporary SQLite file, the simulated IBM API and the Slack
stand-in, all on 127.0.0.1. Slash commands go through the real signed HTTP endpoint. The
demo prints every message the bot sent and exits 0 when each expected alert arrived.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from bot.domain.snapshot import ApiFlavor
from bot.sim.ibm_api import ScriptedJob
from bot.sim.slack_api import RecordedCall
from bot.sim.stack import LocalStack, StackSecrets

# The simulated IBM clock runs this many times faster than real time.
SPEED = 10.0
TIMEOUT_SECONDS = 60.0
ONCALL_CHANNEL = "C0ONCALL"

JOB_LIFECYCLE = "c5dge2d3rn7breq27i9g"
JOB_CANCELLED = "d305ck0ocacs73ajagvg"
JOB_FAILED = "d7gthd493s0c738s1gk0"
JOB_TOO_LONG = "dar1ltrt55cs738sff3g"
JOB_UNKNOWN = "cz0000000000notfound"


@dataclass(frozen=True)
class Scenario:
    flavor: ApiFlavor
    jobs: tuple[ScriptedJob, ...]
    commands: tuple[str, ...]
    expected: tuple[tuple[str, str], ...]  # (job id, alert kind) in the watching channel


def admin_scenario() -> Scenario:
    jobs = (
        ScriptedJob(
            JOB_LIFECYCLE,
            queue_positions=(12, 9, 6, 3, 1, 0),
            step_seconds=4,
            run_seconds=30,
            billed_seconds=45,
        ),
        ScriptedJob(
            JOB_CANCELLED,
            queue_positions=(5, 4, 3),
            step_seconds=5,
            outcome="cancelled_in_queue",
        ),
    )
    commands = (
        JOB_LIFECYCLE,
        f"watch {JOB_LIFECYCLE} 30",
        f"watch <https://quantum.cloud.ibm.com/jobs/{JOB_CANCELLED}|{JOB_CANCELLED}>",
        "list",
        "watch",
        f"watch {JOB_LIFECYCLE} soon",
        "wacth " + JOB_LIFECYCLE,
        JOB_UNKNOWN,
    )
    expected = (
        (JOB_LIFECYCLE, "queue_moved"),
        (JOB_LIFECYCLE, "started"),
        (JOB_LIFECYCLE, "threshold_exceeded"),
        (JOB_LIFECYCLE, "finished"),
        (JOB_CANCELLED, "finished"),
    )
    return Scenario(ApiFlavor.ADMIN, jobs, commands, expected)


def platform_scenario() -> Scenario:
    jobs = (
        ScriptedJob(
            JOB_LIFECYCLE,
            queue_positions=(0, 0),
            step_seconds=6,
            run_seconds=30,
            billed_seconds=42,
            usage_final_delay=20,
        ),
        ScriptedJob(
            JOB_FAILED, queue_positions=(0,), step_seconds=8, run_seconds=10, outcome="failed"
        ),
        ScriptedJob(
            JOB_TOO_LONG,
            queue_positions=(0,),
            step_seconds=5,
            run_seconds=25,
            outcome="ran_too_long",
        ),
    )
    commands = (
        JOB_LIFECYCLE,
        f"watch {JOB_LIFECYCLE} 30",
        f"watch {JOB_FAILED}",
        f"watch https://quantum.cloud.ibm.com/jobs/{JOB_TOO_LONG}",
        "list",
        JOB_UNKNOWN,
    )
    expected = (
        (JOB_LIFECYCLE, "started"),
        (JOB_LIFECYCLE, "threshold_exceeded"),
        (JOB_LIFECYCLE, "finished"),
        (JOB_LIFECYCLE, "usage_final"),
        (JOB_FAILED, "finished"),
        (JOB_TOO_LONG, "finished"),
    )
    return Scenario(ApiFlavor.PLATFORM, jobs, commands, expected)


def alert_kinds(calls: Iterable[RecordedCall], channel: str) -> list[tuple[str, str]]:
    """(job id, alert kind) of each alert posted to `channel`, read from message metadata."""
    found = []
    for call in calls:
        metadata = call.params.get("metadata")
        if call.method != "chat.postMessage" or not call.ok or not isinstance(metadata, dict):
            continue
        if call.params.get("channel") != channel:
            continue
        kind = str(metadata.get("event_type", "")).removeprefix("jobmetrics_")
        found.append((str(metadata.get("event_payload", {}).get("job_id")), kind))
    return found


def missing_alerts(scenario: Scenario, calls: list[RecordedCall]) -> list[tuple[str, str]]:
    seen = alert_kinds(calls, "C0DEMO")
    return [item for item in scenario.expected if item not in seen]


async def play(
    scenario: Scenario, out: TextIO = sys.stdout, known_secrets: StackSecrets | None = None
) -> bool:
    """Run a scenario and print its transcript; return whether every expected alert arrived."""
    write = out.write
    started = time.monotonic()
    async with LocalStack(
        flavor=scenario.flavor,
        sim_speed=SPEED,
        poll_interval=0.3,
        oncall_channel=ONCALL_CHANNEL,
        oncall_mention="<!here>",
        known_secrets=known_secrets,
    ) as stack:
        stack.ibm.add(*scenario.jobs)
        for text in scenario.commands:
            response = await stack.command(text)
            write(f"> /jobmetrics {text}    (HTTP {response.status_code})\n")
            await asyncio.sleep(0.3)

        deadline = started + TIMEOUT_SECONDS
        while missing_alerts(scenario, stack.slack.all_calls()) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)

        missing = missing_alerts(scenario, stack.slack.all_calls())
        write("\n=== Slack transcript (every message the bot sent) ===\n\n")
        write(stack.slack.transcript() + "\n")
        write(_card_history(stack))
        write(_summary(scenario, stack, missing, time.monotonic() - started))
        return not missing


def _card_history(stack: LocalStack) -> str:
    """Each edit of the first card, one line per version, to show the card living."""
    cards = [call for call in stack.slack.posts("C0DEMO") if not call.params.get("thread_ts")]
    if not cards:
        return ""

    ts = cards[0].response.get("ts")
    edits = [
        call for call in stack.slack.calls("chat.update") if call.ok and call.params.get("ts") == ts
    ]
    lines = ["", f"=== Card {ts}: its {len(edits)} edits in place, oldest first ==="]
    for number, call in enumerate(edits, start=1):
        lines.append(f"{number:>3}. {_first_lines(str(call.params.get('text', '')))}")
    return "\n".join(lines) + "\n"


def _first_lines(text: str) -> str:
    return " | ".join(line.strip() for line in text.splitlines()[:3] if line.strip())[:150]


def _summary(
    scenario: Scenario, stack: LocalStack, missing: list[tuple[str, str]], took: float
) -> str:
    calls = stack.slack.all_calls()
    alerts = alert_kinds(calls, "C0DEMO")
    oncall = alert_kinds(calls, ONCALL_CHANNEL)
    lines = [
        "",
        f"=== Summary ({scenario.flavor.value} API, {took:.1f} s) ===",
        f"alerts in #C0DEMO: {len(alerts)}",
        f"usage alerts copied to on-call #{ONCALL_CHANNEL}: {len(oncall)}",
        f"replies to slash commands: {len(stack.slack.responses())}",
        f"IBM API requests: {sum(stack.ibm.requests_by_path.values())}",
    ]
    if missing:
        lines.append("MISSING alerts: " + ", ".join(f"{job} {kind}" for job, kind in missing))
    else:
        lines.append("every expected alert arrived exactly as scripted")
    return "\n".join(lines) + "\n"


def run_demo(flavor: str = "admin") -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    scenario = platform_scenario() if flavor == ApiFlavor.PLATFORM.value else admin_scenario()
    print(
        f"jobmetrics-bot demo: {scenario.flavor.value} API simulated on 127.0.0.1, "
        f"IBM clock x{SPEED:g}, Slack stand-in recording every call\n"
    )
    ok = asyncio.run(play(scenario))
    return 0 if ok else 1
