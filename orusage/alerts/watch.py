"""Anomalies without configuration: read the series (``queries.anomaly_facts``), judge them
(``anomaly``), and say what was found with its driver ("model X 4.1× its usual Tuesday, mostly from app
Y"). The last two completed days are judged (so a run that was skipped misses nothing), and today so far,
pro rata, once ``min_hours`` of it are in. Alert keys: (``anomaly``, '<dimension>:<value>', the day), so an
anomaly seen today pro rata and again once the day is complete is sent once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from core import fmt
from orusage.alerts import anomaly
from orusage.alerts.config import AnomalyRules
from orusage.alerts.findings import ACCOUNT_BUDGET, ANOMALY, MODEL_SHIFT, NEW_SPENDER, AlertKey, Finding, Recovery
from orusage.alerts.rules import SETTLE_HOURS
from queries import anomaly_facts as af
from queries import budgets as q
from queries import hourly

if TYPE_CHECKING:
    import duckdb

KINDS = {"model": q.MODELS, "key": q.KEYS, "app": q.APPS, "provider": q.PROVIDERS}
JUDGED_DAYS = 2
Outcome = Finding | Recovery


class _Reader:
    """The run's reads, each made once."""

    def __init__(self, con: duckdb.DuckDBPyConnection, now: datetime, rules: AnomalyRules, known: date) -> None:
        self.con, self.now, self.rules, self.known = con, now, rules, known
        self.today = now.date()
        self.first = max(known, self.today - timedelta(days=max(rules.guard_days, 7 * anomaly.MAX_WEEKS) + 1))
        self.names = af.key_names(con)

    def label(self, dimension: str, value: str) -> str:
        shown = self.names.get(value, value[:10]) if dimension == "key" else value
        return f"{dimension} {shown!r}" if dimension in ("key", "app") else f"{dimension} {shown}"

    def driver_text(self, kind: str, value: str, day: date, fraction: float = 1.0) -> tuple[str, str]:
        """(', mostly from app Y', ' (+$4.10 of the +$5.00 above usual)'), or ('', '') when nothing stands out."""
        child_kind = af.BREAKDOWNS[kind][0]
        history = af.children(self.con, kind, value, day - timedelta(weeks=anomaly.MAX_WEEKS), day - timedelta(days=1))
        if day == self.today:
            values = {c: v / fraction for c, v in af.children_today(self.con, kind, value, day).items()}
        else:
            values = {c: s[day] for c, s in af.children(self.con, kind, value, day, day).items() if day in s}
        found = anomaly.driver(history, day, values, child_kind, self.known)
        if found is None:
            return "", ""
        name = (
            "requests without an app"
            if found.value == "unattributed" and child_kind == "app"
            else (f"{child_kind} {found.value!r}" if child_kind == "app" else f"{child_kind} {found.value}")
        )
        share = f" (+{fmt.usd(found.excess)} of the +{fmt.usd(found.total_excess)} above usual)"
        return f", mostly from {name}", share


def _day_fraction(con: duckdb.DuckDBPyConnection, as_of: datetime) -> float:
    """How much of a day's spend is usually in by ``as_of``: yesterday's shape by the hour when the store
    holds it whole, else the share of the day elapsed."""
    elapsed = (as_of - datetime.combine(as_of.date(), datetime.min.time())).total_seconds() / 86400
    shape = hourly.day_shape(con, as_of.date() - timedelta(days=1))
    if shape is None or as_of.hour == 0:
        return elapsed
    hour = as_of.hour
    within = as_of.minute / 60
    before = shape[hour - 1]
    return max(before + (shape[hour] - before) * within, elapsed / 4)


