"""Spend anomalies, found without configuration: pure functions of daily series (no I/O, no clock).

Every model, key, app and provider with at least ``min_observations`` same-weekday days is watched. A day
(or today so far, pro rata) is an anomaly when it is at least ``floor_usd`` above its usual and

* above its same-weekday median + ``mad_factor`` × 1.4826 × MAD and above ``median_factor`` × that median
  (a robust z-score against the series' own Tuesdays, say: seasonality-aware, not fooled by one old spike),
* or above ``guard_factor`` × the mean of the last ``guard_days`` (so that a spend that keeps rising is not
  learned as normal).

Beside it: a key or app never seen before that spends ``new_spender_usd`` in a day (a leaked key), and a
shift of the account's traffic to a pricier model (its cost per request ``shift_factor`` × its usual).

A series starts on its first day with spend: days before it are not observations. Days absent from a
series (known, but without traffic) count as $0.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from orusage.alerts.config import AnomalyRules

MAD_SCALE = 1.4826  # MAD × this estimates σ for normally distributed data
MAX_WEEKS = 12
MIN_HISTORY_FOR_NEW = 14  # a "never seen before" needs this many known days before it


@dataclass(frozen=True)
class Baseline:
    observations: int
    median: float  # of the same weekdays
    mad: float
    guard_mean: float | None  # mean of the last guard_days (from the series' first day)

    def limit(self, rules: AnomalyRules) -> float:
        """The same-weekday rule's line (the floor and the guard apart)."""
        return max(self.median + rules.mad_factor * MAD_SCALE * self.mad, rules.median_factor * self.median)


def _start(days: Mapping[date, float], known_from: date, before: date) -> date | None:
    active = [d for d, v in days.items() if v > 0 and known_from <= d < before]
    return min(active) if active else None


def baseline(days: Mapping[date, float], day: date, known_from: date, rules: AnomalyRules) -> Baseline | None:
    """The series' usual for ``day``, from the days before it; None when it has too few observations."""
    start = _start(days, known_from, day)
    if start is None:
        return None
    same = [day - timedelta(weeks=k) for k in range(1, MAX_WEEKS + 1) if day - timedelta(weeks=k) >= start]
    if len(same) < rules.min_observations:
        return None
    values = [days.get(d, 0.0) for d in same]
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    guard_first = max(start, day - timedelta(days=rules.guard_days))
    span = (day - guard_first).days
    guard = sum(days.get(guard_first + timedelta(days=i), 0.0) for i in range(span)) / span if span > 0 else None
    return Baseline(len(values), median, mad, guard)


def verdict(value: float, b: Baseline, rules: AnomalyRules) -> str | None:
    """'weekday' or 'guard' when ``value`` is an anomaly against ``b``; None when it is not. Either way it
    must be at least ``floor_usd`` above the usual it is judged against: cents are not news."""
    if value > b.limit(rules) and value - b.median >= rules.floor_usd:
        return "weekday"
    guard = b.guard_mean
    if rules.guard_factor > 0 and guard and value > rules.guard_factor * guard and value - guard >= rules.floor_usd:
        return "guard"
    return None


def is_new_spender(days: Mapping[date, float], day: date, value: float, known_from: date, rules: AnomalyRules) -> bool:
    """A key or app with no spend in the ``guard_days`` before ``day`` (which are known for at least two
    weeks) that spends ``new_spender_usd`` on it."""
    if rules.new_spender_usd <= 0 or value < rules.new_spender_usd:
        return False
    if (day - known_from).days < MIN_HISTORY_FOR_NEW:
        return False
    first = day - timedelta(days=rules.guard_days)
    return not any(v > 0 for d, v in days.items() if first <= d < day)


@dataclass(frozen=True)
class Driver:
    kind: str  # app | key | model
    value: str  # shown as is (a name)
    excess: float  # its spend that day above its own usual
    total_excess: float  # the parent's spend that day above its usual


def driver(
    children: Mapping[str, Mapping[date, float]],
    day: date,
    day_values: Mapping[str, float],
    kind: str,
    known_from: date,
) -> Driver | None:
    """The child (app, key or model) whose spend on ``day`` rose most above its own same-weekday median
    (over the weeks known): what drove the parent's anomaly. ``day_values``: each child's spend that day
    (pro rata for today)."""
    weeks = [day - timedelta(weeks=k) for k in range(1, MAX_WEEKS + 1) if day - timedelta(weeks=k) >= known_from]
    best: tuple[float, str] | None = None
    total = 0.0
    for child, value in day_values.items():
        history = children.get(child, {})
        excess = value - (statistics.median(history.get(d, 0.0) for d in weeks) if weeks else 0.0)
        total += max(excess, 0.0)
        if best is None or excess > best[0]:
            best = (excess, child)
    if best is None or best[0] <= 0:
        return None
    return Driver(kind, best[1], best[0], total)


@dataclass(frozen=True)
class Shift:
    cost_per_request: float
    usual_cost_per_request: float
    extra_usd: float  # spend above what the day's requests cost at the usual cost per request
    model: str  # the model whose share of requests rose most, among the pricier ones
    share: float  # its share of the day's requests
    usual_share: float
    model_cost_per_request: float


def model_shift(
    figures: Mapping[str, Mapping[date, tuple[float, int]]], day: date, known_from: date, rules: AnomalyRules
) -> Shift | None:
    """A shift of the account's requests to a pricier model on ``day``: its cost per request at least
    ``shift_factor`` × its usual (same weekdays' median) and ``floor_usd`` more spend than the day's requests
    would have cost at the usual. ``figures``: per model, per day, (spend, requests)."""
    if rules.shift_factor <= 0:
        return None

    def totals(d: date) -> tuple[float, int]:
        spend = sum(f[d][0] for f in figures.values() if d in f)
        requests = sum(f[d][1] for f in figures.values() if d in f)
        return spend, requests

    spend, requests = totals(day)
    if requests <= 0:
        return None
    weeks = [day - timedelta(weeks=k) for k in range(1, MAX_WEEKS + 1) if day - timedelta(weeks=k) >= known_from]
    usual = [(d, *totals(d)) for d in weeks]
    usual = [(d, s, r) for d, s, r in usual if r > 0]
    if len(usual) < rules.min_observations:
        return None
    usual_cpr = statistics.median(s / r for _, s, r in usual)
    cpr = spend / requests
    extra = spend - requests * usual_cpr
    if usual_cpr <= 0 or cpr < rules.shift_factor * usual_cpr or extra < rules.floor_usd:
        return None
    best: Shift | None = None
    for model, days in figures.items():
        if day not in days or days[day][1] <= 0:
            continue
        model_spend, model_requests = days[day]
        model_cpr = model_spend / model_requests
        if model_cpr <= usual_cpr:
            continue
        share = model_requests / requests
        usual_share = statistics.median(days[d][1] / r if d in days else 0.0 for d, _, r in usual)
        rise = share - usual_share
        if rise > 0 and (
            best is None or rise * model_cpr > (best.share - best.usual_share) * best.model_cost_per_request
        ):
            best = Shift(cpr, usual_cpr, extra, model, share, usual_share, model_cpr)
    return best
