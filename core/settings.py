"""Every setting, read once: the environment and `.env` through pydantic-settings. The only module of the
project that reads the environment (a test checks it); everything else asks ``current()`` or gets a
``Settings`` handed down.

Keys, webhook URLs and passwords are ``SecretStr``: never printed, logged, stored or shown. The dashboard
sees them only through ``dashboard_view()`` (no secrets) and ``dashboard_password_matches``; started by
``orusage dashboard`` it gets none of them in its environment (``child_environment``): the password reaches it
as a scrypt hash in a private file, the sign-in secrets in a private ``secrets.toml`` (``orusage.serve``).
"""

from __future__ import annotations

import functools
import hmac
import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core import access
from core.errors import ConfigError
from core.urls import http_url_problem, is_loopback

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
PASSWORD_HASH_FILE_ENV = "ORUSAGE_DASHBOARD_PASSWORD_HASH_FILE"
AUTH_CALLBACK_PATH = "/oauth2callback"  # where Streamlit's st.login expects the provider to send users back

# Settings whose values are secrets: never handed to the dashboard's process, never echoed.
SECRET_SETTINGS: tuple[str, ...] = (
    "OPENROUTER_MANAGEMENT_KEY",
    "OPENROUTER_MANAGEMENT_KEYS",
    "OPENROUTER_API_KEY",
    "ORUSAGE_WEBHOOK_URL",
    "ORUSAGE_SLACK_WEBHOOK_URL",
    "ORUSAGE_DISCORD_WEBHOOK_URL",
    "ORUSAGE_TEAMS_WEBHOOK_URL",
    "ORUSAGE_SMTP_PASSWORD",
    "ORUSAGE_DASHBOARD_PASSWORD",
    "ORUSAGE_AUTH_CLIENT_SECRET",
    "ORUSAGE_AUTH_COOKIE_SECRET",
    "ORUSAGE_RECEIVE_TOKEN",
)
# What the one account of OPENROUTER_MANAGEMENT_KEY is called in the store (queries.accounts).
DEFAULT_ACCOUNT = "default"
# An account's name: it appears in links, budget scopes (`account:NAME`) and file names.
ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
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
    openrouter_management_keys: SecretStr | None = Field(
        default=None,
        description="Several accounts in one store: NAME=KEY pairs separated by commas "
        "(work=sk-or-…,personal=sk-or-…); instead of OPENROUTER_MANAGEMENT_KEY.",
    )
    openrouter_api_key: SecretStr | None = Field(default=None, description="Optional regular API key.")
    openrouter_base_url: str = Field(default=DEFAULT_BASE_URL, description="OpenRouter's API root.")
    orusage_db: Path = Field(default_factory=_default_db, description="The DuckDB file.")
    orusage_http_timeout: float = Field(default=30.0, gt=0, le=600, description="Seconds per HTTP request.")
    orusage_http_deadline: float = Field(
        default=60.0, gt=0, le=3600, description="Seconds one HTTP request may take in all, however it trickles."
    )
    orusage_http_retries: int = Field(default=4, ge=0, le=20, description="Retries of a failed request.")
    orusage_history_days: int = Field(
        default=365, ge=31, le=365, description="How far back the analytics backfill reaches (OpenRouter: 365)."
    )
    orusage_analytics_rate: int = Field(
        default=60, ge=1, le=100_000, description="Analytics queries per minute (OpenRouter allows 64)."
    )
    orusage_analytics_pairs: bool = Field(
        default=True,
        description="Also keep the two-dimension analytics groupings (app × key, model × member, …): "
        "one more query per grouping (per key for key pairs) and run.",
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
    # The Broadcast receiver (`orusage receive`, docs/broadcast.md).
    orusage_receive_token: SecretStr | None = Field(
        default=None, description="Bearer token Broadcast deliveries must carry (the destination's header)."
    )
    orusage_receive_max_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024, description="Largest delivery accepted, bytes."
    )
    orusage_broadcast_destination: str | None = Field(
        default=None, description="Which Broadcast destination is the receiver (name or id), when several are."
    )
    orusage_delivery_deadline: float = Field(
        default=30.0, gt=0, le=600, description="Seconds one alert delivery (a webhook POST, an SMTP session) may take."
    )
    # The FOCUS export's billing account (BillingAccountId / BillingAccountName): your organization's id and
    # name as finance knows them; by default derived from the store (docs/focus.md).
    orusage_billing_account_id: str | None = Field(default=None, description="FOCUS BillingAccountId.")
    orusage_billing_account_name: str | None = Field(default=None, description="FOCUS BillingAccountName.")
    # The dashboard.
    orusage_dashboard_password: SecretStr | None = Field(
        default=None, description="When set, the dashboard asks for it before showing anything."
    )
    orusage_dashboard_password_hash_file: Path | None = Field(
        default=None,
        description="A file holding the password's scrypt hash (how `orusage dashboard` hands it to Streamlit).",
    )
    # Sign-in through an OpenID Connect provider (Streamlit's st.login): the four first together, or none.
    orusage_auth_server_metadata_url: str | None = Field(
        default=None, description="The provider's discovery document (…/.well-known/openid-configuration)."
    )
    orusage_auth_client_id: str | None = Field(default=None, description="The dashboard's client ID at the provider.")
    orusage_auth_client_secret: SecretStr | None = Field(default=None, description="Its client secret.")
    orusage_auth_allow: str | None = Field(
        default=None, description="Who may sign in: e-mail addresses and @domains, separated by commas or spaces."
    )
    orusage_auth_redirect_uri: str | None = Field(
        default=None,
        description="The dashboard's URL + /oauth2callback as the provider knows it (default: from --host/--port).",
    )
    orusage_auth_cookie_secret: SecretStr | None = Field(
        default=None, description="Signs the sign-in cookie (default: a random one per start)."
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
        if problem := http_url_problem(value):
            raise ValueError(problem)
        return value

    @field_validator(
        "openrouter_management_key",
        "openrouter_management_keys",
        "openrouter_api_key",
        "orusage_webhook_url",
        "orusage_slack_webhook_url",
        "orusage_discord_webhook_url",
        "orusage_teams_webhook_url",
        "orusage_smtp_password",
        "orusage_dashboard_password",
        "orusage_auth_client_secret",
        "orusage_auth_cookie_secret",
        "orusage_receive_token",
    )
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator(
        "orusage_webhook_url", "orusage_slack_webhook_url", "orusage_discord_webhook_url", "orusage_teams_webhook_url"
    )
    @classmethod
    def _secret_http_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked when read: a control character here used to fail every delivery, alerts stuck pending.
        if value is not None:
            text = value.get_secret_value().strip()
            if problem := http_url_problem(text):
                raise ValueError(f"{problem} (value not shown: it may hold a token)")
            return SecretStr(text)
        return value

    @field_validator(
        "orusage_auth_server_metadata_url",
        "orusage_auth_client_id",
        "orusage_auth_allow",
        "orusage_auth_redirect_uri",
        "orusage_dashboard_password_hash_file",
        mode="before",
    )
    @classmethod
    def _blank_text_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("orusage_auth_server_metadata_url", "orusage_auth_redirect_uri")
    @classmethod
    def _plain_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if problem := http_url_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("orusage_auth_redirect_uri")
    @classmethod
    def _callback_path(cls, value: str | None) -> str | None:
        if value is not None and not value.rstrip("/").endswith(AUTH_CALLBACK_PATH):
            raise ValueError(f"must end with {AUTH_CALLBACK_PATH} (Streamlit's sign-in callback)")
        return value.rstrip("/") if value is not None else None

    @field_validator("orusage_auth_allow")
    @classmethod
    def _allowlist(cls, value: str | None) -> str | None:
        if value is not None:
            access.parse_allowlist(value)  # ValueError names the bad entry
        return value

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

    @field_validator(
        "orusage_today", "orusage_now", "orusage_crashpoint", "orusage_broadcast_destination", mode="before"
    )
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

    @field_validator("openrouter_management_keys")
    @classmethod
    def _account_pairs(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_accounts(value.get_secret_value())  # the message names the pair, never the key
        return value

    @property
    def several_accounts(self) -> bool:
        """Accounts named by OPENROUTER_MANAGEMENT_KEYS (their names then appear in messages), not the one key."""
        return self.openrouter_management_keys is not None

    def accounts(self) -> tuple[tuple[str, SecretStr], ...]:
        """Each account to ingest, as (name, management key): OPENROUTER_MANAGEMENT_KEYS's pairs, or
        OPENROUTER_MANAGEMENT_KEY alone as the account ``default``."""
        if self.openrouter_management_keys is not None:
            if self.openrouter_management_key is not None:
                raise ConfigError(
                    "OPENROUTER_MANAGEMENT_KEY and OPENROUTER_MANAGEMENT_KEYS are both set.",
                    "Keep one: OPENROUTER_MANAGEMENT_KEYS=NAME=KEY,… for several accounts, or the single key.",
                )
            pairs = parse_accounts(self.openrouter_management_keys.get_secret_value())
            return tuple((name, SecretStr(key)) for name, key in pairs)
        return ((DEFAULT_ACCOUNT, self.management_key()),)

    def sign_in(self, host: str, port: int) -> SignIn | None:
        """The sign-in to serve with (``orusage dashboard``), None when it is off; a ConfigError when it is
        half set up (a dashboard must never run open because one setting is missing)."""
        named = {
            "ORUSAGE_AUTH_SERVER_METADATA_URL": self.orusage_auth_server_metadata_url,
            "ORUSAGE_AUTH_CLIENT_ID": self.orusage_auth_client_id,
            "ORUSAGE_AUTH_CLIENT_SECRET": self.orusage_auth_client_secret,
            "ORUSAGE_AUTH_ALLOW": self.orusage_auth_allow,
        }
        missing = [name for name, value in named.items() if value is None]
        if len(missing) == len(named):
            return None
        if missing:
            raise ConfigError(
                f"sign-in is half set up: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set.",
                "Set all of ORUSAGE_AUTH_SERVER_METADATA_URL, _CLIENT_ID, _CLIENT_SECRET and _ALLOW, or none "
                "(docs/dashboard.md#sign-in).",
            )
        redirect = self.orusage_auth_redirect_uri
        if redirect is None:
            if not is_loopback(host):
                raise ConfigError(
                    "ORUSAGE_AUTH_REDIRECT_URI is not set, and --host is not this machine.",
                    f"Set it to the dashboard's address as your users reach it, ending in {AUTH_CALLBACK_PATH}.",
                )
            shown = f"[{host}]" if ":" in host else host
            redirect = f"http://{shown}:{port}{AUTH_CALLBACK_PATH}"
        assert self.orusage_auth_server_metadata_url and self.orusage_auth_client_id and self.orusage_auth_allow
        assert self.orusage_auth_client_secret is not None
        return SignIn(
            server_metadata_url=self.orusage_auth_server_metadata_url,
            client_id=self.orusage_auth_client_id,
            client_secret=self.orusage_auth_client_secret,
            redirect_uri=redirect,
            cookie_secret=self.orusage_auth_cookie_secret,
            allow=access.parse_allowlist(self.orusage_auth_allow),
        )

    def config_chosen(self) -> bool:
        """True when the alerts config was named (``ORUSAGE_CONFIG``), not the default place."""
        return "orusage_config" in self.model_fields_set


@dataclass(frozen=True)
class SignIn:
    """What Streamlit's ``[auth]`` secrets need, and who may sign in."""

    server_metadata_url: str
    client_id: str
    client_secret: SecretStr
    redirect_uri: str
    cookie_secret: SecretStr | None  # None: a random one per start
    allow: tuple[str, ...]


def parse_accounts(text: str) -> list[tuple[str, str]]:
    """``work=sk-or-…,personal=sk-or-…`` as [(name, key), …]; a ValueError that never quotes a key."""
    pairs: list[tuple[str, str]] = []
    for number, part in enumerate((p.strip() for p in text.split(",")), start=1):
        if not part:
            continue
        name, sep, key = (x.strip() for x in part.partition("="))
        if not sep or not key:
            raise ValueError(f"pair {number} is not NAME=KEY")
        if not ACCOUNT_NAME.fullmatch(name):
            raise ValueError(
                f"pair {number}: an account name is 1-40 lower-case letters, digits, '-' or '_', starting with "
                "a letter or digit"
            )
        if any(name == seen for seen, _ in pairs):
            raise ValueError(f"account {name} is named twice")
        pairs.append((name, key))
    if not pairs:
        raise ValueError("no NAME=KEY pair")
    return pairs


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


def secret_values() -> tuple[str, ...]:
    """The value of every secret setting that is set (``core.scrub`` removes them from text from peers).

    Every ``SecretStr`` setting counts, not only ``SECRET_SETTINGS``. When the settings do not validate, the
    environment's values of the secret names are used, so an error about a bad setting is scrubbed too."""
    try:
        s = current()
    except ConfigError:
        names = (*SECRET_SETTINGS, PASSWORD_ENV)
        values = [v for name in names if (v := os.environ.get(name, "")).strip()]
        pairs = os.environ.get("OPENROUTER_MANAGEMENT_KEYS", "")  # each key alone too, however malformed
        values += [p.partition("=")[2].strip() or p.strip() for p in pairs.split(",") if p.strip()]
        return tuple(values)
    values = [getattr(s, name) for name in type(s).model_fields]
    found = [v.get_secret_value() for v in values if isinstance(v, SecretStr) and v.get_secret_value().strip()]
    if s.openrouter_management_keys is not None:  # each key alone, as a peer would echo it
        found += [key for _, key in parse_accounts(s.openrouter_management_keys.get_secret_value())]
    return tuple(found)


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
    sign_in_allow: tuple[str, ...] | None = None  # sign-in is on: who may come in (the secrets are Streamlit's)
    broadcast_destination: str | None = None  # which Broadcast destination is the receiver (name or id)


def dashboard_view() -> DashboardView:
    s = current()
    sign_in = s.orusage_auth_server_metadata_url is not None or s.orusage_auth_client_id is not None
    if sign_in and s.orusage_auth_allow is None:
        raise ConfigError(
            "sign-in is set up without ORUSAGE_AUTH_ALLOW: nobody would be let in.",
            "Set ORUSAGE_AUTH_ALLOW to the e-mail addresses and @domains that may sign in.",
        )
    if s.orusage_dashboard_password is None and s.orusage_dashboard_password_hash_file is not None:
        _password_hash(s.orusage_dashboard_password_hash_file)  # a file that cannot be read: say so before anything
    return DashboardView(
        db=s.orusage_db,
        config=s.orusage_config,
        config_chosen=s.config_chosen(),
        password_required=s.orusage_dashboard_password is not None
        or s.orusage_dashboard_password_hash_file is not None,
        today=s.orusage_today,
        sign_in_allow=access.parse_allowlist(s.orusage_auth_allow) if sign_in and s.orusage_auth_allow else None,
        broadcast_destination=s.orusage_broadcast_destination,
    )


def _password_hash(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii").strip()
        access.parse_hash(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a password hash"
        raise ConfigError(
            f"{PASSWORD_HASH_FILE_ENV} {path}: {reason}.", "Start the dashboard with `orusage dashboard`."
        ) from None
    return text


def dashboard_password_matches(given: str) -> bool:
    """Compare in constant time with ``ORUSAGE_DASHBOARD_PASSWORD``, or with the hash in
    ``ORUSAGE_DASHBOARD_PASSWORD_HASH_FILE`` (False when neither is set)."""
    s = current()
    expected = s.orusage_dashboard_password
    if expected is not None:
        return hmac.compare_digest(given.encode("utf-8"), expected.get_secret_value().encode("utf-8"))
    if s.orusage_dashboard_password_hash_file is not None:
        return access.password_matches_hash(given, _password_hash(s.orusage_dashboard_password_hash_file))
    return False


def child_environment(overrides: dict[str, str]) -> dict[str, str]:
    """The environment for a child process (the dashboard): ours without any secret setting, plus
    ``overrides``. What ``.env`` holds reaches the child the same way: it reads ``.env`` itself."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SECRET_SETTINGS}
    env.update(overrides)
    return env
