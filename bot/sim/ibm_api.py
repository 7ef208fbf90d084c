"""A simulated IBM Quantum API on loopback, for tests, benchmarks and the demo.

It serves the legacy admin metrics endpoint under `/runtime`, the IBM Quantum Platform job and
metrics endpoints under `/api/v1`, and an IBM Cloud IAM token endpoint, over real HTTP on
127.0.0.1 with a port chosen by the OS. Jobs follow scripted lifecycles on a simulated clock
that runs at a speed factor of real time, is advanced by hand, or both:

    sim = IbmApiSimulator()                       # clock advanced only by sim.advance()
    sim.add(ScriptedJob("d305ck0ocacs73ajagvg", queue_positions=[3, 1, 0], run_seconds=60))
    sim.fail_next(429, retry_after=7)             # the next API request returns 429
    with sim:                                     # or sim.start() / sim.stop(), or async with
        ...                                       # point clients at sim.url / sim.platform_url
        sim.advance(30)                           # the job is now running

The server runs in its own thread and event loop when started with `start()` or `with`, and
on the caller's loop with `async with`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

DEFAULT_CRN = (
    "crn:v1:bluemix:public:quantum-computing:us-east:a/0c1d2e3f4a5b:"
    "5e6f7a8b-0000-4c3d-9e8f-0123456789ab::"
)
SIM_EPOCH = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
IAM_GRANT_TYPE = "urn:ibm:params:oauth:grant-type:apikey"
#: First IBM-API-Version whose metrics carry `usage.qpu_charge_time_seconds` instead of
#: `bss.seconds`, `usage.seconds` and `usage.quantum_seconds`.
QPU_CHARGE_VERSION = "2026-03-15"
RAN_TOO_LONG = 1305
QISKIT_VERSION = "qiskit_ibm_runtime-0.46.1,qiskit-2.3.0*"

Outcome = Literal["completed", "cancelled_in_queue", "failed", "ran_too_long"]
Endpoint = Literal["admin", "job", "metrics", "iam"]
FaultKind = int | Literal["html", "truncated"]

_MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>IBM Quantum - Scheduled maintenance</title></head>"
    "<body><h1>We'll be back soon</h1><p>IBM Quantum is undergoing scheduled maintenance."
    "</p></body></html>"
)
_TRUNCATED_JSON = '{"timestamps": {"created": "2026-05-04T12:00:00.000Z", "runn'
_STATUS_MESSAGES = {
    400: "Bad request",
    401: "Unable to authenticate the request.",
    403: "You are not authorized to access this job.",
    404: "Job not found",
    429: "Too many requests. Please retry later.",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
}


class SimClock:
    """Simulated seconds since `epoch`: real time elapsed times `speed`, plus manual advances.

    With `speed=0` the clock moves only through `advance()`.
    """

    def __init__(self, speed: float = 0.0, epoch: datetime = SIM_EPOCH) -> None:
        self.speed = speed
        self.epoch = epoch
        self._started = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        return self._offset + (time.monotonic() - self._started) * self.speed

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def wall(self, seconds: float) -> datetime:
        """Convert a simulated time to a UTC datetime."""
        return self.epoch + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Fault:
    """A faulty response: an HTTP status with an error body, or a broken 200 body.

    `kind` is an HTTP status, "html" (a 200 maintenance page) or "truncated" (200, JSON cut
    off). `retry_after` is sent as the Retry-After header: seconds, or a string such as an HTTP
    date that is sent unchanged.
    """

    kind: FaultKind
    retry_after: float | str | None = None
    message: str | None = None


@dataclass
class ScriptedJob:
    """A job whose lifecycle is a function of simulated time.

    The job waits `step_seconds` at each of `queue_positions`, then runs for `run_seconds`
    (except "cancelled_in_queue", which ends when the positions run out without running).
    Billed seconds grow from 0 to `billed_seconds` over the run, read in whole seconds while
    usage is pending. On the platform, usage turns complete `usage_final_delay` seconds
    after the job ends, and only then reads the exact `billed_seconds`.
    `created_at` is in simulated seconds; None means the time the job is added.
    `instance` is the CRN that owns the job; None means the simulator's first CRN.
    A `fault` is returned for every request for this job instead of its data.
    """

    job_id: str
    queue_positions: Sequence[int] = (0,)
    step_seconds: float = 10.0
    run_seconds: float = 30.0
    billed_seconds: float = 10.0
    outcome: Outcome = "completed"
    instance: str | None = None
    usage_final_delay: float = 5.0
    created_at: float | None = None
    backend: str = "ibm_torino"
    program_id: str = "sampler"
    fault: Fault | None = None

    @property
    def queue_end(self) -> float:
        return (self.created_at or 0.0) + len(self.queue_positions) * self.step_seconds

    @property
    def final_billed(self) -> float:
        """Billed seconds once usage is final: 0 for a job that never ran."""
        return 0.0 if self.outcome == "cancelled_in_queue" else self.billed_seconds

    @property
    def running_at(self) -> float | None:
        return None if self.outcome == "cancelled_in_queue" else self.queue_end

    @property
    def finished_at(self) -> float:
        if self.outcome == "cancelled_in_queue":
            return self.queue_end
        return self.queue_end + self.run_seconds

    def view(self, now: float) -> JobView:
        """Compute the job as the API shows it at simulated time `now`."""
        finished = now >= self.finished_at
        running = self.running_at is not None and now >= self.running_at
        return JobView(
            job=self,
            status=self._status(running, finished),
            position=self._position(now) if not running and not finished else None,
            running=running,
            finished=finished,
            usage_complete=finished and now >= self.finished_at + self.usage_final_delay,
            billed_so_far=self._billed_so_far(now, running),
        )

    def _status(self, running: bool, finished: bool) -> str:
        if finished:
            return {
                "completed": "Completed",
                "cancelled_in_queue": "Cancelled",
                "failed": "Failed",
                "ran_too_long": "Cancelled",
            }[self.outcome]
        return "Running" if running else "Queued"

    def _position(self, now: float) -> int | None:
        if not self.queue_positions:
            return None
        if self.step_seconds <= 0:
            return self.queue_positions[0]
        elapsed = max(now - (self.created_at or 0.0), 0.0)
        index = min(int(elapsed // self.step_seconds), len(self.queue_positions) - 1)
        return self.queue_positions[index]

    def _billed_so_far(self, now: float, running: bool) -> float:
        if not running or self.running_at is None:
            return 0.0
        if self.run_seconds <= 0:
            return self.billed_seconds
        progress = min((now - self.running_at) / self.run_seconds, 1.0)
        return self.billed_seconds * progress


@dataclass(frozen=True)
class JobView:
    """One job at one simulated moment; `status` uses the platform's status names."""

    job: ScriptedJob
    status: str
    position: int | None
    running: bool
    finished: bool
    usage_complete: bool
    billed_so_far: float

    @property
    def pending_billed(self) -> int:
        return math.floor(self.billed_so_far)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    service_crn: str | None
    api_version: str | None


