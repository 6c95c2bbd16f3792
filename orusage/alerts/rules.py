"""The alert rules: pure functions from facts (numbers already read from the store) to findings and
recoveries. Nothing here reads a clock, a file or the database; ``now``/``today`` are arguments.

Defaults (docs/budgets-and-alerts.md): thresholds 50/80/100 % of the current period only; forecast when
the projection crosses the limit before the period ends (cleared below 90 % of it); spike when a day's
spend exceeds 3 × the median of the 14 days before it and is at least $5; credits when they last 7 days
or less at the last 7 days' burn; stale data after 26 h without a successful ingest; a price change of a
model in use in the last 7 days; a model in use that expires within 14 days.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core import fmt
from core.forecast import Forecast
from ingest.analytics.plan import SETTLE
from orusage.alerts.config import Budget
from orusage.alerts.findings import (
    ACCOUNT_BUDGET,
    CREDITS,
    EXPIRY,
    FORECAST,
    PERIOD_END,
    PRICE_CHANGE,
    SPIKE,
    STALE,
    THRESHOLD,
    AlertKey,
    Finding,
    Recovery,
    usd,
)
from orusage.alerts.periods import TOTAL, Period, describe
from queries.alert_facts import ModelState
from queries.credits import Runway

SETTLE_HOURS = SETTLE.total_seconds() / 3600  # analytics settle within this long of a day's (or hour's) end
FORECAST_CLEAR_RATIO = 0.9
# Where a scope's today so far comes from: /keys (the account, keys, workspaces, teams of keys), the hourly
# analytics (models, providers, apps, members), the stored generation records (tags).
KEYS_TODAY, HOURS_TODAY, RECORDS_TODAY = (
    "keys",
    "hours",
    "records",
)  # a forecast alert clears when the projection falls below 90 % of the limit
Outcome = Finding | Recovery


@dataclass(frozen=True)
class BudgetFacts:
    """A budget's numbers for its current period, read by ``evaluate``."""

    budget: Budget
    period: Period
    completed: float  # spend of the period's completed days (a never-resetting key limit: lifetime usage)
    today: float | None  # today so far; None when nothing was fetched today yet
    today_as_of: datetime | None
    today_source: str  # where today so far comes from: KEYS_TODAY, HOURS_TODAY or RECORDS_TODAY
    history: Mapping[date, float]  # completed days before today, known ones only

    @property
    def spend(self) -> float:
        return self.completed + (self.today or 0.0)

    def over_since(self) -> date | None:
        """The day the period's running spend passed the limit (today when today's spend did it)."""
        limit, start = self.budget.limit_usd, self.period.start
        if self.spend < limit or start is None:
            return None
        running = 0.0
        for day in sorted(d for d in self.history if d >= start):
            running += self.history[day]
            if running >= limit:
                return day
        return self.today_as_of.date() if self.today_as_of is not None else None

    def note(self) -> str:
        if self.period.kind == TOTAL:
            return "Usage as OpenRouter counted it at the last ingest."
        known = self.today is not None and self.today_as_of is not None
        if self.today_source == HOURS_TODAY:
            if not known:
                return "No hourly analytics fetched today yet: completed days only."
            return (
                f"Includes today so far from hourly analytics, as of {self.today_as_of:%H:%M} UTC "
                f"(provisional: analytics settle within {SETTLE_HOURS:g} h)."
            )
        if self.today_source == RECORDS_TODAY:
            if not known:
                return "No generation record or /keys fetch today yet: completed days only."
            return f"Includes today so far from the generation records, as of {self.today_as_of:%H:%M} UTC."
        if not known:
            return "No /keys fetch today yet: completed days only."
        return f"Includes today so far, as of {self.today_as_of:%H:%M} UTC."


def _where(f: BudgetFacts) -> str:
    return f"Budget {f.budget.name!r} ({f.budget.scope}, {f.period.kind} {f.period.label})"


def _resets(period: Period, now: datetime) -> str:
    if period.end is None:
        return "The limit never resets."
    return f"Resets in {describe(period.resets_in(now))} ({period.end:%Y-%m-%d} 00:00 UTC)."


