"""The alerts config file (TOML, ``ORUSAGE_CONFIG``): budgets, cost centres (teams), rule settings and
delivery channels. Every bad value is one line naming the file, the budget (or section) and the field.

Secrets never live in the file's error messages: webhook URLs are held as ``SecretStr`` from the moment
they are read, and the SMTP password is refused in the file (it belongs in ``ORUSAGE_SMTP_PASSWORD``).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from pydantic import SecretStr

from core.errors import ConfigError
from core.settings import ACCOUNT_NAME, CONFIG_ENV
from core.urls import has_control, host_problem, http_url_problem
from orusage.alerts.periods import PERIODS, RESET_PERIODS

DEFAULT_THRESHOLDS = (50.0, 80.0, 100.0)
MIN_LIMIT_USD = 0.01  # a cent: below it a budget's percentages mean nothing (1e-300 printed 300 digits)

# Scope kinds as written in the file, and which may share one scope (or one team) without double counting.
SCOPE_KINDS = ("account", "model", "provider", "key", "workspace", "app", "member", "tag", "team")
_FAMILY = {
    "account": "account",
    "model": "model",
    "provider": "provider",
    "key": "key",
    "workspace": "key",
    "app": "app",
    "member": "member",
    "tag": "tag",
    "team": "team",
}
_SCOPE_HINT = (
    "Use account (every account), account:NAME, model:GLOB, provider:NAME, key:NAME-OR-HASH, workspace:NAME, "
    "app:NAME, member:NAME-OR-EMAIL, tag:KEY=VALUE or team:NAME; one kind per scope (keys and workspaces may mix)."
)


@dataclass(frozen=True)
class SpikeRule:
    factor: float = 3.0
    window_days: int = 14
    min_usd: float = 5.0


@dataclass(frozen=True)
class Budget:
    name: str
    scope: str  # as written, for messages: 'team:research', 'model:anthropic/*, model:openai/*'
    entries: tuple[tuple[str, str], ...]  # (kind, value); value '' for the account
    period: str  # day | week | month (total: a mirrored key limit that never resets)
    limit_usd: float
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    include_byok: bool = True
    forecast: bool = True
    spike: SpikeRule | None = SpikeRule()
    mirrored: bool = False  # mirrors the limit OpenRouter enforces on a key


@dataclass(frozen=True)
class Team:
    name: str
    entries: tuple[tuple[str, str], ...]  # (key|workspace|app|member, value)


@dataclass(frozen=True)
class AccountRules:
    stale_hours: float = 26.0  # 0: off
    credits_days: float = 7.0  # 0: off
    expiry_days: int = 14  # 0: off
    price_change_days: int = 7  # 0: off
    mirror_key_limits: bool = False
    remind_hours: float = 24.0  # an open alert that still holds is sent again after this long (0: never)
    key_limit_percent: float = 80.0  # a key's usage reaches this share of its limit, or is projected to (0: off)
    key_expiry_days: int = 14  # a key expires within this many days (0: off)
    key_unused_days: int = 30  # an enabled key unused for this many days (0: off)
    key_no_limit: bool = True  # a key that spent in the last 30 days has no limit


@dataclass(frozen=True)
class AnomalyRules:
    """Spend anomalies found without configuration (docs/budgets-and-alerts.md#anomalies)."""

    enabled: bool = True
    dimensions: tuple[str, ...] = ("model", "key", "app", "provider")
    min_observations: int = 4  # same-weekday days needed before a series is watched
    mad_factor: float = 6.0  # above median + k × 1.4826 × MAD of the same weekdays …
    median_factor: float = 2.0  # … and above this many times that median …
    floor_usd: float = 1.0  # … and at least this much in the day
    guard_factor: float = 3.0  # or above this many times the mean of the last guard_days (0: off)
    guard_days: int = 90
    new_spender_usd: float = 5.0  # a key or app never seen before spends this much in a day (0: off)
    shift_factor: float = 1.5  # cost per request this many times its usual, from a pricier model (0: off)
    min_hours: float = 6.0  # today is judged pro rata once this many hours of it are in


@dataclass(frozen=True)
class EmailConfig:
    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    username: str | None = None
    starttls: bool = True
    ssl: bool = False
    ca_file: str | None = None  # a CA bundle to trust (e.g. a private CA); default: the system's
    auth_without_tls: bool = False  # AUTH over a plain connection: refused unless set (the password would travel clear)


@dataclass(frozen=True)
class DeliveryConfig:
    webhook: bool = False
    webhook_url: SecretStr | None = None
    slack: bool = False
    slack_url: SecretStr | None = None
    slack_blocks: bool = True
    discord: bool = False
    discord_url: SecretStr | None = None
    teams: bool = False
    teams_url: SecretStr | None = None
    email: EmailConfig | None = None
    stdout: bool = False


@dataclass(frozen=True)
class Config:
    path: Path
    budgets: tuple[Budget, ...] = ()
    teams: Mapping[str, Team] = field(default_factory=dict)
    rules: AccountRules = AccountRules()
    anomalies: AnomalyRules = AnomalyRules()
    delivery: DeliveryConfig = DeliveryConfig()

    def fail(self, where: str, name: str, problem: str, hint: str = "") -> NoReturn:
        raise ConfigError(f"{self.path}: {where}: {name}: {problem}.", hint)


class _Section:
    """One table of the file being checked: reads fields and names them in errors."""

    def __init__(self, path: Path, where: str, data: Any) -> None:
        self.path, self.where = path, where
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: {where}: expected a table.", "See docs/budgets-and-alerts.md.")
        self.data: dict[str, Any] = data

    def fail(self, name: str, problem: str, hint: str = "") -> NoReturn:
        raise ConfigError(f"{self.path}: {self.where}: {name}: {problem}.", hint)

    def only(self, *allowed: str) -> None:
        for name in self.data:
            if name not in allowed:
                self.fail(name, "unknown field", f"Fields here: {', '.join(allowed)}.")

    def number(self, name: str, default: float, low: float, high: float, *, above: bool = False) -> float:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(name, f"expected a number, got {_kind(value)}")
        if not math.isfinite(value):  # TOML has nan and inf; nan passes every comparison below
            self.fail(name, f"{value!r} is not a finite number")
        if value < low or value > high or (above and value == low):
            self.fail(name, f"{value!r} is out of range (must be {'>' if above else '>='} {low:g} and <= {high:g})")
        return float(value)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"expected a whole number, got {_kind(value)}")
        if not low <= value <= high:
            self.fail(name, f"{value!r} is out of range ({low} to {high})")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.fail(name, f"expected true or false, got {_kind(value)}")
        return value

    def text(self, name: str, default: str | None = None) -> str:
        value = self.data.get(name, default)
        if value is None:
            self.fail(name, "missing")
        if not isinstance(value, str) or not value.strip():
            self.fail(name, f"expected a non-empty string, got {_kind(value)}")
        return self._printable(name, value.strip())

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name, [])
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
            self.fail(name, "expected a list of non-empty strings")
        return tuple(self._printable(name, v.strip()) for v in items)

    def _printable(self, name: str, value: str) -> str:
        # Names end up in e-mail subjects, Slack blocks and terminals: a line break or escape sequence there
        # is an injected header or a forged line.
        if has_control(value):
            self.fail(name, "holds a control character (a line break, tab or escape)")
        return value

    def url(self, name: str) -> SecretStr | None:
        value = self.data.get(name)
        if value is None:
            return None
        problem = http_url_problem(value.strip()) if isinstance(value, str) else "expected an http:// or https:// URL"
        if problem:
            self.fail(name, f"{problem} (value not shown: it may hold a token)")
        return SecretStr(value.strip())