@dataclass
class _QueuedFault:
    fault: Fault
    remaining: int
    job_id: str | None
    endpoint: Endpoint | None

    def matches(self, endpoint: Endpoint, job_id: str | None) -> bool:
        if self.endpoint is None and endpoint == "iam":
            return False
        if self.endpoint is not None and self.endpoint != endpoint:
            return False
        return self.job_id is None or self.job_id == job_id


@dataclass
class _Counts:
    by_path: Counter[str] = field(default_factory=Counter)
    by_job: Counter[str] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)
    recent: deque[RecordedRequest] = field(default_factory=lambda: deque(maxlen=1000))


class IbmApiSimulator:
    """Simulated IBM admin, platform and IAM APIs on one loopback HTTP server.

    `admin_token` is the bearer token the admin endpoint accepts. `api_key` is the IBM Cloud
    API key the IAM endpoint exchanges for tokens that live `token_lifetime` simulated
    seconds. `crns` are the service instances the platform serves. `iam_delay` holds each
    IAM reply for that many real seconds, so that tests can overlap concurrent exchanges, and
    `latency` holds each admin, job and metrics reply likewise (both may be changed at any time).
    """

    def __init__(
        self,
        *,
        speed: float = 0.0,
        clock: SimClock | None = None,
        admin_token: str = "sim-admin-token",
        api_key: str = "sim-api-key",
        crns: Sequence[str] = (DEFAULT_CRN,),
        token_lifetime: float = 3600.0,
        iam_delay: float = 0.0,
        latency: float = 0.0,
    ) -> None:
        self.clock = clock or SimClock(speed)
        self.admin_token = admin_token
        self.api_key = api_key
        self.crns = tuple(crns)
        self.token_lifetime = token_lifetime
        self.iam_delay = iam_delay
        self.latency = latency

        self._lock = threading.Lock()
        self._jobs: dict[str, ScriptedJob] = {}
        self._faults: list[_QueuedFault] = []
        self._tokens: dict[str, float] = {}
        self._issued: list[str] = []
        self._counts = _Counts()

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._bind_port = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    # Scripting

    def add(self, *jobs: ScriptedJob) -> None:
        """Add jobs; a job without `created_at` or `instance` gets the current time and CRN."""
        now = self.clock.now()
        with self._lock:
            for job in jobs:
                self._jobs[job.job_id] = dataclasses.replace(
                    job,
                    created_at=now if job.created_at is None else job.created_at,
                    instance=job.instance or self.crns[0],
                )

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def fail_next(
        self,
        kind: FaultKind,
        count: int = 1,
        *,
        retry_after: float | str | None = None,
        job_id: str | None = None,
        endpoint: Endpoint | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `count` matching requests with a fault instead of data.

        Without `job_id` it matches any job; without `endpoint` it matches the admin, job and
        metrics endpoints but not IAM, which must be named.
        """
        fault = Fault(kind, retry_after=retry_after, message=message)
        with self._lock:
            self._faults.append(_QueuedFault(fault, count, job_id, endpoint))

    def clear_faults(self) -> None:
        """Forget every fault queued by fail_next."""
        with self._lock:
            self._faults.clear()

    def revoke_tokens(self) -> None:
        """Forget every IAM token issued, so the next platform request answers 401."""
        with self._lock:
            self._tokens.clear()

    @property
    def issued_tokens(self) -> list[str]:
        """Every IAM access token issued, revoked or not, for checks that none leaks."""
        with self._lock:
            return list(self._issued)

    def view(self, job_id: str) -> JobView:
        """Compute the job as the API shows it now; raises KeyError for an unknown job."""
        with self._lock:
            job = self._jobs[job_id]
        return job.view(self.clock.now())

    # Counters

    @property
    def requests_by_path(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts.by_path)

    @property
    def requests_by_job(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts.by_job)

    @property
    def requests_by_endpoint(self) -> Counter[str]:
        """Requests per endpoint: "admin", "job", "metrics" and "iam"."""
        with self._lock:
            return Counter(self._counts.by_endpoint)

    @property
    def recent_requests(self) -> list[RecordedRequest]:
        """The last 1000 requests, oldest first."""
        with self._lock:
            return list(self._counts.recent)

    @property
    def iam_exchanges(self) -> int:
        """Number of requests to the IAM token endpoint, successful or not."""
        return self.requests_by_endpoint["iam"]

    def reset_counts(self) -> None:
        with self._lock:
            self._counts = _Counts()

    # URLs

    @property
    def origin(self) -> str:
        if self._port is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return f"http://127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        """Base URL of the admin flavour."""
        return f"{self.origin}/runtime"

    @property
    def platform_url(self) -> str:
        return f"{self.origin}/api"

    @property
    def iam_url(self) -> str:
        return f"{self.origin}/identity/token"

    # Lifecycle

    def start(self, port: int = 0) -> None:
        """Serve from a thread with its own event loop; returns once the port is bound.

        `port` 0 lets the OS choose; pass the old port to restart after `stop()`.
        """
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")

        ready = threading.Event()
        errors: list[BaseException] = []
        self._loop = asyncio.new_event_loop()
        self._bind_port = port
        self._thread = threading.Thread(
            target=self._serve, args=(ready, errors), name="ibm-api-sim", daemon=True
        )
        self._thread.start()
        ready.wait()
        if errors:
            self._thread.join()
            self._thread = None
            raise errors[0]

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._stop_server(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._thread = None
        self._loop = None

    def __enter__(self) -> IbmApiSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> IbmApiSimulator:
        await self._start_server()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._stop_server()

    def _serve(self, ready: threading.Event, errors: list[BaseException]) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start_server())
        except BaseException as exc:  # handed to start(), which raises it in the caller
            errors.append(exc)
            ready.set()
            return
        ready.set()
        self._loop.run_forever()

    async def _start_server(self) -> None:
        app = web.Application()
        app.router.add_get("/runtime/admin/jobs/{job_id}/metrics", self._admin_metrics)
        app.router.add_get("/api/v1/jobs/{job_id}", self._platform_job)
        app.router.add_get("/api/v1/jobs/{job_id}/metrics", self._platform_metrics)
        app.router.add_post("/identity/token", self._iam_token)

        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._bind_port)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def _stop_server(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._port = None

    # Handlers

    async def _admin_metrics(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        await self._pause(self.latency)
        fault = self._record(request, "admin", job_id)
        if fault is not None:
            return _fault_response(fault, legacy=True)

        if request.headers.get("Authorization") != f"Bearer {self.admin_token}":
            return _legacy_error(401, "Unauthorized: invalid or missing token", 3212)
        view = self._find_view(job_id, crn=None)
        if view is None:
            return _legacy_error(404, "Job not found., Error code: 3250", 3250)
        return web.json_response(_admin_body(view, self.clock))

    async def _platform_job(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        await self._pause(self.latency)
        view_or_error = self._platform_lookup(request, "job", job_id)
        if isinstance(view_or_error, web.Response):
            return view_or_error

        body = _platform_job_body(view_or_error, self.clock)
        if request.query.get("exclude_params") != "true":
            body["params"] = {"pubs": [["OPENQASM 3.0; ..."] * 50], "version": 2}
        return web.json_response(body)

    async def _platform_metrics(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        await self._pause(self.latency)
        view_or_error = self._platform_lookup(request, "metrics", job_id)
        if isinstance(view_or_error, web.Response):
            return view_or_error

        version = request.headers["IBM-API-Version"]
        return web.json_response(_platform_metrics_body(view_or_error, self.clock, version))

    def _platform_lookup(
        self, request: web.Request, endpoint: Endpoint, job_id: str
    ) -> JobView | web.Response:
        """Check a platform request as IBM does; return the job's view or the error answer."""
        fault = self._record(request, endpoint, job_id)
        if fault is not None:
            return _fault_response(fault, legacy=False)

        if not self._token_valid(request.headers.get("Authorization")):
            return _platform_error(401, "unauthorized", _STATUS_MESSAGES[401])
        crn = request.headers.get("Service-CRN")
        if not crn:
            return _platform_error(400, "bad_request", "The Service-CRN header is missing.")
        if not _is_api_version(request.headers.get("IBM-API-Version")):
            return _platform_error(
                400, "invalid_version", "The IBM-API-Version header must be YYYY-MM-DD."
            )

        view = self._find_view(job_id, crn=crn)
        if view is None:
            return _platform_error(404, "not_found", _STATUS_MESSAGES[404])
        return view

    async def _iam_token(self, request: web.Request) -> web.Response:
        fault = self._record(request, "iam", None)
        await self._pause(self.iam_delay)
        if fault is not None:
            return _iam_fault_response(fault)

        form = await request.post()
        if form.get("grant_type") != IAM_GRANT_TYPE or form.get("apikey") != self.api_key:
            return web.json_response(
                {
                    "errorCode": "BXNIM0415E",
                    "errorMessage": "Provided API key could not be found.",
                    "context": {"requestId": secrets.token_hex(8)},
                },
                status=400,
            )
        return web.json_response(self._issue_token())

    # State

    @staticmethod
    async def _pause(seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    def _record(self, request: web.Request, endpoint: Endpoint, job_id: str | None) -> Fault | None:
        """Count the request and return the fault it must answer, if any."""
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            service_crn=request.headers.get("Service-CRN"),
            api_version=request.headers.get("IBM-API-Version"),
        )
        with self._lock:
            self._counts.by_path[request.raw_path.partition("?")[0]] += 1
            self._counts.by_endpoint[endpoint] += 1
            self._counts.recent.append(recorded)
            if job_id is not None:
                self._counts.by_job[job_id] += 1
            return self._take_fault(endpoint, job_id)

    def _take_fault(self, endpoint: Endpoint, job_id: str | None) -> Fault | None:
        job = self._jobs.get(job_id) if job_id is not None else None
        if job is not None and job.fault is not None and endpoint != "iam":
            return job.fault

        for queued in self._faults:
            if queued.matches(endpoint, job_id):
                queued.remaining -= 1
                if queued.remaining <= 0:
                    self._faults.remove(queued)
                return queued.fault
        return None

    def _find_view(self, job_id: str, *, crn: str | None) -> JobView | None:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or (crn is not None and job.instance != crn):
            return None
        return job.view(self.clock.now())

    def _token_valid(self, authorization: str | None) -> bool:
        if authorization is None or not authorization.startswith("Bearer "):
            return False
        token = authorization.removeprefix("Bearer ")
        with self._lock:
            expires_at = self._tokens.get(token)
        return expires_at is not None and self.clock.now() < expires_at

    def _issue_token(self) -> dict[str, Any]:
        token = "sim-iam-" + secrets.token_urlsafe(24)
        now = self.clock.now()
        with self._lock:
            self._tokens[token] = now + self.token_lifetime
            self._issued.append(token)
        expiration = self.clock.wall(now + self.token_lifetime).timestamp()
        return {
            "access_token": token,
            "refresh_token": "not_supported",
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "expiration": int(expiration),
            "scope": "ibm openid",
        }


# Bodies


def _timestamp(clock: SimClock, seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return clock.wall(seconds).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _timestamps(view: JobView, clock: SimClock) -> dict[str, str | None]:
    job = view.job
    stamps = {"created": _timestamp(clock, job.created_at)}
    if view.running:
        stamps["running"] = _timestamp(clock, job.running_at)
    if view.finished:
        stamps["finished"] = _timestamp(clock, job.finished_at)
    return stamps


def _admin_body(view: JobView, clock: SimClock) -> dict[str, Any]:
    """Build the legacy admin metrics body; billed seconds are exact once the job has finished."""
    job = view.job
    body: dict[str, Any] = {
        "timestamps": _timestamps(view, clock),
        "num_circuits": 1,
        "num_qubits": [127],
        "circuit_depths": [2213],
        "qiskit_version": QISKIT_VERSION,
        "caller": "qiskit",
    }

    if view.running or view.finished:
        billed = job.final_billed if view.finished else view.pending_billed
        body["bss"] = {"seconds": billed}
        body["usage"] = {"quantum_seconds": billed, "seconds": billed}
        body["executions"] = 4000
    if not view.running and not view.finished:
        body["position_in_queue"] = view.position
        body["position_in_provider"] = view.position
    if not view.finished and job.running_at is not None:
        body["estimated_start_time"] = _timestamp(clock, job.running_at)
        body["estimated_completion_time"] = _timestamp(clock, job.finished_at)
    return body


def _platform_job_body(view: JobView, clock: SimClock) -> dict[str, Any]:
    job = view.job
    state: dict[str, Any] = {"status": view.status}
    display = view.status

    if view.finished and job.outcome == "failed":
        state.update(reason="Error raised during execution.", reason_code=1517)
    if view.finished and job.outcome == "ran_too_long":
        state.update(reason="Job exceeded its maximum execution time.", reason_code=RAN_TOO_LONG)
        display = "Cancelled - Ran too long"

    return {
        "id": job.job_id,
        "backend": job.backend,
        "state": state,
        "status": display,
        "created": _timestamp(clock, job.created_at),
        "program": {"id": job.program_id},
        "session_id": None,
        "tags": [],
    }


def _platform_metrics_body(view: JobView, clock: SimClock, version: str) -> dict[str, Any]:
    """Platform metrics; usage reads whole seconds while "pending", exact once "complete"."""
    billed: float = view.job.final_billed if view.usage_complete else view.pending_billed
    status = "complete" if view.usage_complete else "pending"
    if version >= QPU_CHARGE_VERSION:
        usage: dict[str, Any] = {"qpu_charge_time_seconds": billed, "status": status}
        legacy_billing = None
    else:
        usage = {"quantum_seconds": billed, "seconds": billed, "status": status}
        legacy_billing = {"seconds": billed}

    body: dict[str, Any] = {
        "caller": "qiskit_ibm_runtime~sampler.py",
        "timestamps": _timestamps(view, clock),
        "usage": usage,
        "qiskit_version": QISKIT_VERSION,
    }
    if legacy_billing is not None:
        body["bss"] = legacy_billing
    if view.finished and view.running:
        body["circuits_execution_time_ns"] = int(view.job.billed_seconds * 0.9 * 1e9)
    return body


def _is_api_version(value: str | None) -> bool:
    if value is None:
        return False
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True


# Errors


def _legacy_error(
    status: int, message: str, code: int, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"error": {"message": message, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def _platform_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {
        "trace": secrets.token_hex(16),
        "errors": [
            {
                "code": code,
                "message": message,
                "more_info": "https://cloud.ibm.com/apidocs/quantum-computing#error-handling",
            }
        ],
    }
    return web.json_response(body, status=status, headers=headers)


def _fault_response(fault: Fault, *, legacy: bool) -> web.Response:
    broken = _broken_body(fault)
    if broken is not None:
        return broken

    assert isinstance(fault.kind, int)
    message = fault.message or _STATUS_MESSAGES.get(fault.kind, f"HTTP {fault.kind}")
    headers = _retry_after_header(fault)
    if legacy:
        return _legacy_error(fault.kind, message, fault.kind, headers)
    return _platform_error(fault.kind, _error_code(fault.kind), message, headers)


def _iam_fault_response(fault: Fault) -> web.Response:
    broken = _broken_body(fault)
    if broken is not None:
        return broken

    assert isinstance(fault.kind, int)
    body = {
        "errorCode": f"BXNIM{fault.kind:04d}E",
        "errorMessage": fault.message or _STATUS_MESSAGES.get(fault.kind, "IAM error"),
    }
    return web.json_response(body, status=fault.kind, headers=_retry_after_header(fault))


def _broken_body(fault: Fault) -> web.Response | None:
    if fault.kind == "html":
        return web.Response(text=_MAINTENANCE_PAGE, content_type="text/html")
    if fault.kind == "truncated":
        return web.Response(text=_TRUNCATED_JSON, content_type="application/json")
    return None


def _retry_after_header(fault: Fault) -> dict[str, str] | None:
    if fault.retry_after is None:
        return None
    if isinstance(fault.retry_after, str):
        return {"Retry-After": fault.retry_after}
    return {"Retry-After": f"{fault.retry_after:g}"}


def _error_code(status: int) -> str:
    return {
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        429: "too_many_requests",
    }.get(status, "internal_error" if status >= 500 else "bad_request")
