"""The alert rules and the plan, as pure functions with known answers (no database, no clock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from orusage.alerts.config import Budget, SpikeRule
from orusage.alerts.findings import CREDITS, PERIOD_END, SPIKE, STALE, THRESHOLD, AlertKey, Finding, Recovery
from orusage.alerts.periods import DAY, MONTH, TOTAL, WEEK, current_period, describe
from orusage.alerts.plan import ACTIVE, CLEARED, SUPPRESSED, StoredAlert, plan
from orusage.alerts.rules import (
    HOURS_TODAY,
    KEYS_TODAY,
    RECORDS_TODAY,
    BudgetFacts,
    credits_outcomes,
    model_findings,
    period_end_finding,
    spike_outcomes,
    stale_outcomes,
    threshold_findings,
)
from queries.alert_facts import PRICE_COLUMNS, ModelState
from queries.credits import Runway

ACCOUNT = (("account", ""),)


def budget(**kw: object) -> Budget:
    base = Budget(name="main", scope="account", entries=ACCOUNT, period=MONTH, limit_usd=100.0)
    return replace(base, **kw)  # type: ignore[arg-type]


def facts(
    b: Budget,
    today: date,
    completed: float,
    so_far: float | None = None,
    history: dict[date, float] | None = None,
    source: str = KEYS_TODAY,
) -> BudgetFacts:
    as_of = datetime(today.year, today.month, today.day, 9, 0) if so_far is not None else None
    return BudgetFacts(b, current_period(b.period, today), completed, so_far, as_of, source, history or {})


def thresholds(findings: Sequence[Finding]) -> list[float]:
    return [f.key.threshold for f in findings]


# ---- periods --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "day", "start", "end", "label"),
    [
        (MONTH, date(2026, 11, 30), date(2026, 11, 1), date(2026, 12, 1), "2026-11"),
        (MONTH, date(2026, 12, 1), date(2026, 12, 1), date(2027, 1, 1), "2026-12"),
        (MONTH, date(2028, 2, 29), date(2028, 2, 1), date(2028, 3, 1), "2028-02"),
        (WEEK, date(2026, 11, 29), date(2026, 11, 23), date(2026, 11, 30), "2026-W48"),  # Sunday ends it
        (WEEK, date(2026, 11, 30), date(2026, 11, 30), date(2026, 12, 7), "2026-W49"),  # Monday starts one
        (WEEK, date(2027, 1, 1), date(2026, 12, 28), date(2027, 1, 4), "2026-W53"),  # one week across New Year
        (DAY, date(2026, 11, 20), date(2026, 11, 20), date(2026, 11, 21), "2026-11-20"),
    ],
)
def test_periods_are_utc_days_weeks_monday_to_sunday_and_months(
    kind: str, day: date, start: date, end: date, label: str
) -> None:
    period = current_period(kind, day)
    assert (period.start, period.end, period.label) == (start, end, label)


def test_resets_in() -> None:
    period = current_period(MONTH, date(2026, 11, 30))
    assert describe(period.resets_in(datetime(2026, 11, 30, 21, 15))) == "2 h 45 min"
    assert describe(current_period(WEEK, date(2026, 11, 23)).resets_in(datetime(2026, 11, 23, 0, 0))) == "7 d 0 h"
    assert current_period(TOTAL, date(2026, 11, 30)).resets_in(datetime(2026, 11, 30)) is None


# ---- thresholds -----------------------------------------------------------------------------------------


def test_thresholds_count_today_so_far_and_say_so() -> None:
    found = threshold_findings(facts(budget(), date(2026, 11, 30), 70.0, 11.0), datetime(2026, 11, 30, 9, 30))
    assert thresholds(found) == [50.0, 80.0]
    assert found[-1].key == AlertKey("main", THRESHOLD, "", "2026-11", 80.0)
    assert "$81.00 of $100.00 spent (81%)" in found[-1].message
    assert "Resets in 14 h 30 min (2026-12-01 00:00 UTC)" in found[-1].message
    assert "Includes today so far, as of 09:00 UTC" in found[-1].message


def test_a_scope_of_apps_counts_today_from_the_hourly_analytics_and_says_so() -> None:
    app = budget(scope="app:Docs", entries=(("app", "Docs"),))
    found = threshold_findings(
        facts(app, date(2026, 11, 30), 70.0, 15.0, source=HOURS_TODAY), datetime(2026, 11, 30, 10)
    )
    assert thresholds(found) == [50.0, 80.0]
    assert "$85.00 of $100.00" in found[-1].message
    assert "today so far from hourly analytics, as of 09:00 UTC (provisional: analytics settle within 6 h)" in (
        found[-1].message
    )
    unfetched = threshold_findings(
        facts(app, date(2026, 11, 30), 90.0, None, source=HOURS_TODAY), datetime(2026, 11, 30)
    )
    assert "No hourly analytics fetched today yet: completed days only" in unfetched[-1].message
    tag = budget(scope="tag:team=search", entries=(("tag", "team=search"),))
    by_records = threshold_findings(
        facts(tag, date(2026, 11, 30), 70.0, 15.0, source=RECORDS_TODAY), datetime(2026, 11, 30)
    )
    assert "Includes today so far from the generation records, as of 09:00 UTC." in by_records[-1].message


def test_thresholds_across_month_and_week_ends() -> None:
    """The last day of a period and the first of the next are separate alerts: a new period starts clean."""
    month = budget()
    nov = threshold_findings(facts(month, date(2026, 11, 30), 85.0), datetime(2026, 11, 30, 23))
    dec = threshold_findings(facts(month, date(2026, 12, 1), 55.0), datetime(2026, 12, 1, 1))
    stored = [StoredAlert(i, f.key, ACTIVE) for i, f in enumerate(nov)]
    assert [(n.finding.key.period, n.finding.key.threshold, n.status) for n in plan(dec, stored).new] == [
        ("2026-12", 50.0, ACTIVE)
    ]
    week = budget(period=WEEK, limit_usd=50.0)
    sunday = threshold_findings(facts(week, date(2026, 11, 29), 45.0), datetime(2026, 11, 29, 23))
    monday = threshold_findings(facts(week, date(2026, 11, 30), 3.0), datetime(2026, 11, 30, 1))
    assert {f.key.period for f in sunday} == {"2026-W48"} and monday == []


def test_only_the_highest_newly_crossed_threshold_is_sent() -> None:
    first = plan(threshold_findings(facts(budget(), date(2026, 11, 20), 85.0), datetime(2026, 11, 20)), [])
    assert [(n.finding.key.threshold, n.status) for n in first.new] == [(50.0, SUPPRESSED), (80.0, ACTIVE)]
    assert [f.key.threshold for f in first.raised] == [80.0]
    stored = [StoredAlert(i, n.finding.key, n.status) for i, n in enumerate(first.new)]
    again = plan(threshold_findings(facts(budget(), date(2026, 11, 21), 88.0), datetime(2026, 11, 21)), stored)
    assert not again  # nothing new: each alert is sent once
    more = plan(threshold_findings(facts(budget(), date(2026, 11, 22), 101.0), datetime(2026, 11, 22)), stored)
    assert [(n.finding.key.threshold, n.status) for n in more.new] == [(100.0, ACTIVE)]


def test_a_raised_limit_is_reevaluated_without_resending() -> None:
    day = date(2026, 11, 20)
    sent = plan(threshold_findings(facts(budget(), day, 85.0), datetime(2026, 11, 20)), [])
    stored = [StoredAlert(i, n.finding.key, n.status) for i, n in enumerate(sent.new)]
    raised = budget(limit_usd=200.0)  # 85 is now 42.5 %
    assert threshold_findings(facts(raised, day, 85.0), datetime(2026, 11, 20)) == []
    at_80 = plan(threshold_findings(facts(raised, day, 165.0), datetime(2026, 11, 25)), stored)
    assert not at_80  # 80 % of the new limit was already sent for this period
    at_100 = plan(threshold_findings(facts(raised, day, 201.0), datetime(2026, 11, 28)), stored)
    assert [(n.finding.key.threshold, n.status) for n in at_100.new] == [(100.0, ACTIVE)]
    assert "$201.00 of $200.00" in at_100.new[0].finding.message


def test_a_lower_threshold_added_later_is_recorded_but_not_sent() -> None:
    stored = [StoredAlert(1, AlertKey("main", THRESHOLD, "", "2026-11", 80.0), ACTIVE)]
    b = budget(thresholds=(60.0, 80.0))
    result = plan(threshold_findings(facts(b, date(2026, 11, 20), 85.0), datetime(2026, 11, 20)), stored)
    assert [(n.finding.key.threshold, n.status) for n in result.new] == [(60.0, SUPPRESSED)]


def test_a_never_resetting_key_limit_has_one_period() -> None:
    b = budget(period=TOTAL, name="key limit: ci", scope="key:ci", mirrored=True)
    found = threshold_findings(facts(b, date(2026, 11, 20), 120.0), datetime(2026, 11, 20))
    assert {f.key.period for f in found} == {"total"} and "never resets" in found[-1].message


# ---- spikes ---------------------------------------------------------------------------------------------

TODAY = date(2026, 11, 20)


def flat(value: float, days: int = 20, end: date = TODAY) -> dict[date, float]:
    return {end - timedelta(days=i): value for i in range(1, days + 1)}


def spikes(history: dict[date, float], b: Budget | None = None, so_far: float | None = None,
           active: Sequence[AlertKey] = ()) -> list[Finding | Recovery]:  # fmt: skip
    b = b or budget()
    return spike_outcomes(facts(b, TODAY, 0.0, so_far, history), TODAY, active)


def test_spike_above_k_times_the_trailing_median_and_at_least_the_minimum() -> None:
    yesterday = TODAY - timedelta(days=1)
    base = flat(2.0)
    found = spikes({**base, yesterday: 7.0})
    assert [o.key for o in found] == [AlertKey("main", SPIKE, "", "2026-11-19", 3.0)]
    assert "$7.00, 3.5× the 14-day median of $2.00" in found[0].message
    assert spikes({**base, yesterday: 5.9}) == []  # below 3 × $2
    assert spikes({**flat(1.0), yesterday: 4.0}) == []  # 4 × the median, but under the $5 minimum
    assert spikes({**flat(0.0), yesterday: 5.0})[0].message.count("against a 14-day median of $0.00") == 1


def test_spike_settings_k_window_and_minimum() -> None:
    yesterday = TODAY - timedelta(days=1)
    history = {**flat(1.0, 6), **{TODAY - timedelta(days=i): 9.0 for i in range(7, 30)}, yesterday: 2.5}
    custom = budget(spike=SpikeRule(factor=2.0, window_days=5, min_usd=1.0))
    assert len(spikes(history, custom)) == 1  # the 5-day window sees only the quiet days
    assert spikes(history) == []  # the default 14-day window's median is $9


def test_spike_needs_a_fully_known_window_and_can_fire_on_today_so_far() -> None:
    yesterday = TODAY - timedelta(days=1)
    assert spikes({**flat(2.0, 12), yesterday: 50.0}) == []  # 13 days known, the window needs 14
    today = spikes(flat(2.0), so_far=8.0)
    assert [o.key.period for o in today] == ["2026-11-20"] and "$8.00 so far" in today[0].message


def test_spikes_recover_once_a_later_completed_day_is_normal() -> None:
    open_spikes = [AlertKey("main", SPIKE, "", "2026-11-17", 3.0), AlertKey("main", SPIKE, "", "2026-11-19", 3.0)]
    history = {**flat(2.0, 25), date(2026, 11, 17): 40.0}
    recovered = [o for o in spikes(history, active=open_spikes) if isinstance(o, Recovery)]
    assert [o.key.period for o in recovered] == ["2026-11-17"]  # not yesterday's own spike
    assert "the spike of 2026-11-17 is over" in recovered[0].message
    stored = [StoredAlert(i, k, ACTIVE) for i, k in enumerate(open_spikes)]
    assert [c.alert_id for c in plan(recovered, stored).clears] == [0]
    assert not plan(recovered, [StoredAlert(0, open_spikes[0], CLEARED)])  # a recovery is sent once


def test_no_spike_rule_when_turned_off() -> None:
    assert spikes({**flat(2.0), TODAY - timedelta(days=1): 70.0}, budget(spike=None)) == []


# ---- stale data, credits --------------------------------------------------------------------------------

NOW = datetime(2026, 11, 20, 15, 0)


def test_stale_data_after_n_hours_without_a_good_ingest() -> None:
    stale = stale_outcomes(NOW - timedelta(hours=27), NOW, 26, [])
    assert len(stale) == 1 and isinstance(stale[0], Finding)
    assert stale[0].key == AlertKey("", STALE, "", "2026-11-19T12:00:00", 26.0)
    assert "No successful `orusage ingest` for 1 d 3 h" in stale[0].message
    assert stale_outcomes(NOW - timedelta(hours=25), NOW, 26, []) == []
    assert stale_outcomes(None, NOW, 26, [])[0].key.period == "never"
    assert stale_outcomes(None, NOW, 0, []) == []  # turned off


def test_stale_data_recovers_when_ingest_runs_again() -> None:
    key = AlertKey("", STALE, "", "2026-11-19T12:00:00", 26.0)
    fresh = stale_outcomes(NOW - timedelta(hours=1), NOW, 26, [key])
    assert [type(o).__name__ for o in fresh] == ["Recovery"] and fresh[0].key == key
    assert plan(fresh, [StoredAlert(7, key, ACTIVE)]).clears[0].alert_id == 7


def runway(
    total: float, left: float, days: float | None, low: float | None = None, high: float | None = None
) -> Runway:
    out_on = (NOW + timedelta(days=days)).date() if days is not None else None
    return Runway(NOW, total, left, 5.0, days, low, high, out_on)


def test_credits_running_out_say_the_runway_and_its_band() -> None:
    (found,) = credits_outcomes(runway(500, 30, 6.0, 5.0, 7.5), 7, [])
    assert isinstance(found, Finding) and found.key == AlertKey("", CREDITS, "", "500.00", 7.0)
    assert found.title == "Credits run out in about 6 days (80% band 5–8 days)"
    assert "credits last about 6 days (80% band 5–8 days) (around 2026-11-26): $30.00 left of $500.00" in found.message
    assert "clears above 10.5 days or after a top-up" in found.message
    assert credits_outcomes(runway(500, 100, 20.0), 7, []) == []  # 20 days left
    assert credits_outcomes(runway(500, 1, None), 7, []) == []  # nothing burns: never runs out within a year
    assert credits_outcomes(runway(500, 30, 6.0), 0, []) == []  # turned off
    assert credits_outcomes(None, 7, []) == []  # no credits fetched, or under a week of history
    (spent,) = credits_outcomes(runway(500, -10, 0.0, 0.0, 0.0), 7, [])
    assert isinstance(spent, Finding) and spent.title == "Credits run out in none left"


def test_a_credits_alert_rearms_only_above_one_and_a_half_times_its_days_or_after_a_top_up() -> None:
    key = AlertKey("", CREDITS, "", "500.00", 7.0)
    stored = [(key, ACTIVE)]
    # Hovering around the line: 8 days (above 7, below 10.5) keeps the episode open (no new alert, no recovery).
    (still,) = credits_outcomes(runway(500, 40, 8.0), 7, stored)
    assert isinstance(still, Finding) and still.key == key
    (recovered,) = credits_outcomes(runway(500, 60, 11.0), 7, stored)
    assert isinstance(recovered, Recovery) and recovered.key == key
    assert recovered.message.startswith("The runway is about 11 days: $60.00 left of $500.00")
    # Down again at the same total: a second episode, a new key, so it is sent.
    (again,) = credits_outcomes(runway(500, 25, 5.0), 7, [(key, CLEARED)])
    assert isinstance(again, Finding) and again.key.period == "500.00#2"
    # A top-up ends the open episode whatever the runway; a new one starts at the new total if still short.
    topped = credits_outcomes(runway(600, 30, 6.0), 7, stored)
    assert [type(o).__name__ for o in topped] == ["Recovery", "Finding"]
    assert "The credits were topped up" in topped[0].message and topped[1].key.period == "600.00"


# ---- models ---------------------------------------------------------------------------------------------


def state(valid_from: datetime, prompt: float, completion: float, expiration: str | None = None) -> ModelState:
    prices = {"pricing_prompt": prompt, "pricing_completion": completion}
    return ModelState(
        "acme/model-2026", "acme/model", valid_from, tuple((c, prices.get(c)) for c in PRICE_COLUMNS), expiration
    )


def test_price_change_of_a_model_in_use_is_found_once_within_the_window() -> None:
    old, new = state(NOW - timedelta(days=40), 3e-6, 15e-6), state(NOW - timedelta(days=2), 3.6e-6, 15e-6)
    found = model_findings({"acme/model-2026": [old, new]}, NOW, 7, 14)
    assert len(found) == 1 and found[0].key.subject == "acme/model-2026"
    assert "prompt $3.00/M tokens → $3.60/M tokens" in found[0].message and "completion" not in found[0].message
    assert model_findings({"acme/model-2026": [old, new]}, NOW + timedelta(days=6), 7, 14) == []
    assert model_findings({"acme/model-2026": [old]}, NOW, 7, 14) == []


def test_expiring_model_in_use() -> None:
    soon = state(NOW - timedelta(days=40), 3e-6, 15e-6, "2026-11-30")
    found = model_findings({"acme/model-2026": [soon]}, NOW, 7, 14)
    assert [f.key.period for f in found] == ["2026-11-30"] and "in 10 days" in found[0].message
    assert model_findings({"acme/model-2026": [soon]}, NOW, 7, 5) == []
    past = state(NOW - timedelta(days=40), 3e-6, 15e-6, "2026-11-18T00:00:00Z")
    assert "2 days ago" in model_findings({"m": [past]}, NOW, 7, 14)[0].message


# ---- reminders, snoozes, closing, ended periods -----------------------------------------------------------

CREDITS_KEY = AlertKey("", CREDITS, "", "500.00", 7.0)
RUNNING_OUT = Finding(CREDITS_KEY, "Credits run out in about 5 days", "…")


def test_an_open_alert_that_still_holds_is_reminded_every_remind_hours_unless_acknowledged_or_snoozed() -> None:
    at = NOW
    stored = [StoredAlert(3, CREDITS_KEY, ACTIVE, notified_at=at - timedelta(hours=25))]
    reminded = plan([RUNNING_OUT], stored, now=at, remind_hours=24)
    assert [(r.alert_id, r.finding.title) for r in reminded.reminders] == [(3, RUNNING_OUT.title)]
    assert not reminded.new  # the alert itself is not raised again
    recent = [replace(stored[0], notified_at=at - timedelta(hours=23))]
    assert not plan([RUNNING_OUT], recent, now=at, remind_hours=24).reminders
    acked = [replace(stored[0], acked=True)]
    assert not plan([RUNNING_OUT], acked, now=at, remind_hours=24).reminders
    assert not plan([RUNNING_OUT], stored, now=at, remind_hours=24, snoozed={("", CREDITS, "")}).reminders
    assert not plan([RUNNING_OUT], stored, now=at, remind_hours=0).reminders  # turned off
    assert not plan([], stored, now=at, remind_hours=24).reminders  # no longer holds: nothing to remind


def test_only_thresholds_from_100_percent_are_reminded() -> None:
    old = NOW - timedelta(days=2)
    keys = [AlertKey("main", THRESHOLD, "", "2026-11", pct) for pct in (50.0, 100.0)]
    stored = [StoredAlert(i, k, ACTIVE, notified_at=old) for i, k in enumerate(keys)]
    found = [Finding(k, f"reached {k.threshold:g}%", "…") for k in keys]
    assert [r.alert_id for r in plan(found, stored, now=NOW, remind_hours=24).reminders] == [1]


def test_a_snooze_mutes_what_its_rule_and_scope_raise_or_clear() -> None:
    spike = AlertKey("main", SPIKE, "", "2026-11-19", 3.0)
    new = plan([Finding(spike, "spike", "…")], [], snoozed={("main", SPIKE, "")})
    assert [(n.status, n.muted) for n in new.new] == [(ACTIVE, True)]  # recorded, its deliveries muted
    other = plan([Finding(spike, "spike", "…")], [], snoozed={("other", SPIKE, "")})
    assert [n.muted for n in other.new] == [False]
    old = AlertKey("main", SPIKE, "", "2026-11-17", 3.0)
    cleared = plan([Recovery(old, "back", "…")], [StoredAlert(4, old, ACTIVE)], snoozed={("main", SPIKE, "")})
    assert [(c.alert_id, c.muted) for c in cleared.clears] == [(4, True)]


def test_one_off_notices_close_silently_and_conditions_stay_open_until_they_recover() -> None:
    threshold = AlertKey("main", THRESHOLD, "", "2026-10", 100.0)  # last month's: no longer found
    forecast = AlertKey("main", "forecast", "", "2026-11", 100.0)  # recoverable: waits for its recovery
    gone = AlertKey("removed", THRESHOLD, "", "2026-11", 50.0)  # its budget left the config
    gone_forecast = AlertKey("removed", "forecast", "", "2026-11", 100.0)
    stored = [StoredAlert(i, k, ACTIVE) for i, k in enumerate((threshold, forecast, gone, gone_forecast))]
    result = plan([], stored, now=NOW, budgets={"main"})
    assert sorted(result.closes) == [0, 2, 3] and not result.clears
    assert plan([], stored, now=NOW).closes == (0, 2)  # without the list of budgets, only the one-off ones


def test_a_period_that_ended_over_a_threshold_no_alert_reported_is_raised_once() -> None:
    claude = budget(name="claude", period=DAY, limit_usd=2.0, thresholds=(100.0,), scope="model:anthropic/*")
    ended = period_end_finding(claude, "2026-12-05", 2.0, 4.90, date(2026, 12, 5))
    assert ended is not None and ended.key == AlertKey("claude", PERIOD_END, "", "2026-12-05", 100.0)
    assert ended.title == "Budget 'claude' ended 2026-12-05 at $4.90 of $2.00"
    assert "(245%, over by $2.90), past the 100% threshold" in ended.message
    assert "analytics settle within 6 h" in ended.message
    assert period_end_finding(claude, "2026-12-05", 2.0, 1.99, date(2026, 12, 5)) is None
    assert [n.finding.key for n in plan([ended], []).new] == [ended.key]
    reported = [StoredAlert(1, AlertKey("claude", THRESHOLD, "", "2026-12-05", 100.0), "closed")]
    assert not plan([ended], reported).new  # the day's own alert already said it
    lower = [StoredAlert(1, AlertKey("claude", THRESHOLD, "", "2026-12-05", 50.0), "closed")]
    assert [n.finding.key for n in plan([ended], lower).new] == [ended.key]
