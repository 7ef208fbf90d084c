"""Job ID extraction from bare IDs, dashboard links and Slack link forms."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.job_ids import (
    JOB_ID_MAX_LENGTH,
    InvalidJobReference,
    parse_job_reference,
)

JOB = "d305ck0ocacs73ajagvg"

ACCEPTED = [
    (JOB, JOB),
    ("c5dge2d3rn7breq27i9g", "c5dge2d3rn7breq27i9g"),
    ("  d305ck0ocacs73ajagvg\n", JOB),
    ("Job_ID-with-Dashes_1", "Job_ID-with-Dashes_1"),
    ("a" * JOB_ID_MAX_LENGTH, "a" * JOB_ID_MAX_LENGTH),
    (f"https://quantum.cloud.ibm.com/jobs/{JOB}", JOB),
    (f"https://quantum.ibm.com/jobs/{JOB}", JOB),
    (f"https://quantum-computing.ibm.com/jobs/{JOB}", JOB),
    (f"https://eu-de.quantum.cloud.ibm.com/jobs/{JOB}", JOB),
    (f"https://quantum.cloud.ibm.com/jobs/{JOB}/", JOB),
    (f"https://quantum.cloud.ibm.com/jobs/{JOB}?instance=crn:v1:bluemix:public:x", JOB),
    (f"https://quantum.cloud.ibm.com/jobs/{JOB}?a=1&amp;instance=crn%3Av1", JOB),
    (f"https://quantum.cloud.ibm.com/jobs/{JOB}#results", JOB),
    (f"https://quantum.cloud.ibm.com/workloads/{JOB}?region=us-east", JOB),
    (f"https://quantum.cloud.ibm.com/JOBS/{JOB}", JOB),
    (f"quantum.cloud.ibm.com/jobs/{JOB}", JOB),
    (f"http://quantum.ibm.com/jobs/{JOB}/details", JOB),
    (f"https://quantum-computing.ibm.com/#/jobs/{JOB}", JOB),
    (f"<https://quantum.cloud.ibm.com/jobs/{JOB}>", JOB),
    (f"<https://quantum.cloud.ibm.com/jobs/{JOB}|quantum.cloud.ibm.com/jobs/{JOB}>", JOB),
    (f"<https://quantum.cloud.ibm.com/jobs/{JOB}?instance=x|my job link>", JOB),
    (f"<{JOB}>", JOB),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_reference_accepted(text: str, expected: str) -> None:
    assert parse_job_reference(text) == expected


REJECTED = [
    ("", "missing"),
    ("   ", "missing"),
    ("a" * (JOB_ID_MAX_LENGTH + 1), "too long (65 characters)"),
    ("job id", "'job id' is not a valid job ID"),
    ("d305ck0o!acs", "'d305ck0o!acs' is not a valid job ID"),
    ("<!channel>", "'<!channel>' is not a valid job ID"),
    ("https://quantum.cloud.ibm.com/jobs/", "contains no /jobs/<job ID> part"),
    ("https://quantum.cloud.ibm.com/dashboard", "contains no /jobs/<job ID> part"),
    ("<https://quantum.cloud.ibm.com/|IBM>", "contains no /jobs/<job ID> part"),
    ("https://quantum.cloud.ibm.com/jobs/d305%20ck", "is not a valid job ID"),
    ("ab\ncd", "'ab\\ncd' is not a valid job ID"),
]


@pytest.mark.parametrize(("text", "fragment"), REJECTED)
def test_reference_rejected(text: str, fragment: str) -> None:
    with pytest.raises(InvalidJobReference) as caught:
        parse_job_reference(text)

    assert fragment in caught.value.message
    assert "expected a job ID such as" in caught.value.message
    assert caught.value.value == text


def test_rejected_value_shortened() -> None:
    text = "x!" * 200

    with pytest.raises(InvalidJobReference) as caught:
        parse_job_reference(text)

    assert len(caught.value.message) < 400
    assert "…" in caught.value.message


@given(st.text())
def test_any_text_gives_id_or_error(text: str) -> None:
    try:
        job_id = parse_job_reference(text)
    except InvalidJobReference as exc:
        assert exc.message
    else:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", job_id)


def test_malformed_link_rejected() -> None:
    with pytest.raises(InvalidJobReference) as caught:
        parse_job_reference("https://[::1/jobs/abc")

    assert "is not a valid link" in caught.value.message
