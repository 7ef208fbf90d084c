"""Errors a job source raises, named by what the engine must do about them.

The IBM client translates HTTP and transport failures into these at its boundary, so the
engine and the Slack surface never see httpx. Messages never contain a token or API key.
"""

from __future__ import annotations


class JobSourceError(Exception):
    """Fetching a job's metrics failed; the message gives the cause and what to do next."""

    #: Short machine-readable kind, used in logs, metrics and stored watch errors.
    kind = "error"

    def __init__(self, message: str, *, job_id: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.job_id = job_id
        self.status = status


class JobNotFound(JobSourceError):
    """The API returned 404: the ID is wrong, or the job belongs to another instance or region."""

    kind = "not_found"


class AccessDenied(JobSourceError):
    """The API returned 401 or 403: the token is invalid, expired or lacks access to the job."""

    kind = "access_denied"


class RateLimited(JobSourceError):
    """The API returned 429 (or 503 with Retry-After), so retry after `retry_after` seconds."""

    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ApiUnavailable(JobSourceError):
    """A 5xx response, a timeout or a refused connection: transient, so retry with backoff."""

    kind = "unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InvalidResponse(JobSourceError):
    """The API answered with a body that is not the expected JSON (for example an HTML page)."""

    kind = "invalid_response"
