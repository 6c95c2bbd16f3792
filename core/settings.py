"""Every setting, read once: the environment and `.env` through pydantic-settings. The only module of the
project that reads the environment (a test checks it); everything else asks ``current()`` or gets a
``Settings`` handed down.

Keys, webhook URLs and passwords are ``SecretStr``: never printed, logged, stored or shown. The dashboard
sees them only through ``dashboard_view()`` (no secrets) and ``dashboard_password_matches``.
"""

from __future__ import annotations

import functools
import hmac
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
MANAGEMENT_KEYS_URL = "https://openrouter.ai/settings/management-keys"
ENV_FILE = ".env"

DB_ENV = "ORUSAGE_DB"
CONFIG_ENV = "ORUSAGE_CONFIG"
TODAY_ENV = "ORUSAGE_TODAY"  # tests pin "today" with this (YYYY-MM-DD); unset in normal use
NOW_ENV = "ORUSAGE_NOW"  # tests pin the alerts' clock with this (an ISO time, UTC); unset in normal use
CRASHPOINT_ENV = "ORUSAGE_CRASHPOINT"  # the fault tests' kill switch (queries.crashpoints)
DEBUG_ENV = "ORUSAGE_DEBUG"
PASSWORD_ENV = "ORUSAGE_DASHBOARD_PASSWORD"

# Settings whose values are secrets: never handed to the dashboard's process, never echoed.
SECRET_SETTINGS: tuple[str, ...] = (
    "OPENROUTER_MANAGEMENT_KEY",
    "OPENROUTER_API_KEY",
    "ORUSAGE_WEBHOOK_URL",
    "ORUSAGE_SLACK_WEBHOOK_URL",
    "ORUSAGE_DISCORD_WEBHOOK_URL",
    "ORUSAGE_TEAMS_WEBHOOK_URL",
    "ORUSAGE_SMTP_PASSWORD",
)
# Names a settings value may come from: what ``current()`` watches for changes.
_OURS = ("ORUSAGE_", "OPENROUTER_", "XDG_")


def data_dir() -> Path:
    """``$XDG_DATA_HOME/openrouter-usage`` (default ``~/.local/share/…``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "openrouter-usage"


def _default_db() -> Path:
    return data_dir() / "orusage.duckdb"


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/openrouter-usage/config.toml`` (default ``~/.config/…``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "openrouter-usage" / "config.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore")

    openrouter_management_key: SecretStr | None = Field(
        default=None, description="Management key: reads activity, keys, credits (and /key, /models)."
    )
    openrouter_api_key: SecretStr | None = Field(default=None, description="Optional regular API key.")
    openrouter_base_url: str = Field(default=DEFAULT_BASE_URL, description="OpenRouter's API root.")
    orusage_db: Path = Field(default_factory=_default_db, description="The DuckDB file.")
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
    orusage_discord_webhook_url: SecretStr | None = Field(default=None, description="Discord webhook.")
    orusage_teams_webhook_url: SecretStr | None = Field(
        default=None, description="Microsoft Teams Workflows webhook (an Adaptive Card per message)."
    )
    orusage_smtp_password: SecretStr | None = Field(default=None, description="Password for SMTP AUTH.")
    # The dashboard.
    orusage_dashboard_password: SecretStr | None = Field(
        default=None, description="When set, the dashboard asks for it before showing anything."
    )
    # Switches for debugging and for the tests: unset in normal use.
    orusage_debug: bool = Field(default=False, description="Show tracebacks of unexpected errors.")
    orusage_today: date | None = Field(default=None, description="Pin the UTC day (tests only).")
    orusage_now: datetime | None = Field(default=None, description="Pin the alerts' clock, UTC (tests only).")
    orusage_crashpoint: str | None = Field(default=None, description="Kill the process at this point (tests).")

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
        "orusage_discord_webhook_url",
        "orusage_teams_webhook_url",
        "orusage_smtp_password",
        "orusage_dashboard_password",
    )
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("orusage_db", "orusage_config", mode="before")
    @classmethod
    def _blank_path_is_default(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return _default_db() if info.field_name == "orusage_db" else default_config_path()
        return value

    @field_validator("orusage_db", "orusage_config")
    @classmethod
    def _expand_user(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("orusage_today", "orusage_now", "orusage_crashpoint", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("orusage_now")
    @classmethod
    def _naive_utc(cls, value: datetime | None) -> datetime | None:
        from datetime import UTC

        return value.astimezone(UTC).replace(tzinfo=None) if value is not None and value.tzinfo else value

    def management_key(self) -> SecretStr:
        if self.openrouter_management_key is None:
            raise ConfigError(
                "OPENROUTER_MANAGEMENT_KEY is not set.",
                f"Create a management key at {MANAGEMENT_KEYS_URL} and export it (or put it in .env). "
                "To try the tool without a key, run `orusage demo`.",
            )
        return self.openrouter_management_key

    def config_chosen(self) -> bool:
        """True when the alerts config was named (``ORUSAGE_CONFIG``), not the default place."""
        return "orusage_config" in self.model_fields_set


def load_settings(**overrides: object) -> Settings:
    """Settings, or a ConfigError naming the setting that is wrong (never echoing a secret value)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name} is invalid: {reason}.", f"Fix {name} in the environment or .env.") from None


def _watched() -> tuple[object, ...]:
    """What the settings are made of: our variables, HOME, and the ``.env`` file seen from here."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(_OURS) or k == "HOME"))
    try:
        stat = os.stat(ENV_FILE)
        dot: tuple[object, ...] = (os.getcwd(), stat.st_mtime_ns, stat.st_size)
    except OSError:
        dot = (None,)
    return (*env, dot)


@functools.lru_cache(maxsize=16)
def _settings_for(_watched: tuple[object, ...]) -> Settings:
    return load_settings()


def current() -> Settings:
    """The settings as the environment and ``.env`` give them now (parsed once per distinct environment)."""
    return _settings_for(_watched())


def debug_enabled() -> bool:
    """The debug switch, read without validating anything else (it decides how a bad setting is reported)."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def crashpoint() -> str | None:
    """``ORUSAGE_CRASHPOINT``, read on its own: checked on hot paths, and set only by the fault tests."""
    return os.environ.get(CRASHPOINT_ENV) or None


# ---- what the dashboard may know --------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardView:
    """The settings the dashboard uses: no secret among them."""

    db: Path
    config: Path
    config_chosen: bool  # named by ORUSAGE_CONFIG (else the default place)
    password_required: bool
    today: date | None  # the tests' pin


def dashboard_view() -> DashboardView:
    s = current()
    return DashboardView(
        db=s.orusage_db,
        config=s.orusage_config,
        config_chosen=s.config_chosen(),
        password_required=s.orusage_dashboard_password is not None,
        today=s.orusage_today,
    )


def dashboard_password_matches(given: str) -> bool:
    """Compare in constant time with ``ORUSAGE_DASHBOARD_PASSWORD`` (False when none is set)."""
    expected = current().orusage_dashboard_password
    if expected is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.get_secret_value().encode("utf-8"))


def child_environment(overrides: dict[str, str]) -> dict[str, str]:
    """The environment for a child process (the dashboard): ours without any secret setting, plus
    ``overrides``. What ``.env`` holds reaches the child the same way: it reads ``.env`` itself."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SECRET_SETTINGS}
    env.update(overrides)
    return env
