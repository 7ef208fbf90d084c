"""Tolerant models of the bodies the IBM Quantum APIs and IBM Cloud IAM return.

Every key but `timestamps` may be missing or null, unknown keys are ignored, arrays of numbers
may arrive as strings, and timestamps are parsed leniently. A defect that cannot be tolerated
raises `InvalidResponse` naming the field and its value.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from bot.domain.errors import InvalidResponse

_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ]"
    r"(?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:[.,](?P<fraction>\d{1,9}))?"
    r"(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
_HTML_TITLE = re.compile(r"<title[^>]*>([^<]*)</title>", re.IGNORECASE)
_SNIPPET_CHARS = 80
_ERROR_TEXT_CHARS = 300


def parse_timestamp(value: object) -> datetime | None:
    """Parse an ISO 8601 timestamp into an aware UTC datetime; None and "" give None.

    Accepts 0 to 9 fractional digits (kept to microseconds), `Z`/`z` or a numeric offset, a
    lowercase `t`, and no zone at all, which is read as UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _as_utc(value)
    if not isinstance(value, str):
        raise ValueError("not an ISO 8601 timestamp string")

    match = _TIMESTAMP.match(value.strip())
    if match is None:
        raise ValueError("not an ISO 8601 timestamp")

    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    base = datetime.fromisoformat(f"{match['date']}T{match['time']}")
    moment = base.replace(microsecond=int(fraction), tzinfo=_zone(match["zone"]))
    return moment.astimezone(UTC)


def _zone(text: str | None) -> timezone:
    if text is None or text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _int_tuple(value: object) -> object:
    """Turn null into an empty tuple, so arrays are never None; items are checked by pydantic."""
    if value is None:
        return ()
    return value


def _opaque_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


