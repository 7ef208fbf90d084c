from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from bot.domain.errors import InvalidResponse
from bot.ibm.payloads import (
    AdminMetrics,
    ErrorBody,
    IamToken,
    PlatformJob,
    PlatformMetrics,
    error_message,
    parse_body,
    parse_timestamp,
)
from tests.ibm.conftest import FIXTURES, fixture_bytes

MODELS: dict[str, type[BaseModel]] = {
    "admin-": AdminMetrics,
    "platform-job-": PlatformJob,
    "platform-metrics-": PlatformMetrics,
    "error-": ErrorBody,
    "iam-": IamToken,
}
ALL_FIXTURES = sorted(path.name for path in FIXTURES.glob("*.json"))


def model_for(name: str) -> type[BaseModel]:
    return next(model for prefix, model in MODELS.items() if name.startswith(prefix))


def test_fixture_folder_is_populated():
    assert len(ALL_FIXTURES) >= 20


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_fixture_parses(name: str):
    parsed = parse_body(model_for(name), fixture_bytes(name), source=f"fixture {name}")

    assert isinstance(parsed, model_for(name))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-08-12T09:41:03.249Z", datetime(2024, 8, 12, 9, 41, 3, 249000, tzinfo=UTC)),
        ("2024-08-12T09:41:03.1Z", datetime(2024, 8, 12, 9, 41, 3, 100000, tzinfo=UTC)),
        ("2024-08-12T09:41:03.968329Z", datetime(2024, 8, 12, 9, 41, 3, 968329, tzinfo=UTC)),
        ("2024-08-12T09:41:03.12345Z", datetime(2024, 8, 12, 9, 41, 3, 123450, tzinfo=UTC)),
        ("2024-08-12T09:41:03Z", datetime(2024, 8, 12, 9, 41, 3, tzinfo=UTC)),
        ("2024-08-12t09:41:03.5z", datetime(2024, 8, 12, 9, 41, 3, 500000, tzinfo=UTC)),
        ("2024-08-12T11:41:03+02:00", datetime(2024, 8, 12, 9, 41, 3, tzinfo=UTC)),
        ("2024-08-12T04:11:03-0530", datetime(2024, 8, 12, 9, 41, 3, tzinfo=UTC)),
        ("2024-08-12T09:41:03", datetime(2024, 8, 12, 9, 41, 3, tzinfo=UTC)),
        ("2024-08-12T09:41:03.123456789Z", datetime(2024, 8, 12, 9, 41, 3, 123456, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_timestamp_parsing_is_lenient(text: str | None, expected: datetime | None):
    assert parse_timestamp(text) == expected


def test_string_arrays_become_ints():
    body = b'{"timestamps": {}, "num_qubits": ["127", 5], "circuit_depths": null}'

    metrics = parse_body(AdminMetrics, body, source="test body")

    assert metrics.num_qubits == (127, 5)
    assert metrics.circuit_depths == ()


def test_unknown_keys_are_ignored():
    body = (
        b'{"timestamps": {"created": "2025-01-01T00:00:00Z", "queued": 1}, "caller": "x", "new": 1}'
    )

    metrics = parse_body(AdminMetrics, body, source="test body")

    assert metrics.caller == "x"


def test_qiskit_version_stays_opaque_text():
    body = b'{"timestamps": {}, "qiskit_version": "qiskit_ibm_runtime-0.23.0,qiskit-1.1.0*"}'

    metrics = parse_body(AdminMetrics, body, source="test body")

    assert metrics.qiskit_version == "qiskit_ibm_runtime-0.23.0,qiskit-1.1.0*"


@pytest.mark.parametrize(
    ("body", "expected_words"),
    [
        (b'{"timestamps": {"created": "yesterday"}}', ["timestamps.created", "'yesterday'"]),
        (b'{"timestamps": {}, "position_in_queue": "third"}', ["position_in_queue", "'third'"]),
        (b'{"timestamps": {}, "num_qubits": ["many"]}', ["num_qubits.0", "'many'"]),
        (b'{"bss": {"seconds": 3}}', ["timestamps", "missing"]),
        (b"[1, 2]", ["the body", "[1, 2]"]),
        (b"<html><body>Maintenance</body></html>", ["HTML", "Maintenance"]),
        (b'{"timestamps": {"created": "2024-08', ["not valid JSON", "cut off"]),
        (b"", ["empty"]),
    ],
)
def test_invalid_body_names_field_and_value(body: bytes, expected_words: list[str]):
    with pytest.raises(InvalidResponse) as caught:
        parse_body(AdminMetrics, body, source="metrics body of job abc (HTTP 200)")

    message = str(caught.value)
    assert "metrics body of job abc (HTTP 200)" in message
    for word in expected_words:
        assert word in message


def test_platform_job_without_state_parses():
    job = parse_body(PlatformJob, b'{"status": "Queued", "tags": [1, "a"]}', source="test")

    assert job.state is None
    assert job.status == "Queued"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (fixture_bytes("error-legacy-not-found.json"), "Job not found., Error code: 3250"),
        (fixture_bytes("error-platform-not-found.json"), "Job not found (code not_found)"),
        (
            b'{"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."}',
            "Provided API key could not be found. (code BXNIM0415E)",
        ),
        (
            b'{"trace": "t", "errors": [{"code": "a", "message": "First"}, {"code": "b"}]}',
            "First (code a); code b",
        ),
        (b"Service   Unavailable\n", "Service Unavailable"),
        (b'{"unexpected": true}', '{"unexpected": true}'),
        (b"", None),
    ],
)
def test_error_message_reads_both_shapes(body: bytes, expected: str | None):
    assert error_message(body) == expected


def test_error_message_shortens_long_raw_text():
    message = error_message(b"x" * 5000)

    assert message is not None
    assert len(message) < 400


def test_iam_token_hides_access_token():
    token = parse_body(IamToken, fixture_bytes("iam-token.json"), source="test")

    assert "eyJ" not in repr(token)
    assert token.expires_in == 3600
    assert token.access_token.get_secret_value().startswith("eyJ")


def test_iam_token_without_access_token_is_invalid():
    with pytest.raises(InvalidResponse, match="access_token is missing"):
        parse_body(IamToken, b'{"expires_in": 3600}', source="IBM Cloud IAM token reply")
