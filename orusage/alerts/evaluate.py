"""Read what the rules need from the store (through ``queries.budgets``) and run the rules: the thin I/O
edge between the database and the pure ``rules``/``forecast`` functions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from core.errors import ConfigError
from core.forecast import MAX_HISTORY_DAYS, Forecast, project
from orusage.alerts import rules
from orusage.alerts.config import Budget, Config
from orusage.alerts.findings import CREDITS, AlertKey, Finding, Recovery
from orusage.alerts.key_rules import key_outcomes
from orusage.alerts.periods import RESET_PERIODS, TOTAL, current_period
from orusage.alerts.plan import ACTIVE, StoredAlert
from orusage.alerts.watch import anomaly_outcomes
from queries import accounts, alert_state, budget_periods, credits, key_hygiene
from queries import alert_facts as af
from queries import budgets as q

if TYPE_CHECKING:
    import duckdb

_KIND = {
    "account": q.ACCOUNT,
    "model": q.MODELS,
    "provider": q.PROVIDERS,
    "key": q.KEYS,
    "workspace": q.KEYS,
    "app": q.APPS,
    "member": q.MEMBERS,
    "tag": q.TAGS,
}


@dataclass
class Evaluation:
    facts: list[rules.BudgetFacts] = field(default_factory=list)
    forecasts: dict[str, Forecast | None] = field(default_factory=dict)
    outcomes: list[Finding | Recovery] = field(default_factory=list)
    teams: list[tuple[str, str, str]] = field(default_factory=list)  # (team, key|app|member|tag, value)
    warnings: list[str] = field(default_factory=list)
    # (budget, period kind, label, start, end, limit, spend): the current periods, recorded as seen
    seen_periods: list[tuple[str, str, str, date, date, float, float]] = field(default_factory=list)
    closed_periods: list[tuple[str, str, float]] = field(default_factory=list)  # (budget, label, final spend)


class _Resolver:
    """Turns a config's scope entries into ``queries.budgets.Scope``; unknown keys/workspaces are errors."""

    def __init__(self, con: duckdb.DuckDBPyConnection, config: Config) -> None:
        self.con, self.config = con, config
        self.seen: dict[str, set[str]] = {}
        self.warnings: list[str] = []

    def entries(self, where: str, field_name: str | None, entries: Sequence[tuple[str, str]]) -> q.Scope:
        """``field_name`` None: a team's entries, named by their own field (keys, workspaces, …)."""
        if entries and entries[0][0] == "team":
            team = self.config.teams[entries[0][1]]
            return self.entries(f"team {team.name!r}", None, team.entries)
        if not entries or entries[0] == ("account", ""):
            return q.Scope(q.ACCOUNT)
        kind = _KIND[entries[0][0]]
        values: list[str] = []
        for entry_kind, value in entries:
            values.extend(self._values(where, field_name or f"{entry_kind}s", entry_kind, value))
        return q.Scope(kind, tuple(dict.fromkeys(values)))

    def _values(self, where: str, field_name: str, kind: str, value: str) -> list[str]:
        if kind == "account":
            if value not in accounts.known(self.con):
                self.warnings.append(f"{where}: no account {value!r} is stored (OPENROUTER_MANAGEMENT_KEYS names them)")
            return [value]
        if kind == "model":
            found = af.matching_models(self.con, [value])
            if not found:
                self.warnings.append(f"{where}: no stored model matches {value!r}")
            return found
        if kind == "key":
            hashes = af.key_hashes(self.con, value)
            if not hashes:
                self._unknown(where, field_name, f"no API key named {value!r} (or with that hash) is stored")
            return hashes
        if kind == "workspace":
            in_workspace = af.workspace_key_hashes(self.con, value)
            if in_workspace is None:
                self._unknown(where, field_name, f"no workspace {value!r} (id, name or slug) is stored")
            return in_workspace or []
        plural = _KIND[kind]
        if plural not in self.seen:
            self.seen[plural] = af.seen_values(self.con, plural)
        if value not in self.seen[plural]:
            self.warnings.append(f"{where}: no stored traffic for {kind} {value!r}")
        return [value]

    def _unknown(self, where: str, field_name: str, problem: str) -> NoReturn:
        raise ConfigError(
            f"{self.config.path}: {where}: {field_name}: {problem}.",
            "Check the name against `orusage status` or the dashboard, or run `orusage ingest` first.",
        )


