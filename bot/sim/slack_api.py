"""A local stand-in for the Slack Web API, for tests and the demo.

It is a real HTTP server on 127.0.0.1 with a free port, so the real slack_sdk clients talk to
it through `base_url=stand_in.url`. It records every call, replies to the methods the bot uses,
accepts Bolt's response_url posts at `/respond/<anything>`, and injects faults on request:
per-channel errors, HTTP 429 with Retry-After, HTTP 5xx and invalid_auth. Messages are stored,
so chat.update changes what `message()` returns and `transcript()` shows each living card once,
in its latest version, with its thread replies under it.

    with SlackStandIn() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.url)
        client.chat_postMessage(channel="C1", text="hello")
        assert slack.posts("C1")[0].params["text"] == "hello"
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

LOOPBACK = "127.0.0.1"
API_PREFIX = "/api/"
RESPOND_PREFIX = "/respond/"
RESPONSE_URL_METHOD = "response_url"
POSTING_METHODS = ("chat.postMessage", "chat.postEphemeral", RESPONSE_URL_METHOD)

TEAM_ID = "T0SIM"
REVOKED = "revoked"  # the team recorded for a call made with a revoked token
BOT_USER_ID = "U0SIMBOT"
BOT_ID = "B0SIMBOT"
# A member of every channel whose members were not set, so such a channel is never empty.
DEMO_USER_ID = "U0DEMO"
# Slack's conversations.members reference asks for a limit under 1,000, and the Slack SDK docs
# give 100 as the default. The stand-in clamps larger limits to the maximum.
DEFAULT_MEMBERS_LIMIT = 100
MAX_MEMBERS_LIMIT = 999

# Form-encoded clients send these parameters as JSON strings.
_JSON_PARAMS = ("blocks", "attachments", "metadata")
_DATE_TOKEN = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")
_SPECIAL = re.compile(r"<([!@#])([^|>]+)(?:\|([^>]*))?>")
_FIRST_TS_MICROSECONDS = 1_700_000_000_000_100
_THREAD_KEYS = ("thread_ts", "subtype", "reply_broadcast")
_MAX_BLOCKS = 50
_MAX_TEXT = 40_000
# How often serve_forever checks for shutdown, so also how long stop() can wait.
_SHUTDOWN_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class RecordedCall:
    """One request the stand-in received, with the status and body of its reply."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    path: str
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class _Faults:
    channel_errors: dict[str, str] = field(default_factory=dict)
    rate_limited: int = 0
    rate_limited_method: str | None = None
    retry_after: int = 1
    failures: int = 0
    failure_status: int = 500
    invalid_auth: bool = False