def _kind(value: object) -> str:
    return {bool: "true/false", str: "a string", list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def default_budget_spike(rules: _Section) -> SpikeRule:
    return SpikeRule(
        factor=rules.number("spike_factor", 3.0, 1.0, 1000.0, above=True),
        window_days=rules.integer("spike_window_days", 14, 3, 90),
        min_usd=rules.number("spike_min_usd", 5.0, 0.0, 1e9),
    )


def _thresholds(section: _Section, default: tuple[float, ...]) -> tuple[float, ...]:
    value = section.data.get("thresholds", list(default))
    if not isinstance(value, list) or not value:
        section.fail("thresholds", "expected a list of percentages, e.g. [50, 80, 100]")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or not 0 < item <= 1000:
            section.fail("thresholds", f"{item!r} is not a percentage above 0 and at most 1000")
    return tuple(sorted({float(v) for v in value}))


def _scope(section: _Section, teams: Mapping[str, Team]) -> tuple[str, tuple[tuple[str, str], ...]]:
    raw = section.data.get("scope")
    if raw is None:
        section.fail("scope", "missing", _SCOPE_HINT)
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        section.fail("scope", 'expected a string such as "account" or "team:research", or a list of them')
    entries: list[tuple[str, str]] = []
    for item in items:
        kind, _, value = item.strip().partition(":")
        kind, value = kind.strip().lower(), value.strip()
        if kind not in SCOPE_KINDS:
            section.fail("scope", f"unknown scope kind {kind!r}", _SCOPE_HINT)
        if kind == "account" and value and not ACCOUNT_NAME.fullmatch(value):
            section.fail(
                "scope", f"account:{value} is not an account name", "Names are as in OPENROUTER_MANAGEMENT_KEYS."
            )
        if kind != "account" and not value:
            section.fail("scope", f"{kind} needs a value", _SCOPE_HINT)
        if kind == "tag" and not _is_tag(value):
            section.fail(
                "scope", f"tag:{value} is not tag:KEY=VALUE", "e.g. tag:project=alpha (a key of the trace metadata)."
            )
        if kind == "team" and value not in teams:
            known = ", ".join(sorted(teams)) or "none"
            section.fail("scope", f"no team {value!r} in [teams] (known: {known})")
        entries.append((kind, value))
    families = {_FAMILY[k] for k, _ in entries}
    everything = any(k == "account" and not v for k, v in entries)  # a bare `account`: all of them
    if len(families) > 1 or ((everything or "team" in families) and len(entries) > 1):
        section.fail("scope", "mixes kinds that would count the same spend twice", _SCOPE_HINT)
    return ", ".join(f"{k}:{v}" if v else k for k, v in entries), tuple(entries)


def _budget(path: Path, index: int, data: Any, teams: Mapping[str, Team], alerts: _Section, names: set[str]) -> Budget:
    name = data.get("name") if isinstance(data, dict) else None
    where = f"budget {name!r}" if isinstance(name, str) and name.strip() else f"budget #{index}"
    section = _Section(path, where, data)
    section.only("name", "scope", "period", "limit_usd", "thresholds", "byok", "forecast", "spike",
                 "spike_factor", "spike_window_days", "spike_min_usd")  # fmt: skip
    name = section.text("name")
    if name in names:
        section.fail("name", "another budget has this name", "Budget names must be unique.")
    scope, entries = _scope(section, teams)
    period = section.text("period")
    period = RESET_PERIODS.get(period, period)
    if period not in PERIODS:
        section.fail("period", f"{period!r} is not a period", "Use day, week (Monday to Sunday, UTC) or month.")
    if "limit_usd" not in section.data:
        section.fail("limit_usd", "missing", "The budget's limit in US dollars, e.g. limit_usd = 100.")
    limit = section.number("limit_usd", 0.0, MIN_LIMIT_USD, 1e12)
    defaults = default_budget_spike(alerts)
    spike_rule = SpikeRule(
        factor=section.number("spike_factor", defaults.factor, 1.0, 1000.0, above=True),
        window_days=section.integer("spike_window_days", defaults.window_days, 3, 90),
        min_usd=section.number("spike_min_usd", defaults.min_usd, 0.0, 1e9),
    )
    return Budget(
        name=name,
        scope=scope,
        entries=entries,
        period=period,
        limit_usd=limit,
        thresholds=_thresholds(section, _thresholds(alerts, DEFAULT_THRESHOLDS)),
        include_byok=section.boolean("byok", True),
        forecast=section.boolean("forecast", True),
        spike=spike_rule if section.boolean("spike", True) else None,
    )


def _is_tag(value: str) -> bool:
    key, equals, tag_value = value.partition("=")
    return bool(equals and key.strip() and tag_value.strip()) and len(key) <= 100 and len(tag_value) <= 200


def _team(path: Path, name: str, data: Any) -> Team:
    section = _Section(path, f"team {name!r}", data)
    section.only("keys", "workspaces", "apps", "members", "tags")
    kinds = ("keys", "workspaces", "apps", "members", "tags")
    entries = [(kind[:-1], value) for kind in kinds for value in section.texts(kind)]
    if not entries:
        section.fail("keys", "a team needs keys, workspaces, apps, members or tags")
    for kind, value in entries:
        if kind == "tag" and not _is_tag(value):
            section.fail("tags", f"{value!r} is not KEY=VALUE", 'e.g. tags = ["project=alpha"].')
    if len({_FAMILY[k] for k, _ in entries}) > 1:
        field_name = next(f"{k}s" for k, _ in entries if k in ("app", "member", "tag"))
        section.fail(field_name, "mixes kinds that would count the same spend twice", _SCOPE_HINT)
    return Team(name, tuple(entries))


def _delivery(path: Path, data: Any) -> DeliveryConfig:
    section = _Section(path, "[delivery]", data)
    section.only("webhook", "slack", "discord", "teams", "email", "stdout")
    webhook = slack = discord = teams = None
    if "webhook" in section.data:
        webhook = _Section(path, "[delivery.webhook]", section.data["webhook"])
        webhook.only("url")
    if "slack" in section.data:
        slack = _Section(path, "[delivery.slack]", section.data["slack"])
        slack.only("url", "blocks")
    if "discord" in section.data:
        discord = _Section(path, "[delivery.discord]", section.data["discord"])
        discord.only("url")
    if "teams" in section.data:
        teams = _Section(path, "[delivery.teams]", section.data["teams"])
        teams.only("url")
    stdout = section.data.get("stdout", False)
    if isinstance(stdout, dict):
        _Section(path, "[delivery.stdout]", stdout).only()
        stdout = True
    if not isinstance(stdout, bool):
        section.fail("stdout", "expected true or false")
    return DeliveryConfig(
        webhook=webhook is not None,
        webhook_url=webhook.url("url") if webhook else None,
        slack=slack is not None,
        slack_url=slack.url("url") if slack else None,
        slack_blocks=slack.boolean("blocks", True) if slack else True,
        discord=discord is not None,
        discord_url=discord.url("url") if discord else None,
        teams=teams is not None,
        teams_url=teams.url("url") if teams else None,
        email=_email(path, section.data["email"]) if "email" in section.data else None,
        stdout=stdout,
    )


def _email(path: Path, data: Any) -> EmailConfig:
    section = _Section(path, "[delivery.email]", data)
    if "password" in section.data:
        section.fail("password", "not allowed in the file", "Put the SMTP password in ORUSAGE_SMTP_PASSWORD.")
    section.only("host", "port", "from", "to", "username", "starttls", "ssl", "ca_file", "auth_without_tls")
    sender = section.text("from")
    to = section.texts("to")
    if not to:
        section.fail("to", "missing", 'e.g. to = ["ops@example.com"]')
    for address in (sender, *to):
        if "@" not in address or any(c.isspace() or c in ",;<>" for c in address):
            section.fail("from" if address == sender else "to", f"{address!r} is not an e-mail address")
    host = section.text("host")
    if host_problem(host):
        section.fail("host", f"{host!r} is not a host name or an IP address")
    ssl = section.boolean("ssl", False)
    starttls = section.boolean("starttls", not ssl)
    username = section.text("username") if "username" in section.data else None
    auth_without_tls = section.boolean("auth_without_tls", False)
    if username and not (ssl or starttls) and not auth_without_tls:
        section.fail(
            "username",
            "AUTH over a connection without TLS would send the password in the clear",
            "Use starttls = true or ssl = true; if the server is on a network you trust, set auth_without_tls = true.",
        )
    return EmailConfig(
        host=host,
        port=section.integer("port", 465 if ssl else 587, 1, 65535),
        sender=sender,
        to=to,
        username=username,
        starttls=starttls,
        ssl=ssl,
        ca_file=section.text("ca_file") if "ca_file" in section.data else None,
        auth_without_tls=auth_without_tls,
    )


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    for name in data:
        if name not in ("alerts", "anomalies", "teams", "budget", "delivery"):
            raise ConfigError(
                f"{path}: {name}: unknown section.",
                "Sections: [alerts], [anomalies], [teams.NAME], [[budget]], [delivery.*].",
            )
    alerts = _Section(path, "[alerts]", data.get("alerts", {}))
    alerts.only("stale_hours", "credits_days", "expiry_days", "price_change_days", "mirror_key_limits",
                "thresholds", "spike_factor", "spike_window_days", "spike_min_usd", "remind_hours",
                "key_limit_percent", "key_expiry_days", "key_unused_days", "key_no_limit")  # fmt: skip
    rules = AccountRules(
        stale_hours=alerts.number("stale_hours", 26.0, 0.0, 24 * 365),
        credits_days=alerts.number("credits_days", 7.0, 0.0, 3650),
        expiry_days=alerts.integer("expiry_days", 14, 0, 3650),
        price_change_days=alerts.integer("price_change_days", 7, 0, 3650),
        mirror_key_limits=alerts.boolean("mirror_key_limits", False),
        remind_hours=alerts.number("remind_hours", 24.0, 0.0, 24 * 365),
        key_limit_percent=alerts.number("key_limit_percent", 80.0, 0.0, 100.0),
        key_expiry_days=alerts.integer("key_expiry_days", 14, 0, 3650),
        key_unused_days=alerts.integer("key_unused_days", 30, 0, 3650),
        key_no_limit=alerts.boolean("key_no_limit", True),
    )
    default_budget_spike(alerts)  # checked once here, so an error names [alerts] rather than a budget
    _thresholds(alerts, DEFAULT_THRESHOLDS)
    teams_data = _Section(path, "[teams]", data.get("teams", {})).data
    teams = {name: _team(path, name, value) for name, value in teams_data.items()}
    raw_budgets = data.get("budget", [])
    if not isinstance(raw_budgets, list):
        raise ConfigError(f"{path}: budget: expected [[budget]] tables.", "Write each budget as [[budget]].")
    budgets: list[Budget] = []
    for index, raw in enumerate(raw_budgets, start=1):
        budgets.append(_budget(path, index, raw, teams, alerts, {b.name for b in budgets}))
    delivery = _delivery(path, data["delivery"]) if "delivery" in data else DeliveryConfig()
    anomalies = _anomalies(path, data.get("anomalies", {}))
    return Config(path=path, budgets=tuple(budgets), teams=teams, rules=rules, anomalies=anomalies, delivery=delivery)


ANOMALY_DIMENSIONS = ("model", "key", "app", "provider")


def _anomalies(path: Path, data: Any) -> AnomalyRules:
    section = _Section(path, "[anomalies]", data)
    section.only("enabled", "dimensions", "min_observations", "mad_factor", "median_factor", "floor_usd",
                 "guard_factor", "guard_days", "new_spender_usd", "shift_factor", "min_hours")  # fmt: skip
    dimensions = section.texts("dimensions") if "dimensions" in section.data else ANOMALY_DIMENSIONS
    for dimension in dimensions:
        if dimension not in ANOMALY_DIMENSIONS:
            section.fail("dimensions", f"{dimension!r} is not watched", f"Use any of {', '.join(ANOMALY_DIMENSIONS)}.")
    return AnomalyRules(
        enabled=section.boolean("enabled", True),
        dimensions=tuple(dict.fromkeys(dimensions)),
        min_observations=section.integer("min_observations", 4, 3, 12),
        mad_factor=section.number("mad_factor", 6.0, 0.0, 100.0, above=True),
        median_factor=section.number("median_factor", 2.0, 1.0, 100.0),
        floor_usd=section.number("floor_usd", 1.0, 0.0, 1e9),
        guard_factor=section.number("guard_factor", 3.0, 0.0, 100.0),
        guard_days=section.integer("guard_days", 90, 14, 365),
        new_spender_usd=section.number("new_spender_usd", 5.0, 0.0, 1e9),
        shift_factor=section.number("shift_factor", 1.5, 0.0, 100.0),
        min_hours=section.number("min_hours", 6.0, 0.0, 24.0),
    )


def load_config(path: Path) -> Config:
    """Read and check the file; a ConfigError (exit 2) names the file, the budget and the field."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"the alerts config {path} does not exist.",
            f"Create it (docs/budgets-and-alerts.md has an example) or set {CONFIG_ENV}.",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the alerts config {path}: {exc.strerror}.", f"Check {CONFIG_ENV}.") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}.", "Fix the line it names.") from None
    return parse_config(data, path)
