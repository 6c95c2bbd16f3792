"""The anomaly rules on known answers (pure functions: no database, no clock): the same-weekday median and
MAD, the floor above the usual, the 90-day guard, new spenders, drivers and shifts to a pricier model."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from orusage.alerts import anomaly
from orusage.alerts.config import AnomalyRules

RULES = AnomalyRules()
TUESDAY = date(2026, 11, 17)
KNOWN = TUESDAY - timedelta(days=200)


def tuesdays(*values: float, day: date = TUESDAY, other: float = 1.0) -> dict[date, float]:
    """A series whose Tuesdays before ``day`` are ``values`` (newest first) and other days ``other``."""
    series = {day - timedelta(days=n): other for n in range(1, 7 * len(values) + 1)}
    for k, value in enumerate(values, start=1):
        series[day - timedelta(weeks=k)] = value
    return series


def test_same_weekday_median_and_mad_with_one_old_spike_learned_as_nothing() -> None:
    # Tuesdays 8, 9, 10, 10, 10, 11, 12 and an old spike of 30: median 10, deviations 2 1 0 0 0 1 2 20 → MAD 1.
    series = tuesdays(10, 9, 30, 10, 8, 11, 12, 10, other=10.0)  # other days $10: the guard's line is far
    b = anomaly.baseline(series, TUESDAY, KNOWN, RULES)
    assert b is not None and b.observations == 8
    assert (b.median, b.mad) == (10.0, 1.0)
    # The line: max(10 + 6 × 1.4826 × 1 = 18.90, 2 × 10 = 20) = 20.
    assert b.limit(RULES) == pytest.approx(20.0)
    assert anomaly.verdict(20.5, b, RULES) == "weekday"
    assert anomaly.verdict(19.9, b, RULES) is None
    loose = replace(RULES, median_factor=1.0)  # then the MAD line binds: 18.8956
    assert anomaly.verdict(18.9, b, loose) == "weekday" and anomaly.verdict(18.89, b, loose) is None


def test_the_floor_is_above_the_usual_so_cents_are_not_news() -> None:
    b = anomaly.baseline(tuesdays(0.30, 0.34, 0.36, 0.34), TUESDAY, KNOWN, RULES)
    assert b is not None and b.median == pytest.approx(0.34)
    assert anomaly.verdict(1.20, b, RULES) is None  # 3.5× its usual, but only $0.86 above it
    assert anomaly.verdict(1.35, b, RULES) == "weekday"  # $1.01 above it
    assert anomaly.verdict(1.35, b, replace(RULES, floor_usd=2.0)) is None


def test_a_series_needs_four_same_weekday_observations_from_its_first_spend() -> None:
    assert anomaly.baseline(tuesdays(5, 5, 5), TUESDAY, KNOWN, RULES) is None
    assert anomaly.baseline(tuesdays(5, 5, 5, 5), TUESDAY, KNOWN, RULES) is not None
    # Days before the series' first spend are not observations, even when known.
    young = {d: v for d, v in tuesdays(5, 5, 5, 5).items() if d >= TUESDAY - timedelta(weeks=3)}
    assert anomaly.baseline(young, TUESDAY, KNOWN, RULES) is None
    # …nor are days before the store's knowledge.
    assert anomaly.baseline(tuesdays(5, 5, 5, 5), TUESDAY, TUESDAY - timedelta(weeks=3), RULES) is None
    assert anomaly.baseline(tuesdays(5, 5, 5, 5), TUESDAY, KNOWN, replace(RULES, min_observations=5)) is None


def test_the_guard_catches_a_level_the_weekday_median_has_learned() -> None:
    # 34 days at $1, then 8 weeks at $10 a day: the Tuesdays' median is 10 (MAD 0), so the weekday line is
    # $20; the 90-day mean is (34 × 1 + 56 × 10) / 90 = $6.60 and the guard's line 3 × 6.60 = $19.80.
    series = {TUESDAY - timedelta(days=n): (10.0 if n <= 56 else 1.0) for n in range(1, 91)}
    b = anomaly.baseline(series, TUESDAY, KNOWN, RULES)
    assert b is not None and b.median == 10.0 and b.mad == 0.0
    assert b.guard_mean == pytest.approx(6.6)
    assert anomaly.verdict(19.9, b, RULES) == "guard"
    assert anomaly.verdict(19.7, b, RULES) is None
    assert anomaly.verdict(19.9, b, replace(RULES, guard_factor=0.0)) is None  # turned off


def test_a_key_never_seen_before_that_spends_five_dollars_in_a_day() -> None:
    quiet = {TUESDAY - timedelta(days=n): 0.0 for n in range(1, 91)}
    assert anomaly.is_new_spender(quiet, TUESDAY, 5.0, KNOWN, RULES)
    assert not anomaly.is_new_spender(quiet, TUESDAY, 4.99, KNOWN, RULES)
    seen = {**quiet, TUESDAY - timedelta(days=60): 0.5}
    assert not anomaly.is_new_spender(seen, TUESDAY, 50.0, KNOWN, RULES)
    assert anomaly.is_new_spender({**quiet, TUESDAY - timedelta(days=91): 0.5}, TUESDAY, 5.0, KNOWN, RULES)
    # Under two weeks of knowledge, every key would look new: not judged.
    assert not anomaly.is_new_spender(quiet, TUESDAY, 50.0, TUESDAY - timedelta(days=13), RULES)
    assert not anomaly.is_new_spender(quiet, TUESDAY, 50.0, KNOWN, replace(RULES, new_spender_usd=0))


def test_the_driver_is_the_child_that_rose_most_above_its_own_usual() -> None:
    four_weeks = TUESDAY - timedelta(weeks=4)  # what the store knows: weeks before it are not zeros
    history = {
        "Acme Support Bot": tuesdays(4, 4, 4, 4),  # usually 4: today 9 → +5
        "Docs Assistant": tuesdays(6, 6, 6, 6),  # usually 6, the bigger one: today 8 → +2
        "unattributed": tuesdays(1, 1, 1, 1),  # today 0.5 → −0.5, not counted in the total
    }
    today = {"Acme Support Bot": 9.0, "Docs Assistant": 8.0, "unattributed": 0.5}
    assert anomaly.driver(history, TUESDAY, today, "app", four_weeks) == anomaly.Driver(
        "app", "Acme Support Bot", 5.0, 7.0
    )
    assert anomaly.driver(history, TUESDAY, {"Docs Assistant": 5.0}, "app", four_weeks) is None  # nothing rose
    # A new app (no spend in the weeks known) drives with all of its spend.
    new = anomaly.driver(history, TUESDAY, {**today, "Newcomer": 6.0}, "app", four_weeks)
    assert new == anomaly.Driver("app", "Newcomer", 6.0, 13.0)


def mix(days: dict[date, dict[str, tuple[float, int]]]) -> dict[str, dict[date, tuple[float, int]]]:
    out: dict[str, dict[date, tuple[float, int]]] = {}
    for day, models in days.items():
        for model, figures in models.items():
            out.setdefault(model, {})[day] = figures
    return out


def usual_weeks(extra: dict[str, tuple[float, int]]) -> dict[date, dict[str, tuple[float, int]]]:
    """Eight Tuesdays of 95 requests to a $0.01 model and 5 to a $0.10 one ($1.45, $0.0145 a request)."""
    days = {TUESDAY - timedelta(weeks=k): {"cheap": (0.95, 95), "pricey": (0.50, 5)} for k in range(1, 9)}
    return {**days, TUESDAY: extra}


def test_a_shift_of_traffic_to_a_pricier_model() -> None:
    # 60 cheap + 40 pricey requests: $4.60, $0.046 a request = 3.2× the usual $0.0145; $3.15 more than usual.
    shift = anomaly.model_shift(mix(usual_weeks({"cheap": (0.60, 60), "pricey": (4.0, 40)})), TUESDAY, KNOWN, RULES)
    assert shift is not None and shift.model == "pricey"
    assert shift.cost_per_request == pytest.approx(0.046) and shift.usual_cost_per_request == pytest.approx(0.0145)
    assert shift.extra_usd == pytest.approx(3.15)
    assert (shift.share, shift.usual_share, shift.model_cost_per_request) == pytest.approx((0.4, 0.05, 0.1))


def test_more_traffic_of_the_same_mix_is_no_shift() -> None:
    busy = usual_weeks({"cheap": (1.90, 190), "pricey": (1.0, 10)})  # twice the requests, same mix
    assert anomaly.model_shift(mix(busy), TUESDAY, KNOWN, RULES) is None
    small = usual_weeks({"cheap": (0.06, 6), "pricey": (0.40, 4)})  # pricier per request, but $0.46 in all
    assert anomaly.model_shift(mix(small), TUESDAY, KNOWN, RULES) is None
    shifted = mix(usual_weeks({"cheap": (0.60, 60), "pricey": (4.0, 40)}))
    assert anomaly.model_shift(shifted, TUESDAY, KNOWN, replace(RULES, shift_factor=0)) is None