def mirrored_budgets(con: duckdb.DuckDBPyConnection, taken: set[str]) -> list[Budget]:
    """The limits OpenRouter enforces on keys, as budgets named 'key limit: NAME'."""
    limits = af.key_limits(con)
    names = [k.name for k in limits]
    out = []
    for key in limits:
        name = f"key limit: {key.name}" + (f" ({key.hash[:8]})" if names.count(key.name) > 1 else "")
        if name in taken:
            continue
        period = RESET_PERIODS.get(key.limit_reset or "", TOTAL)
        out.append(
            Budget(
                name=name,
                scope=f"key:{key.name}",
                entries=(("key", key.hash),),
                period=period,
                limit_usd=key.limit,
                include_byok=key.include_byok,
                forecast=period != TOTAL,
                spike=None,
                mirrored=True,
            )
        )
    return out


def _budget_facts(
    con: duckdb.DuckDBPyConnection, budget: Budget, scope: q.Scope, today: date, first_known: date | None
) -> rules.BudgetFacts:
    period = current_period(budget.period, today)
    if period.kind == TOTAL:
        lifetime = next((k.lifetime_usage for k in af.key_limits(con) if (("key", k.hash),) == budget.entries), 0.0)
        return rules.BudgetFacts(budget, period, lifetime, None, None, rules.KEYS_TODAY, {})
    window = max(MAX_HISTORY_DAYS, (budget.spike.window_days + 1) if budget.spike else 0)
    first = today - timedelta(days=window)
    if first_known is not None:
        first = max(first, first_known)
    history = q.daily_spend(con, scope, first, today - timedelta(days=1), budget.include_byok) if first_known else {}
    assert period.start is not None
    completed = sum(v for d, v in history.items() if d >= period.start)
    so_far = q.today_so_far(con, scope, today, budget.include_byok)
    return rules.BudgetFacts(
        budget,
        period,
        completed,
        so_far.usd if so_far else None,
        so_far.as_of if so_far else None,
        today_source(scope),
        history,
    )


def today_source(scope: q.Scope) -> str:
    if scope.from_keys:
        return rules.KEYS_TODAY
    return rules.RECORDS_TODAY if scope.kind == q.TAGS else rules.HOURS_TODAY


def _forecast(f: rules.BudgetFacts, now: datetime, scale: Callable[[date], float] | None = None) -> Forecast | None:
    if f.period.end is None:
        return None
    midnight = datetime(now.year, now.month, now.day)
    fraction = (now - midnight).total_seconds() / 86400
    return project(
        f.history,
        today=now.date(),
        end=f.period.end,
        spent=f.spend,
        today_known=f.today is not None,
        day_fraction=fraction,
        scale=scale,
    )


def evaluate(
    con: duckdb.DuckDBPyConnection, config: Config, now: datetime, stored: Sequence[StoredAlert]
) -> Evaluation:
    """Every budget's facts and forecast, and what every rule finds, as of ``now`` (naive UTC)."""
    today = now.date()
    result = Evaluation()
    resolver = _Resolver(con, config)
    active: list[AlertKey] = [s.key for s in stored if s.status == ACTIVE]
    budgets = list(config.budgets)
    if config.rules.mirror_key_limits:
        budgets += mirrored_budgets(con, {b.name for b in budgets})
    first_known = q.known_from(con)
    for budget in budgets:
        scope = resolver.entries(f"budget {budget.name!r}", "scope", budget.entries)
        facts = _budget_facts(con, budget, scope, today, first_known)
        # shown on the Budgets page even when it does not alert
        forecast = _forecast(facts, now, af.expiry_scale(con, scope, today, facts.period.end))
        result.facts.append(facts)
        result.forecasts[budget.name] = forecast
        result.outcomes += rules.threshold_findings(facts, now)
        outcome = rules.forecast_outcome(facts, forecast)
        if outcome is not None:
            result.outcomes.append(outcome)
        result.outcomes += rules.spike_outcomes(facts, today, active)
        _periods(con, budget, scope, facts, today, result)
    for team in config.teams.values():
        scope = resolver.entries(f"team {team.name!r}", None, team.entries)
        kind = {q.KEYS: "key", q.APPS: "app", q.MEMBERS: "member", q.TAGS: "tag"}[scope.kind]
        result.teams += [(team.name, kind, value) for value in scope.values]

    credit_alerts = [(s.key, s.status) for s in stored if s.key.kind == CREDITS]
    result.outcomes += rules.credits_outcomes(credits.runway(con, now), config.rules.credits_days, credit_alerts)
    result.outcomes += rules.stale_outcomes(af.last_good_ingest(con), now, config.rules.stale_hours, active)
    r = config.rules
    keys = key_hygiene.key_facts(con, now)
    issues = key_hygiene.issues(
        keys,
        now,
        limit_percent=r.key_limit_percent,
        expiry_days=r.key_expiry_days,
        unused_days=r.key_unused_days,
        no_limit=r.key_no_limit,
    )
    result.outcomes += key_outcomes(issues, r, active, {k.hash: k.name for k in keys})
    result.outcomes += anomaly_outcomes(con, config.anomalies, now, active)
    states: dict[str, list[af.ModelState]] = defaultdict(list)
    for state in af.model_states(con, af.models_in_use(con, today - timedelta(days=30))):
        states[state.permaslug].append(state)
    result.outcomes += rules.model_findings(states, now, config.rules.price_change_days, config.rules.expiry_days)
    result.warnings = list(dict.fromkeys(resolver.warnings))
    return result