def threshold_findings(f: BudgetFacts, now: datetime) -> list[Finding]:
    """Every threshold the current period's spend has reached (the plan sends only the highest new one)."""
    limit, spend = f.budget.limit_usd, f.spend
    since = f.over_since()
    over = f", {fmt.over_by(spend, limit)} since {since}" if since is not None and spend > limit else ""
    out = []
    for pct in f.budget.thresholds:
        if spend >= limit * pct / 100:
            out.append(
                Finding(
                    AlertKey(f.budget.name, THRESHOLD, "", f.period.label, pct),
                    f"Budget {f.budget.name!r} reached {pct:g}% ({f.period.label})",
                    f"{_where(f)}: {usd(spend)} of {usd(limit)} spent ({spend / limit:.0%}{over}), past the {pct:g}% "
                    f"threshold. {_resets(f.period, now)} {f.note()}",
                    limit_usd=limit,
                    spend_usd=spend,
                )
            )
    return out


def period_end_finding(budget: Budget, label: str, limit: float, final: float, last_day: date) -> Finding | None:
    """A period that has ended, counted whole once its last day was final: its highest threshold crossed
    (the plan sends it only if no alert of that period already reported it or a higher one)."""
    crossed = [pct for pct in budget.thresholds if final >= limit * pct / 100]
    if not crossed or limit <= 0:
        return None
    top = max(crossed)
    over = f", {fmt.over_by(final, limit)}" if final > limit else ""
    return Finding(
        AlertKey(budget.name, PERIOD_END, "", label, top),
        f"Budget {budget.name!r} ended {label} at {usd(final)} of {usd(limit)}",
        f"Budget {budget.name!r} ({budget.scope}, {budget.period} {label}) ended at {usd(final)} of {usd(limit)} "
        f"({final / limit:.0%}{over}), past the {top:g}% threshold. Counted whole once {last_day} was final "
        f"(analytics settle within {SETTLE_HOURS:g} h of a day's end); no alert during the period had reported it.",
        limit_usd=limit,
        spend_usd=final,
    )


def forecast_outcome(f: BudgetFacts, forecast: Forecast | None) -> Outcome | None:
    """A forecast alert when the projection crosses the limit within the period; a recovery when it has
    fallen clearly below it; nothing in between, or once the limit is already crossed."""
    if not f.budget.forecast or forecast is None or f.period.kind == TOTAL or f.spend >= f.budget.limit_usd:
        return None
    limit = f.budget.limit_usd
    key = AlertKey(f.budget.name, FORECAST, "", f.period.label, 100.0)
    last = forecast.days[-1].date
    cross = forecast.crosses(limit)
    if cross is not None:
        early, late = forecast.crosses_band(limit)
        spread = f"; crossing between {early} and {late or 'after the period'}" if early != late else ""
        band = f" (80% band {usd(forecast.low or 0)}–{usd(forecast.high or 0)}{spread})" if forecast.seasonal else ""
        return Finding(
            key,
            f"Budget {f.budget.name!r} on course to cross its limit on {cross}",
            f"{_where(f)}: at this pace the budget is crossed on {cross}: {usd(forecast.total)} projected by "
            f"the end of {last}{band}, against {usd(limit)}; {usd(f.spend)} spent so far at "
            f"{usd(forecast.pace)}/day. {f.note()}",
            limit_usd=limit,
            spend_usd=f.spend,
        )
    if forecast.total < limit * FORECAST_CLEAR_RATIO:
        return Recovery(
            key,
            f"Budget {f.budget.name!r} no longer on course to cross its limit",
            f"{_where(f)}: the forecast has cleared: {usd(forecast.total)} projected by the end of {last}, "
            f"against {usd(limit)}; {usd(f.spend)} spent so far.",
        )
    return None


def _spike(history: Mapping[date, float], day: date, value: float, budget: Budget) -> tuple[bool, float] | None:
    """(is it a spike, the trailing median), or None when the window is not fully known."""
    rule = budget.spike
    assert rule is not None
    window = [day - timedelta(days=i) for i in range(1, rule.window_days + 1)]
    if not all(d in history for d in window):
        return None
    median = statistics.median(history[d] for d in window)
    return value >= rule.min_usd and value > rule.factor * median, median