def _anomaly_finding(
    r: _Reader, dimension: str, value: str, day: date, spent: float, b: anomaly.Baseline, reason: str,
    today: tuple[datetime, float] | None = None,
) -> Finding:  # fmt: skip
    """``today``: (as of, the day's fraction in) when ``spent`` is today's so far, projected pro rata."""
    rules, weekday = r.rules, f"{day:%A}"
    projected = spent / today[1] if today else spent
    label = r.label(dimension, value)
    ratio = (
        f"{projected / b.median:.1f}× its usual {weekday}"
        if b.median > 0
        else f"at {fmt.usd(projected)}, usually $0 on {weekday}s"
    )
    if reason == "guard" and b.guard_mean:
        ratio = f"{projected / b.guard_mean:.1f}× its {rules.guard_days}-day daily mean"
    driver, amounts = r.driver_text(KINDS[dimension], value, day, today[1] if today else 1.0)
    when = (
        f"spent {fmt.usd(spent)} today by {today[0]:%H:%M} UTC, on course for {fmt.usd(projected)} (provisional: "
        f"analytics settle within {SETTLE_HOURS:g} h)"
        if today
        else f"spent {fmt.usd(spent)} on {weekday} {day}"
    )
    why = (
        f"alerts above {fmt.usd(b.limit(rules))}: the median + {rules.mad_factor:g} × 1.4826 × MAD of {b.observations} "
        f"{weekday}s, and {rules.median_factor:g}× the median"
        if reason == "weekday"
        else f"alerts above {rules.guard_factor:g}× the mean of the last {rules.guard_days} days "
        f"({fmt.usd(b.guard_mean or 0.0)}/day), so that a rising spend is not learned as normal"
    )
    return Finding(
        AlertKey(ACCOUNT_BUDGET, ANOMALY, f"{dimension}:{value}", day.isoformat(), rules.mad_factor),
        f"{label[0].upper()}{label[1:]} {ratio}{driver}",
        f"{label[0].upper()}{label[1:]} {when}: {ratio} (usual {weekday}: {fmt.usd(b.median)}){driver}{amounts}. "
        f"The rule {why}; at least {fmt.usd(rules.floor_usd)} a day.",
        spend_usd=projected,
    )


def _new_spender(r: _Reader, dimension: str, value: str, day: date, spent: float, today: datetime | None) -> Finding:
    label = r.label(dimension, value)
    when = f"today by {today:%H:%M} UTC" if today else f"on {day}"
    driver = "".join(r.driver_text(KINDS[dimension], value, day)) if today is None else ""
    return Finding(
        AlertKey(ACCOUNT_BUDGET, NEW_SPENDER, f"{dimension}:{value}", day.isoformat(), r.rules.new_spender_usd),
        f"New {label} spent {fmt.usd(spent)} {when}",
        f"{label[0].upper()}{label[1:]}, never seen spending in the {r.rules.guard_days} days before, spent "
        f"{fmt.usd(spent)} {when}{driver}. If nobody expects it, it may be a leaked key: disable it at "
        "https://openrouter.ai/settings/keys.",
        spend_usd=spent,
    )


def _dimension(
    r: _Reader, dimension: str, active: Sequence[AlertKey]
) -> tuple[list[Outcome], dict[str, dict[date, q.DayFigures]]]:
    kind = KINDS[dimension]
    rules, today = r.rules, r.today
    by_value = q.daily_spend_by_value(r.con, kind, r.first, today - timedelta(days=1))
    series = {v: {d: f.spend for d, f in days.items()} for v, days in by_value.items()}
    out: list[Outcome] = []
    for day in (today - timedelta(days=n) for n in range(JUDGED_DAYS, 0, -1)):
        if day < r.known:
            continue
        for value, days in series.items():
            spent = days.get(day, 0.0)
            if dimension in ("key", "app") and anomaly.is_new_spender(days, day, spent, r.known, rules):
                out.append(_new_spender(r, dimension, value, day, spent, None))
                continue
            b = anomaly.baseline(days, day, r.known, rules)
            reason = anomaly.verdict(spent, b, rules) if b else None
            if b is not None and reason is not None:
                out.append(_anomaly_finding(r, dimension, value, day, spent, b, reason))
    out += _recoveries(r, dimension, series, active)
    so_far, as_of = af.today_by_value(r.con, kind, today)
    if as_of is not None and (as_of - datetime.combine(today, datetime.min.time())) >= timedelta(hours=rules.min_hours):
        fraction = _day_fraction(r.con, as_of)
        for value, spent in so_far.items():
            days = series.get(value, {})
            if dimension in ("key", "app") and anomaly.is_new_spender(days, today, spent, r.known, rules):
                out.append(_new_spender(r, dimension, value, today, spent, as_of))
                continue
            b = anomaly.baseline(days, today, r.known, rules)
            if b is None or spent < rules.floor_usd:
                continue
            reason = anomaly.verdict(spent / fraction, b, rules)
            if reason is not None:
                out.append(_anomaly_finding(r, dimension, value, today, spent, b, reason, (as_of, fraction)))
    return out, by_value