class SlackStandIn:
    """A Slack Web API stand-in served on 127.0.0.1 until `stop()` or the end of a `with`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[RecordedCall] = []
        self._faults = _Faults()
        self._ts_counter = itertools.count()
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._codes: dict[str, str] = {}
        # The WebSocket URL apps.connections.open hands out, for Socket Mode tests.
        self.socket_mode_url: str | None = None
        self._token_teams: dict[str, str] = {}
        self._members: dict[str, list[str]] = {}
        self._usergroups: dict[str, list[str]] = {}
        # User IDs in the order the stand-in first received them, as a dict for ordered uniqueness.
        self._seen_users: dict[str, None] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, port: int = 0) -> SlackStandIn:
        """Serve on `port` (0: a free port chosen by the OS, or the old port to restart)."""
        handler = type("_BoundHandler", (_Handler,), {"stand_in": self})
        self._server = _Server((LOOPBACK, port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _SHUTDOWN_POLL_SECONDS},
            name="slack-stand-in",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("The Slack stand-in is not running: call start() first.")
        port = self._server.server_address[1]
        return f"http://{LOOPBACK}:{port}"

    @property
    def url(self) -> str:
        """Base URL for WebClient(base_url=...), ending with '/' like https://slack.com/api/."""
        return self.root_url + API_PREFIX

    def response_url(self, name: str = "command") -> str:
        """Return a response_url for a simulated slash command. Posts to it are recorded."""
        return f"{self.root_url}{RESPOND_PREFIX}{name}"

    # -- workspaces ------------------------------------------------------------------------

    def authorization_code(self, team_id: str) -> str:
        """A code that oauth.v2.access exchanges for a bot token of `team_id`, as Slack
        hands one to the app's redirect URL after a person approves the install."""
        code = f"code-{team_id}-{next(self._ts_counter)}"
        with self._lock:
            self._codes[code] = team_id
        return code

    def team_of_token(self, token: str) -> str:
        """The workspace a bot token belongs to: issued tokens by their team, revoked ones
        as REVOKED, any other token as the default team."""
        with self._lock:
            return self._token_teams.get(token, TEAM_ID)

    def revoke_workspace(self, team_id: str) -> None:
        """Make every token issued to `team_id` answer token_revoked, as after an uninstall."""
        with self._lock:
            for token, team in self._token_teams.items():
                if team == team_id:
                    self._token_teams[token] = REVOKED

    def _oauth_access(self, params: dict[str, Any]) -> _Answer:
        team_id = self._codes.pop(str(params.get("code")), None)
        if team_id is None:
            return _error("invalid_code")

        token = f"xoxb-{team_id.lower()}-{secrets.token_hex(8)}"
        self._token_teams[token] = team_id
        body = {
            "ok": True,
            "app_id": "A0SIM",
            "authed_user": {"id": "U0INSTALLER"},
            "scope": str(params.get("scope") or "commands,chat:write"),
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": BOT_USER_ID,
            "team": {"id": team_id, "name": f"Stand-in team {team_id}"},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        return _Answer(200, body)

    # -- fault injection -------------------------------------------------------------------

    def fail_channel(self, channel: str, error: str = "channel_not_found") -> None:
        """Fail every later call about `channel` with ok:false and `error`."""
        with self._lock:
            self._faults.channel_errors[channel] = error

    def rate_limit_next(self, count: int, retry_after: int = 1, method: str | None = None) -> None:
        """Reply to the next `count` Web API calls (of `method` only, when given) with
        HTTP 429 and a Retry-After header."""
        with self._lock:
            self._faults.rate_limited = count
            self._faults.retry_after = retry_after
            self._faults.rate_limited_method = method

    def fail_next(self, count: int, status: int = 500) -> None:
        """Reply to the next `count` Web API calls with HTTP `status` and an empty body."""
        with self._lock:
            self._faults.failures = count
            self._faults.failure_status = status

    def fail_auth(self, invalid: bool = True) -> None:
        """Fail every Web API call with ok:false invalid_auth until called with False."""
        with self._lock:
            self._faults.invalid_auth = invalid

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = _Faults()

    # -- workspace data ----------------------------------------------------------------------

    def set_usergroup(self, usergroup: str, user_ids: list[str]) -> None:
        """Set the user IDs that usergroups.users.list returns for `usergroup`."""
        with self._lock:
            self._usergroups[usergroup] = list(user_ids)

    def set_members(self, channel: str, user_ids: list[str]) -> None:
        """Set the user IDs that conversations.members returns for `channel`, in this order.

        A channel without members set returns every user ID the stand-in has received so far,
        in the `user` or `user_id` parameter of any call, followed by DEMO_USER_ID.
        """
        with self._lock:
            self._members[channel] = list(user_ids)

    # -- inspection ------------------------------------------------------------------------

    def all_calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def calls(self, method: str) -> list[RecordedCall]:
        """Recorded calls of one Web API method, or of `response_url`, oldest first."""
        return [call for call in self.all_calls() if call.method == method]

    def posts(self, channel: str | None = None) -> list[RecordedCall]:
        """Successful chat.postMessage calls, to one channel or to all, oldest first."""
        return [
            call
            for call in self.calls("chat.postMessage")
            if call.ok and (channel is None or call.params.get("channel") == channel)
        ]

    def responses(self) -> list[RecordedCall]:
        """Posts to response_url, as Bolt's respond() sends them."""
        return self.calls(RESPONSE_URL_METHOD)

    def wait_for(
        self, predicate: Callable[[list[RecordedCall]], bool], timeout: float = 5.0
    ) -> list[RecordedCall]:
        """Block until `predicate(all calls)` is true and return the calls.

        Raises TimeoutError with the recorded methods when `timeout` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self._calls)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    methods = [call.method for call in self._calls]
                    raise TimeoutError(f"Condition not met after {timeout} s. Calls: {methods}")
                self._changed.wait(remaining)
            return list(self._calls)

    def thread(self, channel: str, ts: str) -> list[RecordedCall]:
        """Successful chat.postMessage replies in the thread of message `ts`, oldest first."""
        return [call for call in self.posts(channel) if call.params.get("thread_ts") == ts]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """Return the current version of a posted message, after any chat.update.

        Raises KeyError when no message `ts` was posted in `channel`.
        """
        with self._lock:
            stored = self._messages.get((channel, ts))
        if stored is None:
            raise KeyError(f"No message with ts {ts} was posted in channel {channel}.")
        return json.loads(json.dumps(stored))

    def reset(self) -> None:
        """Forget recorded calls, messages, channel members and seen users, and clear faults."""
        with self._lock:
            self._calls.clear()
            self._messages.clear()
            self._members.clear()
            self._usergroups.clear()
            self._seen_users.clear()
            self._faults = _Faults()

    @staticmethod
    def render(call: RecordedCall) -> str:
        """Render one recorded message as readable plain text, as `transcript()` does."""
        return _render_call(call)

    def transcript(self) -> str:
        """Render every message the bot sent as readable plain text, one entry per message.

        A living card, a top-level message that chat.update changed later, is one entry: its
        latest version, the number of updates, and its thread replies indented under it.
        """
        calls = [call for call in self.all_calls() if _is_message(call)]
        with self._lock:
            messages = dict(self._messages)
        return _Transcript(calls, messages).render()

    # -- request handling, called from server threads ---------------------------------------

    def _handle(self, path: str, params: dict[str, Any], headers: dict[str, str]) -> _Answer:
        if path.startswith(RESPOND_PREFIX):
            answer = _Answer(200, {"ok": True})
            self._record(RESPONSE_URL_METHOD, params, headers, path, answer)
            return answer

        method = path.removeprefix(API_PREFIX)
        with self._lock:
            fault = self._injected_fault(method, params, headers)
            answer = fault if fault is not None else self._answer(method, params, headers)
        self._record(method, params, headers, path, answer)
        return answer

    def _injected_fault(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> _Answer | None:
        faults = self._faults
        limited = faults.rate_limited_method in (None, method)
        if faults.rate_limited > 0 and limited:
            faults.rate_limited -= 1
            retry = {"Retry-After": str(faults.retry_after)}
            return _Answer(429, {"ok": False, "error": "ratelimited"}, retry)
        if faults.failures > 0:
            faults.failures -= 1
            return _Answer(faults.failure_status, None)
        if faults.invalid_auth:
            return _error("invalid_auth")
        if not _has_token(params, headers):
            return _error("not_authed")
        if headers.get("X-Stand-In-Team") == REVOKED:
            return _error("token_revoked")

        channel = params.get("channel")
        if isinstance(channel, str) and channel in faults.channel_errors:
            return _error(faults.channel_errors[channel])
        return None

    def _answer(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> _Answer:
        if method == "auth.test":
            return _auth_test(headers.get("X-Stand-In-Team") or TEAM_ID)
        if method == "oauth.v2.access":
            return self._oauth_access(params)
        if method == "apps.connections.open":
            if self.socket_mode_url is None:
                return _error("socket_mode_not_enabled")
            return _Answer(200, {"ok": True, "url": self.socket_mode_url})
        responders = {
            "chat.postMessage": self._post_message,
            "chat.update": self._update_message,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.info": _conversation_info,
            "conversations.members": self._conversation_members,
            "usergroups.users.list": self._usergroup_users,
        }
        responder = responders.get(method)
        if responder is None:
            return _Answer(200, {"ok": True})
        return responder(params)

    def _post_message(self, params: dict[str, Any]) -> _Answer:
        problem = _message_problem(params)
        if problem is not None:
            return _error(problem)

        channel = params["channel"]
        ts = self._next_ts()
        message = _stored_message(params, ts)
        self._messages[(channel, ts)] = message
        return _Answer(200, {"ok": True, "channel": channel, "ts": ts, "message": message})

    def _update_message(self, params: dict[str, Any]) -> _Answer:
        channel, ts = params.get("channel"), params.get("ts")
        if not channel:
            return _error("channel_not_found")
        if (channel, ts) not in self._messages:
            return _error("message_not_found")
        problem = _content_problem(params)
        if problem is not None:
            return _error(problem)

        # An update changes the content, never the thread a message belongs to.
        previous = self._messages[(channel, str(ts))]
        message = _stored_message(params, str(ts))
        for key in _THREAD_KEYS:
            if key in previous:
                message[key] = previous[key]
        self._messages[(channel, str(ts))] = message
        body = {"ok": True, "channel": channel, "ts": ts, "text": message["text"]}
        return _Answer(200, body | {"message": message})

    def _post_ephemeral(self, params: dict[str, Any]) -> _Answer:
        problem = _message_problem(params)
        if problem is None and not params.get("user"):
            problem = "user_not_in_channel"
        if problem is not None:
            return _error(problem)
        return _Answer(200, {"ok": True, "message_ts": self._next_ts()})

    def _usergroup_users(self, params: dict[str, Any]) -> _Answer:
        users = self._usergroups.get(str(params.get("usergroup")))
        if users is None:
            return _error("no_such_subteam")
        return _Answer(200, {"ok": True, "users": list(users)})

    def _conversation_members(self, params: dict[str, Any]) -> _Answer:
        channel = params.get("channel")
        if not channel:
            return _error("channel_not_found")
        limit = _members_limit(params.get("limit"))
        offset = _decode_cursor(params.get("cursor"))
        if limit is None:
            return _error("invalid_limit")
        if offset is None:
            return _error("invalid_cursor")

        members = self._members.get(channel)
        if members is None:
            members = list(dict.fromkeys([*self._seen_users, DEMO_USER_ID]))
        page = members[offset : offset + limit]
        more = offset + limit < len(members)
        next_cursor = _encode_cursor(offset + limit) if more else ""
        body = {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}
        return _Answer(200, body)

    def _next_ts(self) -> str:
        microseconds = _FIRST_TS_MICROSECONDS + 100 * next(self._ts_counter)
        seconds, fraction = divmod(microseconds, 1_000_000)
        return f"{seconds}.{fraction:06d}"

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        headers: dict[str, str],
        path: str,
        answer: _Answer,
    ) -> None:
        call = RecordedCall(
            method=method,
            params=params,
            headers=headers,
            path=path,
            at=time.time(),
            status=answer.status,
            response=answer.body or {},
        )
        with self._changed:
            self._calls.append(call)
            for name in ("user", "user_id"):
                user = params.get(name)
                if isinstance(user, str) and user:
                    self._seen_users.setdefault(user)
            self._changed.notify_all()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 refuses bursts of concurrent clients, which then sleep in retries.
    request_queue_size = 128


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    stand_in: SlackStandIn

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # The stand-in records calls itself, so stderr lines would only clutter output.

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        if not parts.path.startswith((API_PREFIX, RESPOND_PREFIX)):
            self._send(_Answer(404, {"ok": False, "error": "unknown_path"}))
            return

        params = dict(parse_qsl(parts.query))
        params |= _parse_body(self._read_body(), self.headers.get("Content-Type", ""))
        headers = {name: value for name, value in self.headers.items()}
        authorization = headers.pop("Authorization", None)
        token = (authorization or "").removeprefix("Bearer ").strip() or params.get("token")
        if token:
            # Kept as flags so tests can check which workspace's token was sent without
            # ever seeing the token.
            headers["X-Stand-In-Authorized"] = "yes"
            headers["X-Stand-In-Team"] = self.stand_in.team_of_token(str(token))
        self._send(self.stand_in._handle(parts.path, params, headers))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, answer: _Answer) -> None:
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        content_type = (
            "application/json; charset=utf-8" if answer.body is not None else "text/plain"
        )
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return {"_raw_body": text}
        return parsed if isinstance(parsed, dict) else {"_json_body": parsed}
    if "x-www-form-urlencoded" in content_type:
        return _decode_form(text)
    return {"_raw_body": text}


def _decode_form(text: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True))
    for name in _JSON_PARAMS:
        value = params.get(name)
        if isinstance(value, str):
            # A malformed value is left as sent, so a test can see it.
            with contextlib.suppress(json.JSONDecodeError):
                params[name] = json.loads(value)
    return params


def _has_token(params: dict[str, Any], headers: dict[str, str]) -> bool:
    return "X-Stand-In-Authorized" in headers or bool(params.get("token"))


def _error(code: str) -> _Answer:
    return _Answer(200, {"ok": False, "error": code})


def _message_problem(params: dict[str, Any]) -> str | None:
    if not params.get("channel"):
        return "channel_not_found"
    return _content_problem(params)


def _content_problem(params: dict[str, Any]) -> str | None:
    text, blocks = params.get("text"), params.get("blocks")
    if not text and not blocks and not params.get("attachments"):
        return "no_text"
    if blocks is not None and (not isinstance(blocks, list) or len(blocks) > _MAX_BLOCKS):
        return "invalid_blocks"
    if isinstance(text, str) and len(text) > _MAX_TEXT:
        return "msg_too_long"
    return None


def _stored_message(params: dict[str, Any], ts: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "text": params.get("text") or "",
        "ts": ts,
    }
    if params.get("blocks"):
        message["blocks"] = params["blocks"]
    if params.get("thread_ts"):
        message["thread_ts"] = params["thread_ts"]
        if _is_true(params.get("reply_broadcast")):
            message["subtype"] = "thread_broadcast"
            message["reply_broadcast"] = True
    return message


def _is_true(value: Any) -> bool:
    # JSON clients send a boolean, form-encoded ones a string.
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _members_limit(value: Any) -> int | None:
    if value is None or value == "":
        return DEFAULT_MEMBERS_LIMIT
    try:
        limit = int(value)
    except (TypeError, ValueError):
        return None
    return min(limit, MAX_MEMBERS_LIMIT) if limit > 0 else None


def _encode_cursor(offset: int) -> str:
    # Opaque like Slack's cursors, so a test cannot come to rely on their content.
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int | None:
    if cursor is None or cursor == "":
        return 0
    try:
        text = base64.b64decode(str(cursor), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    if prefix != "offset" or not number.isdigit():
        return None
    return int(number)


def _auth_test(team_id: str) -> _Answer:
    body = {
        "ok": True,
        "url": "https://stand-in.slack.test/",
        "team": f"Stand-in team {team_id}",
        "user": "jobmetrics",
        "team_id": team_id,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
    }
    return _Answer(200, body)


def _conversation_info(params: dict[str, Any]) -> _Answer:
    channel = params.get("channel")
    if not channel:
        return _error("channel_not_found")
    info = {
        "id": channel,
        "name": f"channel-{str(channel).lower()}",
        "is_channel": True,
        "is_private": False,
        "is_member": True,
        "is_archived": False,
    }
    return _Answer(200, {"ok": True, "channel": info})


# -- transcript --------------------------------------------------------------------------------


def _is_message(call: RecordedCall) -> bool:
    if call.method == "chat.update":
        return call.ok
    return call.method in POSTING_METHODS and call.ok


class _Transcript:
    """Transcript entries of message calls, with each living card folded into one entry."""

    def __init__(self, calls: list[RecordedCall], messages: dict[tuple[str, str], Any]):
        self._calls = calls
        self._messages = messages

        top_level = {_posted_key(call) for call in calls if _is_top_level_post(call)}
        updated = Counter(_updated_key(call) for call in calls if call.method == "chat.update")
        self._update_counts = {key: updated[key] for key in top_level & updated.keys()}
        self._replies: dict[tuple[str, str], list[RecordedCall]] = {
            key: [] for key in self._update_counts
        }
        for call in calls:
            thread = _thread_key(call)
            if call.method == "chat.postMessage" and thread in self._replies:
                self._replies[thread].append(call)
        self._reply_keys = {
            _posted_key(reply) for replies in self._replies.values() for reply in replies
        }

    def render(self) -> str:
        entries = []
        for call in self._calls:
            if self._folded(call):
                continue
            if call.method == "chat.postMessage" and _posted_key(call) in self._update_counts:
                entries.append(self._render_card(call))
            else:
                entries.append(_render_call(call))
        return "\n\n".join(entries)

    def _folded(self, call: RecordedCall) -> bool:
        """Tell whether the call is shown inside a card's entry rather than on its own."""
        if call.method == "chat.update":
            key = _updated_key(call)
            return key in self._update_counts or key in self._reply_keys
        return call.method == "chat.postMessage" and _thread_key(call) in self._replies

    def _render_card(self, call: RecordedCall) -> str:
        key = _posted_key(call)
        count = self._update_counts[key]
        times = "time" if count == 1 else "times"
        heading = f"[#{key[0]} ts={key[1]}] card, updated {count} {times}"

        lines = [heading, _indent(self._render_latest(call))]
        for reply in self._replies[key]:
            lines.append(_indent(self._render_reply(reply)))
        return "\n".join(lines)

    def _render_reply(self, reply: RecordedCall) -> str:
        heading = f"↳ reply ts={reply.response.get('ts')}"
        if _is_true(reply.params.get("reply_broadcast")):
            heading += ", also sent to channel"
        return heading + "\n" + _indent(self._render_latest(reply))

    def _render_latest(self, call: RecordedCall) -> str:
        stored = self._messages.get(_posted_key(call)) or call.params
        return _render_blocks(stored.get("blocks")) or _plain(str(stored.get("text") or ""))


def _is_top_level_post(call: RecordedCall) -> bool:
    return call.method == "chat.postMessage" and not call.params.get("thread_ts")


def _posted_key(call: RecordedCall) -> tuple[str, str]:
    return str(call.params.get("channel")), str(call.response.get("ts"))


def _updated_key(call: RecordedCall) -> tuple[str, str]:
    return str(call.params.get("channel")), str(call.params.get("ts"))


def _thread_key(call: RecordedCall) -> tuple[str, str] | None:
    thread_ts = call.params.get("thread_ts")
    if not thread_ts:
        return None
    return str(call.params.get("channel")), str(thread_ts)


def _render_call(call: RecordedCall) -> str:
    params = call.params
    channel = params.get("channel", "?")
    if call.method == "chat.postMessage":
        heading = f"[#{channel} ts={call.response.get('ts')}]"
        if params.get("thread_ts"):
            heading += f" in thread {params['thread_ts']}"
        if _is_true(params.get("reply_broadcast")):
            heading += ", also sent to channel"
    elif call.method == "chat.update":
        heading = f"[#{channel} ts={params.get('ts')} edited]"
    elif call.method == "chat.postEphemeral":
        heading = f"[#{channel} only visible to {params.get('user')}]"
    else:
        kind = params.get("response_type") or "ephemeral"
        heading = f"[reply via response_url {call.path.removeprefix(RESPOND_PREFIX)}, {kind}]"

    body = _render_blocks(params.get("blocks")) or _plain(str(params.get("text") or ""))
    return heading + "\n" + _indent(body)


def _render_blocks(blocks: Any) -> str:
    if not isinstance(blocks, list):
        return ""
    lines = [line for block in blocks for line in _render_block(block)]
    return "\n".join(lines)


def _render_block(block: Any) -> Iterator[str]:
    if not isinstance(block, dict):
        return
    kind = block.get("type")
    if kind == "divider":
        yield "----"
    if kind == "header":
        yield f"# {_plain(_text_of(block.get('text')))}"
    if isinstance(block.get("text"), dict) and kind != "header":
        yield _plain(_text_of(block["text"]))
    for field_object in block.get("fields") or []:
        yield "  " + _plain(_text_of(field_object)).replace("\n", ": ", 1)
    for element in block.get("elements") or []:
        yield from _render_element(kind, element)


def _render_element(block_kind: Any, element: Any) -> Iterator[str]:
    if not isinstance(element, dict):
        return
    if element.get("type") == "button":
        yield f"[button: {_plain(_text_of(element.get('text')))}]"
    elif block_kind == "context":
        yield "(" + _plain(_text_of(element)) + ")"


def _text_of(text_object: Any) -> str:
    if isinstance(text_object, dict):
        return str(text_object.get("text") or "")
    return ""


def _plain(mrkdwn: str) -> str:
    """Turn Slack markup into plain text: date fallbacks, link labels and @mentions."""
    text = _DATE_TOKEN.sub(r"\1", mrkdwn)
    text = _SPECIAL.sub(_render_special, text)
    text = _LINK.sub(r"\2 (\1)", text)
    text = _BOLD.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _render_special(match: re.Match[str]) -> str:
    sigil, name, label = match.groups()
    if label:
        return label if label.startswith(("@", "#")) else "@" + label
    if sigil == "!" and name.startswith("subteam^"):
        return "@" + name.removeprefix("subteam^")
    return ("#" if sigil == "#" else "@") + name


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