def _periods(
    con: duckdb.DuckDBPyConnection,
    budget: Budget,
    scope: q.Scope,
    facts: rules.BudgetFacts,
    today: date,
    result: Evaluation,
) -> None:
    """Record the current period as seen; evaluate, whole and once, every seen period that has ended and
    whose last day is now final (a backfill never alerts: only periods seen as current are evaluated)."""
    period = facts.period
    if period.start is None or period.end is None or not alert_state.has_operations(con):
        return
    result.seen_periods.append(
        (budget.name, period.kind, period.label, period.start, period.end, budget.limit_usd, facts.spend)
    )
    for ended in budget_periods.open_ended(con, budget.name, today):
        last_day = ended.end - timedelta(days=1)
        if not budget_periods.day_final(con, last_day, rules.SETTLE_HOURS):
            continue
        final = sum(q.daily_spend(con, scope, ended.start, last_day, budget.include_byok).values())
        result.closed_periods.append((budget.name, ended.period_label, final))
        found = rules.period_end_finding(budget, ended.period_label, ended.limit_usd, final, last_day)
        if found is not None:
            result.outcomes.append(found)


def page_rows(e: Evaluation, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Budgets page's rows: one per budget, and its period's cumulative line and forecast band."""
    statuses: list[dict[str, Any]] = []
    days: list[dict[str, Any]] = []
    for f in e.facts:
        b, fc = f.budget, e.forecasts.get(f.budget.name)
        limit = b.limit_usd
        statuses.append(
            {
                "budget": b.name,
                "scope": b.scope,
                "mirrored": b.mirrored,
                "period": f.period.kind,
                "period_label": f.period.label,
                "period_start": f.period.start,
                "period_end": f.period.end,
                "limit_usd": limit,
                "spend_usd": f.spend,
                "today_usd": f.today,
                "today_as_of": f.today_as_of,
                "include_byok": b.include_byok,
                "thresholds": ",".join(f"{t:g}" for t in b.thresholds),
                "forecast_usd": fc.total if fc else None,
                "forecast_low": fc.low if fc else None,
                "forecast_high": fc.high if fc else None,
                "forecast_cross": fc.crosses(limit) if fc else None,
                "over_since": f.over_since(),
                "note": f.note(),
                "evaluated_at": now,
            }
        )
        if f.period.start is None:
            continue
        running = 0.0
        day = f.period.start
        while day < now.date():
            running += f.history.get(day, 0.0)
            days.append({"budget": b.name, "date": day, "actual_usd": running})
            day += timedelta(days=1)
        today_actual = running + f.today if f.today is not None else None
        for fd in fc.days if fc else ():
            actual = today_actual if fd.date == now.date() else None
            days.append(
                {
                    "budget": b.name,
                    "date": fd.date,
                    "actual_usd": actual,
                    "forecast_usd": fd.expected,
                    "low_usd": fd.low,
                    "high_usd": fd.high,
                }
            )
        if fc is None and f.period.end is not None and now.date() < f.period.end:
            days.append({"budget": b.name, "date": now.date(), "actual_usd": today_actual})
    return statuses, days
