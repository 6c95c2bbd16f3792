"""Settings from the environment and `.env` (pydantic-settings). Keys are SecretStr: never shown."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.client import DEFAULT_BASE_URL
from ingest.errors import MANAGEMENT_KEYS_URL
from queries.errors import ConfigError
from queries.store import default_db_path


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

    @field_validator("openrouter_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("openrouter_management_key", "openrouter_api_key")
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
