"""Helpers shared by the benchmarks: the simulator process, the machine, percentiles."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bot.storage.models import Watch


@dataclass
class SimProcess:
    process: subprocess.Popen[str]
    url: str
    token: str
    sim_zero: float

    def stop(self) -> int:
        """Close the simulator; return how many API requests it served."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        line = self.process.stdout.readline()
        self.process.wait(timeout=30)
        return int(json.loads(line)["requests"]) if line else -1


def start_simulator(
    jobs: int, workload: str = "steady", *, epoch_now: bool = False, **options: float
) -> SimProcess:
    args = [sys.executable, "-m", "bench.simserver", "--jobs", str(jobs), "--workload", workload]
    if epoch_now:
        args.append("--epoch-now")
    for name, value in options.items():
        args += [f"--{name}", str(value)]
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())
    return SimProcess(process, ready["url"], ready["token"], ready["sim_zero"])


def insert_watches(
    engine: Any,
    job_ids: list[str],
    *,
    now: datetime,
    spread: float = 0.0,
    channels: int = 50,
    due_times: list[datetime] | None = None,
) -> None:
    """Insert active watches in bulk, first due at `due_times` when given, else at times
    spread evenly over `spread` seconds."""
    rows = []
    for index, job_id in enumerate(job_ids):
        due = now + timedelta(seconds=spread * index / max(len(job_ids), 1))
        if due_times is not None:
            due = due_times[index]
        rows.append(
            {
                "team_id": "T0BENCH",
                "channel_id": f"C{index % channels:08d}",
                "job_id": job_id,
                "flavor": "admin",
                "thresholds": [],
                "status": "active",
                "error_count": 0,
                "created_at": now,
                "updated_at": now,
                "next_poll_at": due,
            }
        )
    with engine.begin() as connection:
        for start in range(0, len(rows), 2000):
            connection.execute(insert(Watch), rows[start : start + 2000])


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}, Python {platform.python_version()}"
