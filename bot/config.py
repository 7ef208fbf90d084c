"""Settings, read from the environment and `.env`: the only reader of environment variables."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.snapshot import ApiFlavor

ADMIN_API_URL = "https://api.quantum-computing.ibm.com/runtime"
PLATFORM_REGION_URLS = {
    "us-east": "https://quantum.cloud.ibm.com/api",
    "eu-de": "https://eu-de.quantum.cloud.ibm.com/api",
}
IAM_TOKEN_URL = "https://iam.cloud.ibm.com/identity/token"
SLACK_API_URL = "https://slack.com/api/"

_MENTION = re.compile(
    r"^(<!(here|channel|everyone)>|<!subteam\^[A-Z0-9]+(\|[^>]*)?>|<@[UW][A-Z0-9]+>)$"
)


_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_NUMBER = re.compile(r"^[0-9]+(\.[0-9]*)?$")
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]*)?)\s*(s|m|h)$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def _duration_seconds(text: str) -> float:
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration; use seconds (90), or 90s, 5m, 1.5h")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it, its value and the fix."""


class Settings(BaseSettings):
    """Every setting of the bot. Field names are the environment variable names, lowercased."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )

    slack_bot_token: SecretStr | None = Field(
        None, description="Bot token (xoxb-...) used to post alerts and cards."
    )
    slack_signing_secret: SecretStr | None = Field(
        None, description="Signing secret that verifies requests to POST /slack/events."
    )
    slack_app_token: SecretStr | None = Field(
        None, description="App-level token (xapp-...); when set, `serve` uses Socket Mode."
    )
    slack_api_url: str = Field(SLACK_API_URL, description="Base URL of the Slack Web API.")
    slack_client_id: str | None = Field(
        None,
        description="App client ID. With SLACK_CLIENT_SECRET it turns on multi-workspace installs "
        "at /slack/install; SLACK_BOT_TOKEN is then not used.",
    )
    slack_client_secret: SecretStr | None = Field(
        None, description="App client secret, for the OAuth install flow."
    )

    ibm_api_flavor: ApiFlavor = Field(
        ApiFlavor.ADMIN,
        description="`admin` for the legacy admin metrics endpoint, `platform` for the IBM "
        "Quantum Platform API.",
    )
    ibm_quantum_api_url: str | None = Field(
        None,
        description="Base URL of the IBM API. Default: the legacy runtime URL for `admin`, the "
        "URL of IBM_QUANTUM_REGION for `platform`.",
    )
    ibm_quantum_region: str = Field(
        "us-east", description="Platform region (us-east or eu-de) when no URL is given."
    )
    ibm_quantum_token: SecretStr | None = Field(
        None, description="Static bearer token for the IBM API."
    )
    ibm_cloud_api_key: SecretStr | None = Field(
        None, description="IBM Cloud API key, exchanged at the IAM endpoint for bearer tokens."
    )
    ibm_iam_url: str = Field(IAM_TOKEN_URL, description="IBM Cloud IAM token endpoint.")
    ibm_service_crns: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated service instance CRNs, tried in order (platform only).",
    )
    ibm_api_version: str = Field(
        "2026-04-15", description="IBM-API-Version header pinned on every platform call."
    )
    ibm_timeout_seconds: float = Field(20.0, gt=0, description="Timeout of one IBM API call.")
    ibm_max_requests_per_second: float = Field(
        10.0,
        gt=0,
        description="IBM API requests per second one process may send; with several "
        "processes, set it to the rate allowed in total divided by the number of processes.",
    )

    database_url: str = Field(
        "sqlite:///jobmetrics.sqlite3",
        description="SQLAlchemy URL. SQLite file by default; postgres:// URLs are accepted.",
    )
    poll_interval_seconds: float = Field(
        60.0, ge=0.05, description="Seconds between two polls of one watched job."
    )
    queue_alert_min_gap_seconds: float = Field(
        300.0, ge=0, description="Minimum seconds between two queue-move replies of one job."
    )
    billed_seconds_threshold: float | None = Field(
        None, gt=0, description="Default billed-seconds threshold of a new watch."
    )
    oncall_channel: str | None = Field(
        None, description="Channel ID that also receives usage alerts."
    )
    oncall_mention: str | None = Field(
        None,
        description="Mention put in on-call alerts: <!here>, <@U123> or <!subteam^S123>.",
    )
    operator_channel: str | None = Field(
        None,
        description="Channel ID notified once when the IBM API degrades and once when it recovers.",
    )
    operator_team_id: str | None = Field(
        None,
        description="Workspace (team) ID of OPERATOR_CHANNEL. Needed with multi-workspace "
        "installs, so that the notices are posted with that workspace's token.",
    )
    allowed_channels: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated channel IDs where jobs may be queried and watched; "
        "empty allows every channel.",
    )
    allowed_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated user IDs who may query and watch jobs; with "
        "ALLOWED_USERGROUP, members of either may. Both empty allows everyone.",
    )
    allowed_usergroup: str | None = Field(
        None,
        description="User group ID (S0123ABCD) whose members may query and watch jobs; needs "
        "the usergroups:read scope.",
    )
    admin_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated user IDs who may stop watches, snooze and change "
        "channel settings; empty leaves that to whoever may query and watch.",
    )
    port: int = Field(3000, ge=0, le=65535, description="HTTP port of `serve`.")
    host: str = Field("0.0.0.0", description="Address `serve` listens on.")
    log_level: str = Field("INFO", description="Logging level (DEBUG, INFO, WARNING, ERROR).")
    log_format: Literal["text", "json"] = Field(
        "text", description="`text` for one plain line per event, `json` for one JSON object."
    )

    @field_validator(
        "ibm_service_crns", "allowed_channels", "allowed_users", "admin_users", mode="before"
    )
    @classmethod
    def _split_crns(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_channels")
    @classmethod
    def _check_channels(cls, value: list[str]) -> list[str]:
        for channel in value:
            if not _CHANNEL_ID.match(channel):
                raise ValueError(
                    f"{channel!r} is not a channel ID; copy the ID (C0123ABCD) from the "
                    "channel's details"
                )
        return value

    @field_validator("allowed_users", "admin_users")
    @classmethod
    def _check_users(cls, value: list[str]) -> list[str]:
        for user in value:
            if not _USER_ID.match(user):
                raise ValueError(
                    f"{user!r} is not a user ID; copy the member ID (U0123ABCD) from the "
                    "person's profile"
                )
        return value

    @field_validator("allowed_usergroup")
    @classmethod
    def _check_usergroup(cls, value: str | None) -> str | None:
        if value and not _USERGROUP_ID.match(value):
            raise ValueError(
                f"{value!r} is not a user group ID; it starts with S, for example S0123ABCD"
            )
        return value or None

    @field_validator("ibm_service_crns")
    @classmethod
    def _check_crns(cls, value: list[str]) -> list[str]:
        for crn in value:
            if not crn.startswith("crn:v1:") or len(crn.split(":")) < 8:
                raise ValueError(f"{crn!r} is not a service CRN; expected crn:v1:...:...")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database(cls, value: str) -> str:
        if not value.startswith(
            ("sqlite:", "postgres://", "postgresql://", "postgresql+psycopg://")
        ):
            raise ValueError(
                "only SQLite and PostgreSQL are supported; use sqlite:///file.sqlite3 or "
                "postgresql://user:password@host:5432/name"
            )
        return value

    @field_validator("billed_seconds_threshold", mode="before")
    @classmethod
    def _parse_duration(cls, value: object) -> object:
        if isinstance(value, str) and value.strip() and not _NUMBER.match(value.strip()):
            return _duration_seconds(value.strip())
        return value

    @field_validator("oncall_channel", "operator_channel")
    @classmethod
    def _check_channel(cls, value: str | None) -> str | None:
        if value and not _CHANNEL_ID.match(value):
            raise ValueError(
                f"{value!r} is not a channel ID; copy the ID (C0123ABCD) from the channel's details"
            )
        return value or None

    @field_validator("oncall_mention")
    @classmethod
    def _check_mention(cls, value: str | None) -> str | None:
        if value and not _MENTION.match(value):
            raise ValueError(
                f"{value!r} is not a Slack mention; use <!here>, <@U123ABC> or <!subteam^S123ABC>"
            )
        return value or None

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"{value!r} is not a logging level; use DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @field_validator("ibm_quantum_region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        if value not in PLATFORM_REGION_URLS:
            known = ", ".join(PLATFORM_REGION_URLS)
            raise ValueError(f"{value!r} is not a known region; use one of {known} or set a URL")
        return value

    @model_validator(mode="after")
    def _check_platform(self) -> Settings:
        if self.ibm_api_flavor is ApiFlavor.PLATFORM and not self.ibm_service_crns:
            raise ValueError(
                "IBM_SERVICE_CRNS is missing; the platform API needs at least one instance CRN"
            )
        return self

    @cached_property
    def ibm_base_url(self) -> str:
        if self.ibm_quantum_api_url:
            return self.ibm_quantum_api_url.rstrip("/")
        if self.ibm_api_flavor is ApiFlavor.PLATFORM:
            return PLATFORM_REGION_URLS[self.ibm_quantum_region]
        return ADMIN_API_URL

    @cached_property
    def sqlalchemy_url(self) -> str:
        """The database URL with Heroku's `postgres://` turned into psycopg 3's dialect."""
        url = self.database_url
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment and the file named by ENV_FILE (default
    `.env`), turning a validation failure into one ConfigError line."""
    env_file = os.environ.get("ENV_FILE", ".env")
    if env_file != ".env" and not Path(env_file).is_file():
        raise ConfigError(f"invalid setting ENV_FILE={env_file!r}: no such file")
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[arg-type,call-arg]
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        reason = error["msg"].removeprefix("Value error, ")
        if not error["loc"]:
            # A check across several settings: its input is every setting, secrets included.
            lines.append(f"invalid settings: {reason}")
            continue
        name = "_".join(str(part) for part in error["loc"]).upper()
        shown = _shown_value(name, error.get("input"))
        lines.append(f"invalid setting {name}={shown}: {reason}")
    return "; ".join(lines)


def _shown_value(name: str, value: object) -> str:
    """Return the value as an error message may show it: secrets hidden, URL passwords masked."""
    if _looks_secret(name):
        return "<hidden>"
    if isinstance(value, str):
        return repr(_URL_PASSWORD.sub(r"\1***@", value))
    return repr(value)


_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def _looks_secret(name: str) -> bool:
    return any(word in name for word in ("TOKEN", "SECRET", "KEY"))


def sqlite_path(settings: Settings) -> Path | None:
    """Return the SQLite file path of the settings, or None for another database."""
    if not settings.is_sqlite:
        return None
    return Path(settings.sqlalchemy_url.removeprefix("sqlite:///"))