def spike_outcomes(f: BudgetFacts, today: date, active: Sequence[AlertKey]) -> list[Outcome]:
    """Spikes on yesterday (complete) and today (so far, when known); recoveries of the budget's open
    spikes once a later completed day is back to normal."""
    rule = f.budget.spike
    if rule is None or f.period.kind == TOTAL:
        return []
    out: list[Outcome] = []
    yesterday = today - timedelta(days=1)
    days = [(yesterday, f.history.get(yesterday), "")]
    if f.today is not None:
        days.append((today, f.today, " so far"))
    for day, value, so_far in days:
        verdict = None if value is None else _spike(f.history, day, value, f.budget)
        if value is None or verdict is None:
            continue
        spiking, median = verdict
        if spiking:
            ratio = f"{value / median:.1f}× the" if median > 0 else "against a"
            out.append(
                Finding(
                    AlertKey(f.budget.name, SPIKE, "", day.isoformat(), rule.factor),
                    f"Spend spike in budget {f.budget.name!r} on {day}",
                    f"Budget {f.budget.name!r} ({f.budget.scope}): {day} spent {usd(value)}{so_far}, {ratio} "
                    f"{rule.window_days}-day median of {usd(median)} (alerts above {rule.factor:g}× and at least "
                    f"{usd(rule.min_usd)}).",
                    spend_usd=value,
                )
            )
        elif day == yesterday:
            for key in active:
                if key.budget == f.budget.name and key.kind == SPIKE and key.period < day.isoformat():
                    out.append(
                        Recovery(
                            key,
                            f"Spend in budget {f.budget.name!r} is back to normal",
                            f"Budget {f.budget.name!r} ({f.budget.scope}): the spike of {key.period} is over; "
                            f"{day} spent {usd(value)} (the {rule.window_days}-day median is {usd(median)}).",
                        )
                    )
    return out


CREDITS_REARM = 1.5  # a credits alert clears (and may fire again) once the runway is above 1.5 × its days


def credits_outcomes(runway: Runway | None, days: float, stored: Sequence[tuple[AlertKey, str]]) -> list[Outcome]:
    """Credits that last ``days`` or less at the projected burn (``queries.credits.runway``).

    An episode is keyed by the credits bought when it starts (and its number among the episodes at that
    total). It stays open until the runway is back above 1.5 × ``days`` or the credits are topped up, so a
    runway hovering around the line alerts once, not at every crossing; then a new episode may start.
    ``stored``: the stored credits alerts, (key, status)."""
    if days <= 0 or runway is None:
        return []
    total = f"{runway.total_credits:.2f}"
    left = runway.days if runway.days is not None else float("inf")
    open_keys = [k for k, status in stored if k.kind == CREDITS and status == "active"]
    out: list[Outcome] = []
    for key in open_keys:
        topped_up = key.period.split("#")[0] != total
        if topped_up or left > CREDITS_REARM * days:
            why = "the credits were topped up" if topped_up else f"the runway is {runway.text()}"
            out.append(
                Recovery(
                    key,
                    "Credits are no longer running out",
                    f"{why[0].upper() + why[1:]}: {usd(runway.left_usd)} left of {usd(runway.total_credits)} "
                    f"bought, as of {fmt.utc_time(runway.as_of)}.",
                )
            )
        else:
            out.append(_credits_finding(key, runway, days))
    if left <= days and not any(isinstance(o, Finding) for o in out):
        episode = 1 + sum(1 for k, _ in stored if k.kind == CREDITS and k.period.split("#")[0] == total)
        key = AlertKey(ACCOUNT_BUDGET, CREDITS, "", f"{total}#{episode}" if episode > 1 else total, days)
        out.append(_credits_finding(key, runway, days))
    return out


