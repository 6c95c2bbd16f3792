"""Pure rules of the analytics backfill: planning, pacing, row conversion. Known answers, no server."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from ingest.analytics.catalog import GROUPINGS, LONG_METRICS, SHORT_METRICS, UNATTRIBUTED
from ingest.analytics.plan import Covered, contiguous, final_days, plan
from ingest.analytics.transform import RowError, metric_value, to_store_rows
from ingest.pacing import Pacer

TODAY = date(2026, 11, 20)
YESTERDAY = TODAY - timedelta(days=1)


def by_name(name: str) -> object:
    return next(g for g in GROUPINGS if g.name == name)


def test_first_run_backfills_a_year_and_31_days_of_short_metrics() -> None:
    requests = plan(TODAY, [], ["k1", "k2"], organization=True)
    model = [r for r in requests if r.grouping.name == "model"]
    assert [(r.metrics_set, r.first_day, r.last_day) for r in model] == [
        ("long", TODAY - timedelta(days=364), YESTERDAY),
        ("short", TODAY - timedelta(days=30), YESTERDAY),
    ]
    assert model[0].metrics == LONG_METRICS and model[1].metrics == SHORT_METRICS
    provider = [r for r in requests if r.grouping.name == "model,provider"]
    assert len(provider) == 1 and provider[0].days == 30  # a 31-day reach: the 30 completed days in it
    assert set(provider[0].metrics) == set(LONG_METRICS) | set(SHORT_METRICS)
    per_key = [r for r in requests if r.grouping.per_key]
    assert {r.scope for r in per_key} == {"k1", "k2"} and len(per_key) == 4
    assert all(len(r.grouping.api_dimensions) <= 2 for r in requests)


def test_no_members_grouping_without_an_organization() -> None:
    assert not [r for r in plan(TODAY, [], [], organization=False) if r.grouping.name == "user"]


def test_nothing_new_means_nothing_asked() -> None:
    covered = [
        Covered(r.grouping.name, r.scope, r.metrics_set, r.first_day, r.last_day, datetime(2026, 11, 20, 9, 0))
        for r in plan(TODAY, [], ["k1"], organization=True)
    ]
    assert plan(TODAY, covered, ["k1"], organization=True) == []
    # The next day only yesterday (and nothing older) is asked for.
    tomorrow = plan(TODAY + timedelta(days=1), covered, ["k1"], organization=True)
    assert tomorrow and all(r.first_day == r.last_day == TODAY for r in tomorrow)


def test_a_day_fetched_too_soon_after_it_ended_is_fetched_again() -> None:
    early = Covered("model", "", "long", TODAY - timedelta(days=364), YESTERDAY, datetime(2026, 11, 20, 1, 0))
    again = [r for r in plan(TODAY, [early], [], organization=False) if r.grouping.name == "model"]
    assert [(r.metrics_set, r.first_day, r.last_day) for r in again if r.metrics_set == "long"] == [
        ("long", YESTERDAY, YESTERDAY)
    ]


def test_a_killed_backfill_resumes_only_the_missing_days() -> None:
    done = Covered("model", "", "long", TODAY - timedelta(days=364), date(2026, 3, 1), datetime(2026, 11, 20, 9))
    again = [r for r in plan(TODAY, [done], [], organization=False) if r.grouping.name == "model"]
    assert (again[0].first_day, again[0].last_day) == (date(2026, 3, 2), YESTERDAY)


def test_final_days_and_contiguous_runs() -> None:
    c = Covered("model", "", "long", date(2026, 1, 1), date(2026, 1, 3), datetime(2026, 1, 3, 12))
    assert final_days([c]) == {date(2026, 1, 1), date(2026, 1, 2)}  # Jan 3 was still in progress
    days = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 5)]
    assert contiguous(days) == [(date(2026, 1, 1), date(2026, 1, 2)), (date(2026, 1, 5), date(2026, 1, 5))]


def test_rows_become_numbers_with_explicit_buckets_and_a_key() -> None:
    api_rows = [
        {"date__day": "2026-11-19", "model": "a/b", "app": "My App", "request_count": "12", "total_usage": 1.5},
        {"created_at__day": "2026-11-19T00:00:00Z", "model": "a/b", "app": "", "request_count": 3,
         "total_usage": None},
        {"date__day": "2026-11-19", "model": "a/b", "request_count": "2", "total_usage": 0.5},  # no app at all
    ]  # fmt: skip
    rows = to_store_rows(
        api_rows,
        grouping_name="model,app",
        api_dimensions=("model", "app"),
        metrics=("request_count", "total_usage"),
        today=TODAY,
    )
    by_app = {r["app"]: r for r in rows}
    assert set(by_app) == {"My App", UNATTRIBUTED}
    assert by_app["My App"]["request_count"] == 12 and isinstance(by_app["My App"]["request_count"], int)
    assert by_app[UNATTRIBUTED]["request_count"] == 5  # empty and missing are one bucket, summed
    assert by_app[UNATTRIBUTED]["total_usage"] == pytest.approx(0.5)
    assert all(r["dim_key"] and r["dimensions"] == "model,app" for r in rows)


def test_per_key_rows_carry_the_hash_not_the_label() -> None:
    rows = to_store_rows(
        [{"date__day": "2026-11-19", "model": "a/b", "request_count": 1}],
        grouping_name="api_key_hash,model",
        api_dimensions=("model",),
        metrics=("request_count",),
        today=TODAY,
        api_key_hash="ab" * 32,
    )
    assert rows[0]["api_key_hash"] == "ab" * 32 and rows[0]["dim_key"].startswith("ab" * 32)


def test_metric_values() -> None:
    assert metric_value("request_count", "1523") == 1523
    assert metric_value("total_usage", None) == pytest.approx(0.0)
    assert metric_value("p50_latency", None) is None
    with pytest.raises(RowError):
        metric_value("total_usage", "lots")
    with pytest.raises(RowError):
        to_store_rows([{"model": "x"}], grouping_name="model", api_dimensions=("model",), metrics=(), today=TODAY)


def test_pacer_keeps_under_the_limit_on_a_virtual_clock() -> None:
    now = [0.0]
    sent: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(64, 60.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(200):
        pacer.wait()
        sent.append(now[0])
        now[0] += 0.01
    for i in range(len(sent) - 64):
        assert sent[i + 64] - sent[i] >= 60.0 - 1e-6  # never 65 inside one minute
    assert now[0] < 190  # but not slower than it must be
