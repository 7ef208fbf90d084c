"""The Slack Web API stand-in in its own process, for the multi-worker benchmark.

    python -m bench.slackserver

prints one JSON line with the URL, then serves until its standard input closes, then prints
one JSON line with every chat.postMessage it received: the alert's kind, job id and event key
from the message metadata, the arrival time (time.time()) and whether the stand-in replied ok.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bot.sim.slack_api import RecordedCall, SlackStandIn


def post_record(call: RecordedCall) -> dict[str, Any]:
    metadata = call.params.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return {
        "event_type": metadata.get("event_type"),
        "job_id": payload.get("job_id"),
        "key": payload.get("key"),
        "at": call.at,
        "ok": call.ok,
    }


def main() -> None:
    stand_in = SlackStandIn().start()
    print(json.dumps({"url": stand_in.url}), flush=True)
    sys.stdin.read()
    posts = [post_record(call) for call in stand_in.calls("chat.postMessage")]
    stand_in.stop()
    print(json.dumps({"posts": posts}), flush=True)


if __name__ == "__main__":
    main()
