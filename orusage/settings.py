"""Settings from the environment and `.env` (pydantic-settings). Keys are SecretStr: never shown."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.client import DEFAULT_BASE_URL
from ingest.errors import MANAGEMENT_KEYS_URL
from queries.errors import ConfigError
from queries.store import default_db_path


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/openrouter-usage/config.toml`` (default ``~/.config/…``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "openrouter-usage" / "config.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    openrouter_management_key: SecretStr | None = Field(
        default=None, description="Management key: reads activity, keys, credits (and /key, /models)."
    )
    openrouter_api_key: SecretStr | None = Field(default=None, description="Optional regular API key.")
    openrouter_base_url: str = Field(default=DEFAULT_BASE_URL, description="OpenRouter's API root.")
    orusage_db: Path = Field(default_factory=default_db_path, description="The DuckDB file.")
    orusage_http_timeout: float = Field(default=30.0, gt=0, le=600, description="Seconds per HTTP request.")
    orusage_http_retries: int = Field(default=4, ge=0, le=20, description="Retries of a failed request.")
    orusage_history_days: int = Field(
        default=365, ge=31, le=365, description="How far back the analytics backfill reaches (OpenRouter: 365)."
    )
    orusage_analytics_rate: int = Field(
        default=60, ge=1, le=100_000, description="Analytics queries per minute (OpenRouter allows 64)."
    )
    # Per-generation records (ingest.generations): one /generation call per generation, hence a window and
    # a cap. 0 days turns the step off.
    orusage_generations_days: int = Field(
        default=2, ge=0, le=30, description="Fetch generations of the last N completed UTC days and today (0: off)."
    )
    orusage_generations_cap: int = Field(
        default=20_000, ge=1, le=1_000_000, description="At most this many new generations fetched per run."
    )
    orusage_generations_concurrency: int = Field(
        default=8, ge=1, le=64, description="/generation requests in flight at once."
    )
    orusage_generations_rate: float = Field(
        default=20.0, gt=0, le=10_000, description="/generation requests per second."
    )
    # Budgets and alerts (orusage.alerts). Webhook URLs carry tokens: SecretStr, like the keys.
    orusage_config: Path = Field(default_factory=default_config_path, description="The alerts config (TOML).")
    orusage_webhook_url: SecretStr | None = Field(default=None, description="Generic alert webhook (JSON POST).")
    orusage_slack_webhook_url: SecretStr | None = Field(default=None, description="Slack incoming webhook.")
    orusage_smtp_password: SecretStr | None = Field(default=None, description="Password for SMTP AUTH.")

    @field_validator("openrouter_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator(
        "openrouter_management_key",
        "openrouter_api_key",
        "orusage_webhook_url",
        "orusage_slack_webhook_url",
        "orusage_smtp_password",
    )
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    def management_key(self) -> SecretStr:
        if self.openrouter_management_key is None:
            raise ConfigError(
                "OPENROUTER_MANAGEMENT_KEY is not set.",
                f"Create a management key at {MANAGEMENT_KEYS_URL} and export it (or put it in .env). "
                "To try the tool without a key, run `orusage demo`.",
            )
        return self.openrouter_management_key


def load_settings(**overrides: object) -> Settings:
    """Settings, or a ConfigError naming the setting that is wrong (never echoing a secret value)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name} is invalid: {reason}.", f"Fix {name} in the environment or .env.") from None
