"""The configuration reference in Markdown, generated from the Settings model."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_core import PydanticUndefined

from bot.config import Settings

HEADER = """# Configuration reference

Generated from `bot/config.py` by `jobmetrics-bot config-reference`; a test fails when this
file and the settings model disagree. Every setting is an environment variable (or a line in
`.env`); real environment variables win over `.env`. Empty values count as unset.

| Setting | Default | Meaning |
|---|---|---|
"""


def render_reference() -> str:
    rows = [_row(name) for name in Settings.model_fields]
    return HEADER + "\n".join(rows) + "\n"


def _row(name: str) -> str:
    field = Settings.model_fields[name]
    description = (field.description or "").replace("|", "\\|")
    return (
        f"| `{name.upper()}` | {_default(field.default, field.default_factory)} | {description} |"
    )


def _default(default: object, factory: object) -> str:
    if factory is not None:
        value = factory()  # type: ignore[operator]
        return f"`{value}`" if value else "none"
    if default is None or default is PydanticUndefined:
        return "none"
    if isinstance(default, SecretStr):
        return "hidden"
    value = getattr(default, "value", default)
    return f"`{value}`"
