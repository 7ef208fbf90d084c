"""The simulated IBM API in its own process, so that its CPU is not counted as the bot's.

    python -m bench.simserver --jobs 10000 --workload steady

prints one JSON line with the URL, token and the wall-clock time of simulated second 0, then
serves until its standard input closes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime

from bot.sim.ibm_api import IbmApiSimulator, ScriptedJob, SimClock

TOKEN = "bench-admin-token"
QUEUE_STEP = 20.0  # simulated seconds between two queue positions in the lifecycle workload


def job_id(number: int) -> str:
    return f"bench{number:015d}"


def steady_job(number: int) -> ScriptedJob:
    """A job that runs for a day, so that every poll sees the same state."""
    return ScriptedJob(job_id(number), queue_positions=(), run_seconds=86_400, created_at=0.0)


def lifecycle_job(number: int, spread: float, delay: float = 0.0) -> ScriptedJob:
    """Script a job that waits in a queue, runs and finishes. It is created at simulated
    second `delay` plus an offset spread over `spread` seconds."""
    offset = delay + (number * 7919) % max(int(spread), 1)
    positions = tuple(range(number % 6, -1, -1))
    return ScriptedJob(
        job_id(number),
        queue_positions=positions,
        step_seconds=QUEUE_STEP,
        run_seconds=60.0,
        billed_seconds=20.0,
        created_at=float(offset),
    )


def build_jobs(workload: str, count: int, spread: float, delay: float) -> list[ScriptedJob]:
    if workload == "steady":
        return [steady_job(number) for number in range(count)]
    return [lifecycle_job(number, spread, delay) for number in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--workload", choices=["steady", "lifecycle"], default="steady")
    parser.add_argument("--speed", type=float, default=0.0, help="simulated seconds per second")
    parser.add_argument("--spread", type=float, default=0.0, help="seconds over which jobs start")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds held per reply")
    parser.add_argument(
        "--delay", type=float, default=0.0, help="simulated seconds before the first job exists"
    )
    parser.add_argument(
        "--epoch-now",
        action="store_true",
        help="date simulated second 0 now, so that at --speed 1 the API's timestamps, estimated "
        "start times included, match the wall clock",
    )
    args = parser.parse_args()

    clock = SimClock(args.speed, epoch=datetime.now(UTC)) if args.epoch_now else None
    sim = IbmApiSimulator(admin_token=TOKEN, speed=args.speed, latency=args.latency, clock=clock)
    sim.add(*build_jobs(args.workload, args.jobs, args.spread, args.delay))
    with sim:
        zero = time.time() - sim.clock.now() / args.speed if args.speed else time.time()
        print(json.dumps({"url": sim.url, "token": TOKEN, "sim_zero": zero}), flush=True)
        sys.stdin.read()
        counts = sim.requests_by_endpoint
    print(json.dumps({"requests": sum(counts.values())}), flush=True)


if __name__ == "__main__":
    main()