Timestamp = Annotated[datetime | None, BeforeValidator(parse_timestamp)]
IntTuple = Annotated[tuple[int, ...], BeforeValidator(_int_tuple)]
OpaqueText = Annotated[str | None, BeforeValidator(_opaque_text)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Timestamps(_Body):
    created: Timestamp = None
    running: Timestamp = None
    finished: Timestamp = None


class BssUsage(_Body):
    """Billing (`bss`) block of the legacy API and of platform API versions before 2026-03-15."""

    seconds: float | None = None


class Usage(_Body):
    """Usage block: `seconds`/`quantum_seconds` on older versions, QPU charge time on newer ones."""

    seconds: float | None = None
    quantum_seconds: float | None = None
    qpu_charge_time_seconds: float | None = None
    status: str | None = None


class _MetricsBody(_Body):
    timestamps: Timestamps
    bss: BssUsage | None = None
    usage: Usage | None = None
    executions: int | None = None
    num_circuits: int | None = None
    num_qubits: IntTuple = ()
    circuit_depths: IntTuple = ()
    qiskit_version: OpaqueText = None
    caller: OpaqueText = None


class AdminMetrics(_MetricsBody):
    """Body of `GET {base}/admin/jobs/{id}/metrics` on the legacy runtime API."""

    estimated_start_time: Timestamp = None
    estimated_completion_time: Timestamp = None
    position_in_queue: int | None = None
    position_in_provider: int | None = None


class PlatformMetrics(_MetricsBody):
    """Body of `GET {base}/v1/jobs/{id}/metrics` on the IBM Quantum Platform API."""

    circuits_execution_time_ns: int | None = None


class JobStatus(_Body):
    status: str | None = None
    reason: str | None = None
    reason_code: int | None = None


class ProgramRef(_Body):
    id: str | None = None


class PlatformJob(_Body):
    """Body of `GET {base}/v1/jobs/{id}?exclude_params=true` on the IBM Quantum Platform API."""

    id: str | None = None
    backend: str | None = None
    state: JobStatus | None = None
    # Display text such as "Cancelled - Ran too long"; `state.status` is the one to trust.
    status: str | None = None
    created: Timestamp = None
    program: ProgramRef | None = None


class LegacyError(_Body):
    message: str | None = None
    code: int | str | None = None


class ErrorItem(_Body):
    code: int | str | None = None
    message: str | None = None
    more_info: str | None = None


class ErrorBody(_Body):
    """Error body in either shape: legacy `{"error": {...}}` or current `{"trace", "errors"}`."""

    error: LegacyError | None = None
    trace: str | None = None
    errors: tuple[ErrorItem, ...] | None = None
    # IBM Cloud IAM's own error shape.
    iam_code: str | None = Field(None, alias="errorCode")
    iam_message: str | None = Field(None, alias="errorMessage")


class IamToken(_Body):
    """Reply of the IBM Cloud IAM API key exchange; `access_token` is the only required key."""

    access_token: SecretStr
    token_type: str | None = None
    expires_in: float | None = None
    expiration: float | None = None


ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_body(
    model: type[ModelT],
    content: bytes,
    *,
    source: str,
    job_id: str | None = None,
    status: int | None = None,
) -> ModelT:
    """Validate a JSON body into `model`, raising InvalidResponse that names `source`.

    `source` describes the body for the message, for example "metrics body of job X (HTTP
    200)"; `job_id` and `status` are copied onto the error.
    """
    try:
        return model.model_validate_json(content)
    except ValidationError as exc:
        message = _describe_invalid(exc, content, source)
        raise InvalidResponse(message, job_id=job_id, status=status) from None


def _describe_invalid(exc: ValidationError, content: bytes, source: str) -> str:
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return _describe_not_json(first, content, source)

    field = ".".join(str(part) for part in first["loc"])
    if first["type"] == "missing":
        defect = f"field {field} is missing"
    else:
        value_text = _snippet(repr(first.get("input")))
        reason = first["msg"].removeprefix("Value error, ")
        defect = f"{'field ' + field if field else 'the body'} has value {value_text} ({reason})"
    return (
        f"The {source} is invalid: {defect}. Check that the IBM API URL and "
        "IBM-API-Version are right, and report the body if they are."
    )


def _describe_not_json(error: Any, content: bytes, source: str) -> str:
    text = content.decode("utf-8", errors="replace").strip()
    if text.startswith("<"):
        title = _HTML_TITLE.search(text)
        described = f"titled {_snippet(title[1])!r}" if title else f"starting {_snippet(text)!r}"
        return (
            f"The {source} is an HTML page {described}, not JSON. IBM may be in maintenance: "
            "retry later, and check the IBM API URL if it persists."
        )
    if not text:
        return f"The {source} is empty, not JSON. Retry later; IBM may be restarting."
    detail = error["msg"].removeprefix("Invalid JSON: ")
    return (
        f"The {source} is not valid JSON ({detail}); it may have been cut off. "
        f"It starts with {_snippet(text)!r}. Retry later."
    )


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= _SNIPPET_CHARS:
        return flat
    return flat[:_SNIPPET_CHARS] + "..."


def error_message(content: bytes) -> str | None:
    """Extract IBM's error message from an error body of any known shape, else the raw text.

    Returns None for an empty body. Raw text is whitespace-collapsed and shortened.
    """
    try:
        body = ErrorBody.model_validate_json(content)
    except ValidationError:
        return _raw_text(content)

    message = _message_of(body)
    return message if message is not None else _raw_text(content)


def _message_of(body: ErrorBody) -> str | None:
    if body.errors:
        parts = [_item_text(item) for item in body.errors]
        return "; ".join(part for part in parts if part) or None
    if body.error is not None and body.error.message:
        return _with_code(body.error.message, body.error.code)
    if body.iam_message:
        return _with_code(body.iam_message, body.iam_code)
    return None


def _item_text(item: ErrorItem) -> str:
    if not item.message:
        return f"code {item.code}" if item.code is not None else ""
    return _with_code(item.message, item.code)


def _with_code(message: str, code: int | str | None) -> str:
    if code is None or str(code) in message:
        return message
    return f"{message} (code {code})"


def _raw_text(content: bytes) -> str | None:
    text = " ".join(content.decode("utf-8", errors="replace").split())
    if not text:
        return None
    if len(text) > _ERROR_TEXT_CHARS:
        return text[:_ERROR_TEXT_CHARS] + "..."
    return text