def _credits_finding(key: AlertKey, runway: Runway, days: float) -> Finding:
    until = f" (around {runway.out_on})" if runway.out_on is not None else ""
    return Finding(
        key,
        f"Credits run out in {runway.text()}",
        f"At the projected burn of {usd(runway.pace_per_day)}/day the account's credits last {runway.text()}"
        f"{until}: {usd(runway.left_usd)} left of {usd(runway.total_credits)} bought, as of "
        f"{fmt.utc_time(runway.as_of)}. Alerts at {days:g} days or less; clears above {CREDITS_REARM * days:g} days "
        "or after a top-up. Top up at https://openrouter.ai/settings/credits.",
        spend_usd=runway.total_credits - runway.left_usd,
        limit_usd=runway.total_credits,
    )


def stale_outcomes(last_ok: datetime | None, now: datetime, hours: float, active: Sequence[AlertKey]) -> list[Outcome]:
    """Stale data when no ingest succeeded for ``hours``: a dead cron job must not silence every alert."""
    if hours <= 0:
        return []
    if last_ok is None or now - last_ok > timedelta(hours=hours):
        since = (
            "No successful `orusage ingest` ever"
            if last_ok is None
            else f"No successful `orusage ingest` for {describe(now - last_ok)} (the last finished "
            f"{last_ok:%Y-%m-%d %H:%M} UTC)"
        )
        period = "never" if last_ok is None else f"{last_ok:%Y-%m-%dT%H:%M:%S}"
        return [
            Finding(
                AlertKey(ACCOUNT_BUDGET, STALE, "", period, hours),
                "Usage data is stale: ingest is not running",
                f"{since}; alerts warn after {hours:g} h. Spend alerts are working from old data. Check the cron "
                "job or systemd timer and run `orusage doctor`.",
            )
        ]
    return [
        Recovery(
            key,
            "Usage data is fresh again",
            f"Ingest is running again: the last successful ingest finished {last_ok:%Y-%m-%d %H:%M} UTC.",
        )
        for key in active
        if key.kind == STALE
    ]


_PER_TOKEN = {
    "pricing_prompt": "prompt",
    "pricing_completion": "completion",
    "pricing_internal_reasoning": "reasoning",
    "pricing_input_cache_read": "cache read",
    "pricing_input_cache_write": "cache write",
}


def _price(column: str, value: float | None) -> str:
    if value is None:
        return "none"
    if column in _PER_TOKEN:
        return f"{usd(value * 1e6)}/M tokens"
    if column == "pricing_discount":
        return f"{value:.0%}"
    return usd(value)


def model_findings(
    states: Mapping[str, Sequence[ModelState]], now: datetime, price_days: int, expiry_days: int
) -> list[Finding]:
    """Price changes (within ``price_days``) and expirations (within ``expiry_days``) of models in use.
    ``states``: each model's stored states, oldest first."""
    out: list[Finding] = []
    for permaslug, history in sorted(states.items()):
        for before, after in itertools.pairwise(history):
            changed = [(c, a, b) for (c, a), (_, b) in zip(before.prices, after.prices, strict=True) if a != b]
            if price_days <= 0 or not changed or after.valid_from < now - timedelta(days=price_days):
                continue
            parts = "; ".join(
                f"{_PER_TOKEN.get(c, c.removeprefix('pricing_').replace('_', ' '))} {_price(c, a)} → {_price(c, b)}"
                for c, a, b in changed
            )
            out.append(
                Finding(
                    AlertKey(ACCOUNT_BUDGET, PRICE_CHANGE, permaslug, f"{after.valid_from:%Y-%m-%dT%H:%M:%S}", 0.0),
                    f"Price change for {after.slug}",
                    f"{after.slug} (in use) changed price, seen {after.valid_from:%Y-%m-%d %H:%M} UTC: {parts}.",
                )
            )
        expires = _expiration(history[-1].expiration_date) if history else None
        if expiry_days > 0 and expires is not None and expires <= now.date() + timedelta(days=expiry_days):
            left = (expires - now.date()).days
            when = f"in {left} days" if left > 0 else ("today" if left == 0 else f"{-left} days ago")
            out.append(
                Finding(
                    AlertKey(ACCOUNT_BUDGET, EXPIRY, permaslug, expires.isoformat(), 0.0),
                    f"{history[-1].slug} expires on {expires}",
                    f"{history[-1].slug} (in use) expires on {expires} ({when}): OpenRouter stops serving it then; "
                    "move its traffic to another model.",
                )
            )
    return out


def _expiration(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None
