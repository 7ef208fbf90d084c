"""Extract an IBM Quantum job ID from what a user typed or pasted.

Users give a bare job ID, a job link copied from the IBM Quantum dashboard, or that link as
Slack forwards it (`<url|label>` or `<url>`). Real runtime IDs are 20 lowercase letters and
digits, but the API only promises the pattern below, so the prefix is never checked.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

JOB_ID_MAX_LENGTH = 64
EXAMPLE_JOB_ID = "d305ck0ocacs73ajagvg"
EXPECTED_FORM = (
    f"expected a job ID such as {EXAMPLE_JOB_ID} (letters, digits, '-' and '_', "
    f"at most {JOB_ID_MAX_LENGTH} characters) or a job link such as "
    f"https://quantum.cloud.ibm.com/jobs/{EXAMPLE_JOB_ID}"
)

_JOB_ID = re.compile(r"[A-Za-z0-9_-]+")
_SLACK_LINK = re.compile(r"<([^<>|]*)(?:\|[^<>]*)?>")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# Path segments that precede the job ID in dashboard links. `/jobs/<id>` is the job link form.
# NOTE: `/workloads/<id>` is accepted because the current platform lists jobs on its Workloads
# page at /workloads, but no job link of that form was seen.
_JOB_SEGMENTS = ("jobs", "workloads")
_SHOWN_MAX_LENGTH = 60


class InvalidJobReference(ValueError):
    """Invalid job reference: text that is neither a job ID nor a job link.

    The message names the value and the expected form.
    """

    def __init__(self, message: str, *, value: str):
        super().__init__(message)
        self.message = message
        self.value = value


def parse_job_reference(text: str) -> str:
    """Return the job ID in `text`: a bare ID, a dashboard job link or a Slack link to one.

    Raises InvalidJobReference when no valid job ID can be found.
    """
    reference = text.strip()
    if not reference:
        raise InvalidJobReference(f"The job ID is missing: {EXPECTED_FORM}.", value=text)

    reference = _unwrap_slack_link(reference)
    if _looks_like_link(reference):
        return _job_id_from_link(reference, original=text)

    return _check_job_id(reference, original=text)


def is_job_id(text: str) -> bool:
    """Tell whether `text` is a bare job ID of the accepted pattern and length."""
    return len(text) <= JOB_ID_MAX_LENGTH and _JOB_ID.fullmatch(text) is not None


def shorten_value(value: str, max_length: int = _SHOWN_MAX_LENGTH) -> str:
    """Shorten a user's value for an error message and make control characters visible."""
    printable = "".join(char if char.isprintable() else repr(char)[1:-1] for char in value)
    if len(printable) <= max_length:
        return printable
    return printable[: max_length - 1] + "…"


def _unwrap_slack_link(reference: str) -> str:
    match = _SLACK_LINK.fullmatch(reference)
    if match is None:
        return reference
    return match.group(1).strip()


def _looks_like_link(reference: str) -> bool:
    return "/" in reference or _SCHEME.match(reference) is not None


def _job_id_from_link(link: str, *, original: str) -> str:
    # Slack can send `&` in slash command text as `&amp;`, which would otherwise reach the query.
    url = html.unescape(link)
    if _SCHEME.match(url) is None:
        url = "https://" + url

    try:
        parts = urlsplit(url)
    except ValueError:
        # urlsplit rejects some malformed hosts, such as an unbalanced IPv6 bracket.
        raise InvalidJobReference(
            f"'{shorten_value(original.strip())}' is not a valid link: {EXPECTED_FORM}.",
            value=original,
        ) from None

    for location in (parts.path, parts.fragment):
        candidate = _segment_after_jobs(location)
        if candidate is not None:
            return _check_job_id(candidate, original=original)

    raise InvalidJobReference(
        f"The link '{shorten_value(original.strip())}' contains no /jobs/<job ID> part: "
        f"{EXPECTED_FORM}.",
        value=original,
    )


def _segment_after_jobs(path: str) -> str | None:
    segments = [segment for segment in path.split("/") if segment]
    for index, segment in enumerate(segments[:-1]):
        if segment.lower() in _JOB_SEGMENTS:
            return segments[index + 1]
    return None


def _check_job_id(candidate: str, *, original: str) -> str:
    if is_job_id(candidate):
        return candidate

    short_value = shorten_value(original.strip())
    if len(candidate) > JOB_ID_MAX_LENGTH and _JOB_ID.fullmatch(candidate):
        reason = f"is too long ({len(candidate)} characters)"
    else:
        reason = "is not a valid job ID"
    raise InvalidJobReference(f"'{short_value}' {reason}: {EXPECTED_FORM}.", value=original)
