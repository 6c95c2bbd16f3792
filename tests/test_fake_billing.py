"""The fake bills as OpenRouter bills: known answers for each pricing rule of ``fake_openrouter.billing``,
worked out by hand, and every source the fake serves (activity, analytics, /generation, the website export)
reporting its part of the same bills."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest

from fake_openrouter.billing import Bill, Requests, bill
from fake_openrouter.catalog import ENDPOINT_TERMS, MODELS_BY_ID, EndpointTerms, Override, Prices
from fake_openrouter.dataset import Dataset
from fake_openrouter.server import FakeServer
from fake_openrouter.website_csv import write_website_csv
from tests.fake_fixtures import FAKE_NOW, client_for

M = 1e-6  # USD per token for 1 $/M


@pytest.fixture(scope="module")
def mgmt(fake: FakeServer) -> Iterator[httpx.Client]:
    with client_for(fake) as client:
        yield client


def one(**fields: int | bool) -> Requests:
    """A single request: 1000 prompt tokens, 500 completion tokens, nothing else, unless told."""
    values: dict[str, int | bool] = {
        "prompt": 1000,
        "cached": 0,
        "write_5m": 0,
        "write_1h": 0,
        "completion": 500,
        "reasoning": 0,
        "hhmm": 1200,
        "tier": -1,
        "searches": 0,
        "byok": False,
    }
    values.update(fields)
    return Requests(**{k: np.array([v]) for k, v in values.items()})  # type: ignore[arg-type]


NO_TERMS = EndpointTerms()


def charged(prices: Prices, terms: EndpointTerms = NO_TERMS, **fields: int | bool) -> Bill:
    return bill(prices, terms, one(**fields))


PLAIN = Prices(2, 8, 0.5)


def test_list_prices() -> None:
    b = charged(PLAIN)
    assert b.list_cost[0] == pytest.approx(1000 * 2 * M + 500 * 8 * M)  # 0.006
    assert b.upstream[0] == pytest.approx(0.006) and b.usage[0] == pytest.approx(0.006)
    assert b.cache_discount[0] == 0 and b.byok_usage_inference[0] == 0


def test_request_price_is_per_request() -> None:
    assert charged(Prices(0, 0, request=0.03)).usage[0] == pytest.approx(0.03)


def test_cache_reads() -> None:
    b = charged(PLAIN, cached=600)
    assert b.cache_discount[0] == pytest.approx(600 * (2 - 0.5) * M)  # 0.0009
    assert b.upstream[0] == pytest.approx(0.006 - 0.0009)
    assert b.list_cost[0] == pytest.approx(0.006)  # the list price counts every prompt token at the prompt price


def test_cache_writes_five_minutes_and_one_hour() -> None:
    sonnet = Prices(3, 15, 0.3, cache_write=3.75, cache_write_1h=6)
    b = charged(sonnet, write_5m=400, write_1h=200, completion=0)
    # Writing costs more than the prompt price: a negative cache discount.
    assert b.cache_discount[0] == pytest.approx(-(400 * 0.75 * M + 200 * 3 * M))  # -0.0009
    assert b.upstream[0] == pytest.approx(1000 * 3 * M + 0.0009)
    both = charged(sonnet, cached=300, write_5m=400, completion=0)
    assert both.cache_discount[0] == pytest.approx(300 * 2.7 * M - 400 * 0.75 * M)


def test_endpoint_discount() -> None:
    b = charged(PLAIN, EndpointTerms(discount=0.1), cached=600)
    # Every price is multiplied by 1 − discount, the cache discount too (it is measured at the endpoint's prices).
    assert b.cache_discount[0] == pytest.approx(600 * 1.5 * M * 0.9)
    assert b.upstream[0] == pytest.approx((0.006 - 0.0009) * 0.9)
    assert b.list_cost[0] == pytest.approx(0.006)


def test_override_on_prompt_size_is_strictly_greater() -> None:
    long = Prices(3, 15, 0.3, overrides=(Override(min_prompt_tokens=200_000, prompt=6, completion=22.5),))
    at = charged(long, prompt=200_000, completion=0)
    over = charged(long, prompt=200_001, completion=100)
    assert at.upstream[0] == pytest.approx(200_000 * 3 * M)
    assert over.upstream[0] == pytest.approx(200_001 * 6 * M + 100 * 22.5 * M)
    assert over.list_cost[0] == pytest.approx(200_001 * 3 * M + 100 * 15 * M)


@pytest.mark.parametrize(
    ("hhmm", "inside"), [(1629, False), (1630, True), (2359, True), (0, True), (29, True), (30, False), (1200, False)]
)
def test_override_in_a_utc_window_wrapping_midnight(hhmm: int, inside: bool) -> None:
    off_peak = EndpointTerms(window=(1630, 30), window_factor=0.5)
    b = charged(PLAIN, off_peak, hhmm=hhmm)
    assert b.upstream[0] == pytest.approx(0.006 * (0.5 if inside else 1.0))


def test_later_overrides_win_per_key_and_absent_keys_inherit() -> None:
    prices = Prices(
        2,
        8,
        overrides=(
            Override(min_prompt_tokens=100, prompt=4, completion=10),
            Override(min_prompt_tokens=500, prompt=5),  # later: wins for prompt, inherits completion
            Override(min_prompt_tokens=5000, prompt=100, completion=100),  # does not apply
        ),
    )
    assert charged(prices).upstream[0] == pytest.approx(1000 * 5 * M + 500 * 10 * M)


def test_endpoint_overrides_come_after_the_models() -> None:
    prices = Prices(2, 8, overrides=(Override(min_prompt_tokens=100, prompt=4),))
    b = charged(prices, EndpointTerms(window=(0, 2400), window_factor=0.5))  # all day: the endpoint wins
    assert b.upstream[0] == pytest.approx(1000 * 1 * M + 500 * 4 * M)


def test_internal_reasoning_price() -> None:
    thinking = Prices(1, 2, reasoning=5)
    b = charged(thinking, completion=100, reasoning=60)
    assert b.list_cost[0] == pytest.approx(1000 * 1 * M + 40 * 2 * M + 60 * 5 * M)
    assert b.upstream[0] == pytest.approx(b.list_cost[0])
    # Without an internal_reasoning price, reasoning is completion, overrides and all.
    plain = Prices(1, 2, overrides=(Override(min_prompt_tokens=10, completion=3),))
    assert charged(plain, completion=100, reasoning=60).upstream[0] == pytest.approx(1000 * M + 100 * 3 * M)


def test_web_search_fee_is_per_search_and_never_discounted() -> None:
    prices = Prices(2, 8, web_search=0.01)
    b = charged(prices, EndpointTerms(discount=0.5), searches=2)
    assert b.web[0] == pytest.approx(0.02)
    assert b.usage[0] == pytest.approx(0.006 * 0.5 + 0.02)
    assert b.upstream[0] == pytest.approx(0.003)


@pytest.mark.parametrize(("tier", "factor"), [(-1, 1.0), (0, 1.0), (1, 0.5), (2, 1.75)])
def test_service_tiers(tier: int, factor: float) -> None:
    b = charged(PLAIN, cached=600, tier=tier)
    assert b.upstream[0] == pytest.approx((0.006 - 0.0009) * factor)
    assert b.cache_discount[0] == pytest.approx(0.0009)  # before the tier


def test_byok_is_billed_to_your_key_plus_a_five_percent_fee() -> None:
    b = charged(PLAIN, byok=True)
    assert b.byok_usage_inference[0] == pytest.approx(0.006)
    assert b.usage[0] == pytest.approx(0.0003) and b.byok_fee[0] == pytest.approx(0.0003)


def test_amounts_are_rounded_to_the_nano_dollar() -> None:
    b = charged(Prices(1.2345678, 0), completion=0, prompt=1)  # 1.2345678e-6 USD
    assert b.upstream[0] == 1.235e-06 and b.list_cost[0] == pytest.approx(1.2345678e-6)
    assert b.usage[0] == 1.235e-06


def test_every_endpoint_term_names_a_real_endpoint() -> None:
    for model_id, provider in ENDPOINT_TERMS:
        assert provider in dict(MODELS_BY_ID[model_id].providers), (model_id, provider)


# ---- the data set: bills that list prices do not explain, reported alike by every endpoint -----------------


def test_bills_are_not_list_prices(fake_dataset: Dataset) -> None:
    """At least a fifth of the generations cost more than 2 % off their list price; every rule is used."""
    con = fake_dataset.cursor()
    off, n = con.execute(
        """SELECT count(*) FILTER (WHERE abs(g.usage + g.byok_usage_inference - b.list_cost) > 0.02 * b.list_cost),
                  count(*)
           FROM generations g JOIN generation_bills b USING (id) WHERE b.list_cost > 0"""
    ).fetchall()[0]
    assert off / n >= 0.2, off / n
    used = con.execute(
        """SELECT count(*) FILTER (WHERE write_5m > 0), count(*) FILTER (WHERE write_1h > 0),
                  count(*) FILTER (WHERE service_tier = 'flex'), count(*) FILTER (WHERE service_tier = 'priority'),
                  count(*) FILTER (WHERE searches > 0), count(*) FILTER (WHERE native_tokens_prompt > 200000),
                  count(*) FILTER (WHERE cache_discount < 0)
           FROM generations JOIN generation_bills USING (id)"""
    ).fetchall()[0]
    assert all(u > 0 for u in used), used
    models = con.execute(
        """SELECT count(*) FROM (
               SELECT model FROM generations g JOIN generation_bills b USING (id) GROUP BY model
               HAVING abs(sum(g.usage + g.byok_usage_inference) - sum(b.list_cost)) > 0.02 * sum(b.list_cost))"""
    ).fetchall()[0][0]
    assert models >= 5


def _window(day: date) -> dict[str, str]:
    start = datetime.combine(day, time())
    return {"start": start.isoformat() + "Z", "end": (start + timedelta(days=1)).isoformat() + "Z"}


def test_every_source_reports_the_same_bills(fake_dataset: Dataset, mgmt: httpx.Client, tmp_path: Path) -> None:
    day = FAKE_NOW.date() - timedelta(days=2)
    activity: dict[str, float] = defaultdict(float)
    for row in mgmt.get("/activity", params={"date": day.isoformat()}).json()["data"]:
        activity[row["model_permaslug"]] += row["usage"] + row["byok_usage_inference"]
    metrics = [
        "total_usage",
        "credits_usage",
        "byok_usage",
        "usage_cache",
        "usage_web",
        "byok_fees",
        "openrouter_usage",
    ]
    body = {"metrics": metrics, "dimensions": ["model"], "time_range": _window(day), "limit": 10_000}
    analytics = {r["model"]: r for r in mgmt.post("/analytics/query", json=body).json()["data"]["data"]}
    path = tmp_path / "export.csv"
    write_website_csv(fake_dataset, path, datetime.combine(day, time()), datetime.combine(day, time()) + timedelta(1))
    export: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            e = export[row["model_permaslug"]]
            e["total"] += float(row["cost_total"]) + float(row["byok_usage_inference"])
            e["cache"] += float(row["cost_cache"])
            e["web"] += float(row["cost_web_search"])
    assert set(activity) == set(analytics) == set(export)
    for model, spend in activity.items():
        a = analytics[model]
        assert a["total_usage"] == pytest.approx(spend, rel=1e-9, abs=1e-9)
        assert a["credits_usage"] == pytest.approx(a["openrouter_usage"] + a["byok_fees"], rel=1e-9, abs=1e-9)
        assert export[model]["total"] == pytest.approx(spend, rel=1e-9, abs=1e-9)
        assert export[model]["cache"] == pytest.approx(a["usage_cache"], rel=1e-9, abs=1e-9)
        assert export[model]["web"] == pytest.approx(a["usage_web"], rel=1e-9, abs=1e-9)
    assert sum(a["usage_web"] for a in analytics.values()) > 0
    # /generation: each record's parts, and the fields that explain them.
    con = fake_dataset.cursor()
    ids = [
        r[0]
        for r in con.execute(
            """SELECT id FROM generations JOIN generation_bills USING (id)
               WHERE CAST(created_at AS DATE) = ? AND (service_tier IN ('flex', 'priority') OR searches > 0
                                                       OR cache_discount < 0 OR is_byok)
               ORDER BY id LIMIT 40""",
            [day],
        ).fetchall()
    ]
    assert len(ids) == 40
    for gen_id in ids:
        data = mgmt.get("/generation", params={"id": gen_id}).json()["data"]
        want = con.execute(
            """SELECT usage, cache_discount, upstream_inference_cost, service_tier, num_search_results
               FROM generations JOIN generation_bills USING (id) WHERE id = ?""",
            [gen_id],
        ).fetchall()[0]
        got = (data["usage"], data["cache_discount"], data["upstream_inference_cost"], data["service_tier"],
               data["num_search_results"] or 0)  # fmt: skip
        assert got[:3] == pytest.approx(want[:3]) and got[3:] == want[3:]
        assert data["total_cost"] == data["usage"]
        if data["provider_name"] == "OpenAI":
            assert data["service_tier"] in ("standard", "flex", "priority")
        else:
            assert data["service_tier"] is None
