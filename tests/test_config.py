"""Settings: defaults, Heroku URLs, and one clear line for each invalid value."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from bot.domain.snapshot import ApiFlavor

CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc123:instance-1::"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "DATABASE_URL", "IBM_API_FLAVOR", "IBM_SERVICE_CRNS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_no_setup() -> None:
    settings = load_settings()

    assert settings.is_sqlite
    assert settings.ibm_api_flavor is ApiFlavor.ADMIN
    assert settings.ibm_base_url == "https://api.quantum-computing.ibm.com/runtime"


def test_heroku_postgres_url_is_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:5432/app")

    assert load_settings().sqlalchemy_url == "postgresql+psycopg://u:p@db.example:5432/app"


def test_platform_region_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IBM_API_FLAVOR", "platform")
    monkeypatch.setenv("IBM_QUANTUM_REGION", "eu-de")
    monkeypatch.setenv("IBM_SERVICE_CRNS", f"{CRN}, {CRN.replace('instance-1', 'instance-2')}")

    settings = load_settings()

    assert settings.ibm_base_url == "https://eu-de.quantum.cloud.ibm.com/api"
    assert len(settings.ibm_service_crns) == 2


def test_empty_values_in_env_file_mean_unset(tmp_path) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=\nBILLED_SECONDS_THRESHOLD=\n")

    settings = load_settings()

    assert settings.slack_bot_token is None
    assert settings.billed_seconds_threshold is None


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("POLL_INTERVAL_SECONDS", "soon", "POLL_INTERVAL_SECONDS='soon'"),
        ("POLL_INTERVAL_SECONDS", "0", "POLL_INTERVAL_SECONDS='0'"),
        ("BILLED_SECONDS_THRESHOLD", "-5", "BILLED_SECONDS_THRESHOLD='-5'"),
        ("ONCALL_MENTION", "@oncall", "use <!here>"),
        ("PORT", "99999", "PORT='99999'"),
        ("IBM_API_FLAVOR", "legacy", "IBM_API_FLAVOR='legacy'"),
        ("IBM_QUANTUM_REGION", "mars", "'mars' is not a known region"),
        ("IBM_SERVICE_CRNS", "instance-1", "is not a service CRN"),
        ("LOG_LEVEL", "loud", "not a logging level"),
    ],
)
def test_invalid_value_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError) as raised:
        load_settings()

    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_platform_without_instances_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IBM_API_FLAVOR", "platform")

    with pytest.raises(ConfigError, match="IBM_SERVICE_CRNS is missing"):
        load_settings()


def test_invalid_secret_value_is_hidden() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(slack_signing_secret=["s3cr3t-value"])

    assert "SLACK_SIGNING_SECRET=<hidden>" in str(raised.value)
    assert "s3cr3t-value" not in str(raised.value)