def _recoveries(
    r: _Reader, dimension: str, series: Mapping[str, Mapping[date, float]], active: Sequence[AlertKey]
) -> list[Outcome]:
    """An open anomaly of a day before yesterday recovers once yesterday is within its usual again."""
    yesterday = r.today - timedelta(days=1)
    out: list[Outcome] = []
    for key in active:
        if key.kind != ANOMALY or not key.subject.startswith(f"{dimension}:") or key.period >= yesterday.isoformat():
            continue
        value = key.subject.split(":", 1)[1]
        days = series.get(value, {})
        spent = days.get(yesterday, 0.0)
        b = anomaly.baseline(days, yesterday, r.known, r.rules)
        if b is not None and anomaly.verdict(spent, b, r.rules) is None:
            label = r.label(dimension, value)
            out.append(
                Recovery(
                    key,
                    f"{label[0].upper()}{label[1:]} is back to its usual spend",
                    f"{label[0].upper()}{label[1:]}: the anomaly of {key.period} is over; {yesterday} spent "
                    f"{fmt.usd(spent)} (usual {yesterday:%A}: {fmt.usd(b.median)}).",
                )
            )
    return out


def _shifts(
    r: _Reader, by_model: Mapping[str, Mapping[date, q.DayFigures]], active: Sequence[AlertKey]
) -> list[Outcome]:
    figures = {m: {d: (f.spend, f.requests) for d, f in days.items()} for m, days in by_model.items()}
    out: list[Outcome] = []
    yesterday = r.today - timedelta(days=1)
    for day in (r.today - timedelta(days=n) for n in range(JUDGED_DAYS, 0, -1)):
        shift = anomaly.model_shift(figures, day, r.known, r.rules) if day >= r.known else None
        if shift is None:
            if day == yesterday:
                out += [
                    Recovery(
                        k,
                        "The account's cost per request is back to usual",
                        f"The shift to a pricier model of {k.period} is over: on {day} requests cost their usual.",
                    )
                    for k in active
                    if k.kind == MODEL_SHIFT and k.period < day.isoformat()
                ]
            continue
        out.append(
            Finding(
                AlertKey(ACCOUNT_BUDGET, MODEL_SHIFT, "account", day.isoformat(), r.rules.shift_factor),
                f"Traffic shifted to a pricier model on {day}: {shift.model}",
                f"On {day:%A} {day} the account's cost per request was {fmt.usd(shift.cost_per_request)}, "
                f"{shift.cost_per_request / shift.usual_cost_per_request:.1f}× its usual {day:%A} "
                f"({fmt.usd(shift.usual_cost_per_request)}): {fmt.usd(shift.extra_usd)} more than the day's requests "
                f"usually cost. Mostly from model {shift.model}: {shift.share:.0%} of the requests (usually "
                f"{shift.usual_share:.0%}) at {fmt.usd(shift.model_cost_per_request)} a request.",
                spend_usd=shift.extra_usd,
            )
        )
    return out


def anomaly_outcomes(
    con: duckdb.DuckDBPyConnection, rules: AnomalyRules, now: datetime, active: Sequence[AlertKey]
) -> list[Outcome]:
    """Every anomaly, new spender and model shift the rules find as of ``now``, and their recoveries."""
    known = q.known_from(con)
    if not rules.enabled or known is None:
        return []
    r = _Reader(con, now, rules, known)
    out: list[Outcome] = []
    for dimension in rules.dimensions:
        found, by_value = _dimension(r, dimension, active)
        out += found
        if dimension == "model":
            out += _shifts(r, by_value, active)
    return out
