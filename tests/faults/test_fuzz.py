"""Bad input: generated command texts and IBM bodies raise only the named errors, each
with a clear message."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.errors import InvalidResponse
from bot.ibm.payloads import AdminMetrics, PlatformJob, PlatformMetrics, parse_body
from bot.slack.commands import CommandError, parse_command

EXAMPLES = 600
WORDS = [
    "watch",
    "unwatch",
    "show",
    "list",
    "help",
    "snooze",
    "settings",
    "thresholds",
    "oncall",
    "quiet",
    "final",
    "d305ck0ocacs73ajagvg",
    "<https://x|y>",
    "90s",
    "5m",
    "-1",
    "1e999",
    "nan",
    "<#C123|ops>",
    "<!here>",
    "22:00-07:00",
    "Europe/Zurich",
]

command_texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=8).map(" ".join),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
KEYS = [
    "timestamps",
    "bss",
    "usage",
    "executions",
    "num_circuits",
    "num_qubits",
    "circuit_depths",
    "qiskit_version",
    "position_in_queue",
    "state",
    "status",
    "created",
    "backend",
    "id",
    "created",
    "running",
    "finished",
    "seconds",
    "quantum_seconds",
]
shaped_bodies = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)
raw_bodies = st.one_of(
    st.binary(max_size=200),
    shaped_bodies.map(lambda body: json.dumps(body).encode()),
    shaped_bodies.map(lambda body: json.dumps(body).encode()[: len(json.dumps(body)) // 2]),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_texts)
def test_command_parser_fuzzed(text: str) -> None:
    try:
        parse_command(text)
    except CommandError as exc:
        assert exc.problem.strip()
        assert "/jobmetrics" in exc.usage
        assert "<!" not in exc.message  # user text is escaped, so it pings nobody


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_bodies, st.sampled_from([AdminMetrics, PlatformJob, PlatformMetrics]))
def test_payload_parser_fuzzed(body: bytes, model: type) -> None:
    try:
        parse_body(model, body, source="metrics body of job X (HTTP 200)", job_id="X")
    except InvalidResponse as exc:
        assert "metrics body of job X" in exc.message
        assert exc.job_id == "X"
