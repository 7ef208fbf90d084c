"""`jobmetrics-bot worker`, counting the watches it polls, for the multi-worker benchmark.

    python -m bench.workerproc

runs the worker command unchanged (configured by the environment, stopped by SIGTERM) and,
once it stops, prints one JSON line with how many watches this process polled and how many
alerts it posted.
"""

from __future__ import annotations

import json

from bot import cli
from bot.engine.delivery import Deliverer
from bot.engine.polling import Poller

_counts = {"polled": 0, "posted": 0}
_poll_due = Poller.poll_due
_deliver_pending = Deliverer.deliver_pending


async def _counting_poll_due(self: Poller) -> int:
    count = await _poll_due(self)
    _counts["polled"] += count
    return count


async def _counting_deliver_pending(self: Deliverer) -> int:
    count = await _deliver_pending(self)
    _counts["posted"] += count
    return count


def main() -> int:
    # The scheduler binds both methods when it starts, so patching the classes here counts
    # every tick of this process.
    Poller.poll_due = _counting_poll_due  # type: ignore[method-assign]
    Deliverer.deliver_pending = _counting_deliver_pending  # type: ignore[method-assign]
    code = cli.main(["worker"])
    print(json.dumps(_counts), flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
