"""The fake's analytics API: GET /analytics/meta and POST /analytics/query.

Real HTTP on loopback, data pinned at FAKE_NOW (2026-11-20T15:30Z), time-dependent behaviour on a FakeClock.
Totals are checked against /activity, which answers from the same generations table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest

from fake_openrouter.catalog import BYOK_PROVIDERS
from fake_openrouter.dataset import Dataset
from fake_openrouter.keys import DEMO_API_KEY_NAME, key_hash
from fake_openrouter.server import FakeServer
from tests.fake_fixtures import API_KEY, FAKE_NOW, FakeClock, client_for, start_clocked_fake

TODAY = FAKE_NOW.date()
QUERY = "/analytics/query"
# NOTES.md's lists: every one must be in /analytics/meta.
LONG_METRICS = [
    "request_count",
    "tokens_total",
    "tokens_prompt",
    "tokens_completion",
    "reasoning_tokens",
    "cached_tokens",
    "byok_request_count",
    "total_usage",
    "byok_usage",
    "credits_usage",
    "usage_upstream",
    "usage_cache",
    "usage_data",
    "usage_web",
    "usage_upstream_web",
]
SHORT_METRICS = [
    "openrouter_usage",
    "byok_fees",
    "usage_file",
    "usage_web_fetch",
    "avg_latency",
    "p50_latency",
    "p90_latency",
    "p99_latency",
    "avg_throughput",
    "p50_throughput",
    "p90_throughput",
    "p99_throughput",
    "cache_hit_rate",
    "guardrail_invoked_count",
    "response_cached_count",
]
LONG_DIMENSIONS = ["model", "variant", "api_key_id", "user", "workspace", "app"]
SHORT_DIMENSIONS = ["generation_id", "provider", "origin", "country", "finish_reason", "external_user"]
SHORT_DIMENSIONS += ["context_length_bucket"]
ACTIVITY_WINDOW = {"start": f"{TODAY - timedelta(days=30)}T00:00:00Z", "end": f"{TODAY}T00:00:00Z"}


def days_back(days: int) -> str:
    return datetime.combine(TODAY - timedelta(days=days), time()).isoformat() + "Z"


@pytest.fixture(scope="module")
def mgmt(fake_unlimited: FakeServer) -> Iterator[httpx.Client]:
    with client_for(fake_unlimited) as client:
        yield client


def run(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post(QUERY, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    assert data["metadata"]["row_count"] == len(data["data"])
    return data


def rows(client: httpx.Client, **body: Any) -> list[dict[str, Any]]:
    data = run(client, **body)
    assert data["metadata"]["truncated"] is False
    result: list[dict[str, Any]] = data["data"]
    return result


def sql(ds: Dataset, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    cur = ds.cursor()
    try:
        return cur.execute(query, params or []).fetchall()
    finally:
        cur.close()


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == status
    message: str = body["error"]["message"]
    return message


# --- meta and access --------------------------------------------------------------------------------------


def test_meta_lists_every_metric_dimension_operator_and_granularity(mgmt: httpx.Client) -> None:
    meta = mgmt.get("/analytics/meta").json()["data"]
    metrics = {m["name"]: m for m in meta["metrics"]}
    assert set(LONG_METRICS + SHORT_METRICS) <= set(metrics)
    assert metrics["avg_latency"]["is_rate"] and metrics["avg_latency"]["display_format"] == "latency"
    assert not metrics["total_usage"]["is_rate"] and metrics["total_usage"]["display_format"] == "currency"
    assert {d["name"] for d in meta["dimensions"]} == set(LONG_DIMENSIONS + SHORT_DIMENSIONS)
    assert {o["name"]: o["value_type"] for o in meta["operators"]} == {
        **dict.fromkeys(["eq", "neq", "gt", "gte", "lt", "lte"], "scalar"),
        "in": "array",
        "not_in": "array",
    }
    assert [g["name"] for g in meta["granularities"]] == ["minute", "hour", "day", "week", "month"]


def test_management_key_only(fake_unlimited: FakeServer) -> None:
    with client_for(fake_unlimited, API_KEY) as client:
        assert "management keys" in error_of(client.get("/analytics/meta"), 403)
        error_of(client.post(QUERY, json={"metrics": ["request_count"]}), 403)
    with client_for(fake_unlimited, None) as client:
        error_of(client.post(QUERY, json={"metrics": ["request_count"]}), 401)
    with client_for(fake_unlimited) as client:
        error_of(client.get(QUERY), 405)


# --- validation ---------------------------------------------------------------------------------------------

BAD_BODIES: dict[str, dict[str, Any]] = {
    "three dimensions": {"metrics": ["request_count"], "dimensions": ["model", "provider", "app"]},
    "limit above 10,000": {"metrics": ["request_count"], "limit": 10_001},
    "limit 0": {"metrics": ["request_count"], "limit": 0},
    "group_limit above 10,000": {"metrics": ["request_count"], "dimensions": ["model"], "group_limit": 10_001},
    "no metrics": {"metrics": []},
    "metrics missing": {"dimensions": ["model"]},
    "unknown metric": {"metrics": ["request_count", "vibes"]},
    "unknown dimension": {"metrics": ["request_count"], "dimensions": ["planet"]},
    "unknown granularity": {"metrics": ["request_count"], "granularity": "fortnight"},
    "minute over 3 h": {
        "metrics": ["request_count"],
        "granularity": "minute",
        "time_range": {"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T13:00:01Z"},
    },
    "start after end": {"metrics": ["request_count"], "time_range": {"start": days_back(1), "end": days_back(2)}},
    "time_range without end": {"metrics": ["request_count"], "time_range": {"start": days_back(1)}},
    "not a date": {"metrics": ["request_count"], "time_range": {"start": "yesterday", "end": days_back(0)}},
    "21 filters": {
        "metrics": ["request_count"],
        "filters": [{"field": "model", "operator": "neq", "value": f"x/{i}"} for i in range(21)],
    },
    "unknown operator": {
        "metrics": ["request_count"],
        "filters": [{"field": "model", "operator": "like", "value": "x"}],
    },
    "scalar for in": {"metrics": ["request_count"], "filters": [{"field": "model", "operator": "in", "value": "x"}]},
    "app by title": {"metrics": ["request_count"], "filters": [{"field": "app", "operator": "eq", "value": "Cline"}]},
    "unset on model": {
        "metrics": ["request_count"],
        "filters": [{"field": "model", "operator": "in", "value": ["x"], "include_unset": True}],
    },
    "order by unrequested metric": {"metrics": ["request_count"], "order_by": {"field": "total_usage"}},
    "order by date without granularity": {"metrics": ["request_count"], "order_by": {"field": "date"}},
    "classifier": {"metrics": ["request_count"], "classifier_dimensions": {"classifier_id": "x"}},
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_invalid_queries_are_400(mgmt: httpx.Client, case: str) -> None:
    error_of(mgmt.post(QUERY, json=BAD_BODIES[case]), 400)


def test_body_must_be_a_json_object(mgmt: httpx.Client) -> None:
    error_of(mgmt.post(QUERY, content=b"{not json", headers={"Content-Type": "application/json"}), 400)
    error_of(mgmt.post(QUERY, json=["request_count"]), 400)


def test_limit_of_10000_and_default_window(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    data = run(mgmt, metrics=["request_count"], dimensions=["generation_id"], limit=10_000)
    start = FAKE_NOW.replace(tzinfo=None) - timedelta(days=7)
    ((count,),) = sql(fake_dataset, "SELECT count(*) FROM generations WHERE created_at >= ?", [start])
    assert data["metadata"] == {**data["metadata"], "row_count": count, "truncated": False}  # the last 7 days
    assert 1000 < count < 10_000
    assert len(run(mgmt, metrics=["request_count"], dimensions=["generation_id"])["data"]) == 1000  # the default


# --- truncation and order -------------------------------------------------------------------------------------


def test_truncation_keeps_a_deterministic_prefix(mgmt: httpx.Client) -> None:
    body = {
        "metrics": ["total_usage", "request_count"],
        "dimensions": ["generation_id"],
        "time_range": {"start": days_back(3), "end": days_back(1)},
    }
    full = run(mgmt, **body, limit=10_000)
    assert full["metadata"]["truncated"] is False and len(full["data"]) > 300
    cut = run(mgmt, **body, limit=100)
    assert cut["metadata"] == {**cut["metadata"], "truncated": True, "row_count": 100}
    assert cut["data"] == full["data"][:100] == run(mgmt, **body, limit=100)["data"]
    usage = [r["total_usage"] for r in full["data"]]
    assert usage == sorted(usage, reverse=True)  # no order_by: the first metric, descending

    asc = run(mgmt, **body, limit=10_000, order_by={"field": "generation_id", "direction": "asc"})["data"]
    assert [r["generation_id"] for r in asc] == sorted(r["generation_id"] for r in full["data"])


def test_time_series_is_newest_first_and_group_limit_caps_each_combination(mgmt: httpx.Client) -> None:
    window = {"start": days_back(10), "end": days_back(0)}
    series = rows(mgmt, metrics=["request_count"], granularity="day", time_range=window)
    assert [r["date__day"] for r in series] == [str(TODAY - timedelta(days=d)) for d in range(1, 11)]
    capped = rows(
        mgmt, metrics=["request_count"], dimensions=["workspace"], granularity="day", time_range=window, group_limit=2
    )
    per_ws: dict[str, list[str]] = defaultdict(list)
    for row in capped:
        per_ws[row["workspace"]].append(row["date__day"])
    assert set(per_ws) == {"Default Workspace", "Research", "Client Projects"}
    assert all(days == [str(TODAY - timedelta(days=1)), str(TODAY - timedelta(days=2))] for days in per_ws.values())


def test_week_month_and_minute_buckets(mgmt: httpx.Client) -> None:
    weeks = rows(
        mgmt, metrics=["request_count"], granularity="week", time_range={"start": days_back(60), "end": days_back(0)}
    )
    assert all(datetime.fromisoformat(r["date__week"]).weekday() == 0 for r in weeks)
    months = rows(
        mgmt, metrics=["request_count"], granularity="month", time_range={"start": days_back(300), "end": days_back(0)}
    )
    assert all(r["date__month"].endswith("-01") for r in months) and len(months) in (10, 11)
    minutes = rows(
        mgmt,
        metrics=["request_count"],
        granularity="minute",
        time_range={"start": "2026-11-20T12:30:00Z", "end": "2026-11-20T15:30:00Z"},
    )
    assert minutes and all(r["date__minute"].endswith(":00") for r in minutes)
    assert sum(r["request_count"] for r in minutes) == sum(
        r["request_count"]
        for r in rows(
            mgmt,
            metrics=["request_count"],
            granularity="hour",
            time_range={"start": "2026-11-20T12:30:00Z", "end": "2026-11-20T15:30:00Z"},
        )
    )


# --- reach ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reach"),
    [
        ({"metrics": ["avg_latency"]}, 31),
        ({"metrics": ["request_count"], "dimensions": ["provider"]}, 31),
        ({"metrics": ["request_count"], "filters": [{"field": "country", "operator": "eq", "value": "US"}]}, 31),
        ({"metrics": ["request_count", "total_usage"], "dimensions": ["model", "app"]}, 365),
    ],
)
def test_reach_is_enforced_on_whole_days(mgmt: httpx.Client, body: dict[str, Any], reach: int) -> None:
    assert run(mgmt, **body, time_range={"start": days_back(reach), "end": days_back(0)})["data"]
    message = error_of(
        mgmt.post(QUERY, json={**body, "time_range": {"start": days_back(reach + 1), "end": days_back(0)}}), 400
    )
    assert f"{reach} days" in message and days_back(reach) in message


# --- labels in rows, ids in filters -----------------------------------------------------------------------------


def test_key_hash_filter_gives_rows_labelled_with_the_key_name(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    demo = key_hash(API_KEY)
    body = {"metrics": ["request_count"], "dimensions": ["api_key_id"], "time_range": ACTIVITY_WINDOW}
    (row,) = rows(mgmt, **body, filters=[{"field": "api_key_id", "operator": "eq", "value": demo}])
    start, end = (datetime.fromisoformat(ACTIVITY_WINDOW[k]).replace(tzinfo=None) for k in ("start", "end"))
    ((count,),) = sql(
        fake_dataset,
        "SELECT count(*) FROM generations WHERE api_key_hash = ? AND created_at >= ? AND created_at < ?",
        [demo, start, end],
    )
    assert row == {"api_key_id": DEMO_API_KEY_NAME, "request_count": count}
    everyone = rows(mgmt, **body)
    assert {r["api_key_id"] for r in everyone} >= {DEMO_API_KEY_NAME, "client-acme", "data-pipeline"}
    others = rows(mgmt, **body, filters=[{"field": "api_key_id", "operator": "not_in", "value": [demo]}])
    assert sum(r["request_count"] for r in others) + count == sum(r["request_count"] for r in everyone)
    by_name = run(mgmt, **body, filters=[{"field": "api_key_id", "operator": "eq", "value": DEMO_API_KEY_NAME}])
    assert by_name["data"] == [] and by_name["warnings"]  # a name is not an id


def test_unknown_key_hash_gives_zero_rows_and_a_warning(mgmt: httpx.Client) -> None:
    unknown = "ab" * 32
    data = run(
        mgmt,
        metrics=["request_count", "total_usage"],
        filters=[{"field": "api_key_id", "operator": "eq", "value": unknown}],
    )
    assert data["data"] == [] and data["metadata"]["row_count"] == 0
    assert len(data["warnings"]) == 1 and unknown in data["warnings"][0]
    mixed = run(
        mgmt,
        metrics=["request_count"],
        dimensions=["api_key_id"],
        filters=[{"field": "api_key_id", "operator": "in", "value": [unknown, key_hash(API_KEY)]}],
    )
    assert [r["api_key_id"] for r in mixed["data"]] == [DEMO_API_KEY_NAME] and mixed["warnings"]
    assert "warnings" not in run(mgmt, metrics=["request_count"])


def test_app_filter_takes_the_numeric_id_and_rows_show_title_or_origin(mgmt: httpx.Client) -> None:
    body = {"metrics": ["request_count"], "dimensions": ["app"], "order_by": {"field": "app", "direction": "asc"}}
    (titled,) = rows(mgmt, **body, filters=[{"field": "app", "operator": "eq", "value": 301245}])
    assert titled["app"] == "Acme Support Bot"
    assert rows(mgmt, **body, filters=[{"field": "app", "operator": "eq", "value": "301245"}]) == [titled]
    (untitled,) = rows(mgmt, **body, filters=[{"field": "app", "operator": "eq", "value": 305511}])
    assert untitled["app"] == "https://internal.tools.example"
    every = rows(mgmt, **body)
    assert every[0]["app"] == ""  # unattributed traffic sorts first, as an empty label
    assert {"Cline", "Roo Code", "Acme Support Bot"} <= {r["app"] for r in every}
    with_unset = rows(
        mgmt, **body, filters=[{"field": "app", "operator": "in", "value": [301245], "include_unset": True}]
    )
    assert with_unset == [every[0], titled]


def test_user_and_workspace_show_names_and_take_ids(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    account = fake_dataset.account
    year = {"start": days_back(365), "end": days_back(0)}
    users = rows(mgmt, metrics=["request_count"], dimensions=["user"], time_range=year)
    names = {m.display_name: m.email for m in account.members}
    assert {r["user"]: r["user_email"] for r in users if r["user"]} == names
    assert [r["user_email"] for r in users if not r["user"]] == [""]  # keys created at the org level
    member = account.members[1]
    (one,) = rows(
        mgmt,
        metrics=["request_count"],
        dimensions=["user"],
        time_range=year,
        filters=[{"field": "user", "operator": "eq", "value": member.id}],
    )
    assert one["user"] == member.display_name and one["user_email"] == member.email
    research = account.workspaces[1]
    (ws,) = rows(
        mgmt,
        metrics=["request_count"],
        dimensions=["workspace"],
        filters=[{"field": "workspace", "operator": "eq", "value": research.id}],
    )
    assert ws["workspace"] == "Research"


# --- totals agree with /activity ----------------------------------------------------------------------------


def test_day_and_model_totals_equal_activity(mgmt: httpx.Client) -> None:
    activity: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0] * 6)
    for r in mgmt.get("/activity").json()["data"]:
        acc = activity[(r["date"], r["model_permaslug"])]
        for i, field in enumerate(
            ("requests", "usage", "byok_usage_inference", "prompt_tokens", "completion_tokens", "reasoning_tokens")
        ):
            acc[i] += r[field]
    metrics = ["request_count", "credits_usage", "byok_usage", "tokens_prompt", "tokens_completion", "reasoning_tokens"]
    result = rows(
        mgmt, metrics=metrics, dimensions=["model"], granularity="day", time_range=ACTIVITY_WINDOW, limit=10_000
    )
    assert len(result) == len(activity)
    for row in result:
        expected = activity[(row["date__day"], row["model"])]
        assert [row[m] for m in metrics] == pytest.approx(expected, rel=1e-9, abs=1e-9), row
        assert isinstance(row["request_count"], int) and isinstance(row["credits_usage"], float)


def test_per_key_totals_equal_activity_by_key(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    keys = [
        k["hash"]
        for ws in fake_dataset.account.workspaces
        for k in mgmt.get("/keys", params={"workspace_id": ws.id, "include_disabled": "true"}).json()["data"]
    ]
    assert len(keys) >= 8
    for hash_hex in keys:
        expected = mgmt.get("/activity", params={"api_key_hash": hash_hex}).json()["data"]
        got = rows(
            mgmt,
            metrics=["request_count", "total_usage"],
            time_range=ACTIVITY_WINDOW,
            filters=[{"field": "api_key_id", "operator": "eq", "value": hash_hex}],
        )
        if not expected:
            assert got == []
            continue
        (row,) = got
        assert row["request_count"] == sum(r["requests"] for r in expected)
        total = sum(r["usage"] + r["byok_usage_inference"] for r in expected)
        assert row["total_usage"] == pytest.approx(total, rel=1e-9)


def test_cost_metrics_add_up(mgmt: httpx.Client) -> None:
    costs = [
        "total_usage",
        "credits_usage",
        "byok_usage",
        "openrouter_usage",
        "byok_fees",
        "usage_upstream",
        "usage_cache",
        "usage_web",
        "usage_data",
    ]
    counts = ["request_count", "byok_request_count", "tokens_total", "tokens_prompt", "tokens_completion"]
    by_provider = rows(mgmt, metrics=costs + counts, dimensions=["provider"], time_range=ACTIVITY_WINDOW)
    for r in by_provider:
        assert r["total_usage"] == pytest.approx(r["credits_usage"] + r["byok_usage"])
        assert r["credits_usage"] == pytest.approx(r["openrouter_usage"] + r["byok_fees"])
        assert r["tokens_total"] == r["tokens_prompt"] + r["tokens_completion"]
        assert r["usage_web"] >= 0 and r["usage_data"] == pytest.approx(0, abs=1e-12)
        byok = r["provider"] in BYOK_PROVIDERS
        assert (r["byok_request_count"] == r["request_count"]) if byok else (r["byok_request_count"] == 0)
        # Credits pay the upstream cost plus web searches; BYOK requests never search in the fake.
        upstream = r["byok_usage"] if byok else r["credits_usage"] - r["usage_web"]
        assert r["usage_upstream"] == pytest.approx(upstream)
    assert any(r["usage_cache"] < 0 for r in by_provider) and any(r["usage_web"] > 0 for r in by_provider)


def test_rate_metrics(mgmt: httpx.Client) -> None:
    perf = [
        "avg_latency",
        "p50_latency",
        "p90_latency",
        "p99_latency",
        "avg_throughput",
        "p50_throughput",
        "p90_throughput",
        "p99_throughput",
        "cache_hit_rate",
    ]
    result = rows(mgmt, metrics=perf, dimensions=["provider"], time_range={"start": days_back(7), "end": days_back(0)})
    groq = next(r for r in result if r["provider"] == "Groq")
    deepseek = next(r for r in result if r["provider"] == "DeepSeek")
    assert groq["p50_latency"] < deepseek["p50_latency"] and groq["p50_throughput"] > deepseek["p50_throughput"]
    for r in result:
        assert r["p50_latency"] <= r["p90_latency"] <= r["p99_latency"]
        assert r["cache_hit_rate"] is None or 0 <= r["cache_hit_rate"] <= 1


# --- quirks mode --------------------------------------------------------------------------------------------


def test_quirks_counts_are_strings_costs_null_and_created_at_key(fake_quirks_dataset: Dataset) -> None:
    body = {
        "metrics": ["request_count", "total_usage", "usage_file", "byok_usage", "avg_latency"],
        "dimensions": ["provider"],
        "granularity": "day",
        "time_range": {"start": days_back(2), "end": days_back(0)},
    }
    server = start_clocked_fake(fake_quirks_dataset, FakeClock(), analytics_rate_per_minute=None, validate=False)
    try:
        with client_for(server) as client:
            quirky = rows(client, **body)
    finally:
        server.stop()
    assert quirky and all(set(r) == {"created_at__day", "provider", *body["metrics"]} for r in quirky)
    assert all(r["created_at__day"].endswith(" 00:00:00") for r in quirky)
    assert all(isinstance(r["request_count"], str) and r["request_count"].isdigit() for r in quirky)
    assert all(r["usage_file"] is None and isinstance(r["total_usage"], float) for r in quirky)
    azure = [r for r in quirky if r["provider"] in BYOK_PROVIDERS]
    assert azure and all(isinstance(r["byok_usage"], float) for r in azure)
    assert all(r["byok_usage"] is None for r in quirky if r["provider"] not in BYOK_PROVIDERS)
    assert all(isinstance(r["avg_latency"], float) for r in quirky)


def test_spec_mode_counts_are_numbers_and_unused_costs_zero(mgmt: httpx.Client) -> None:
    result = rows(
        mgmt,
        metrics=["request_count", "usage_file", "byok_usage"],
        dimensions=["provider"],
        granularity="day",
        time_range={"start": days_back(2), "end": days_back(0)},
    )
    assert all(set(r) == {"date__day", "provider", "request_count", "usage_file", "byok_usage"} for r in result)
    assert all(type(r["request_count"]) is int and r["usage_file"] == pytest.approx(0, abs=1e-12) for r in result)
    assert all(r["byok_usage"] == pytest.approx(0, abs=1e-12) for r in result if r["provider"] not in BYOK_PROVIDERS)


# --- rate limit -----------------------------------------------------------------------------------------------


def test_64_queries_a_minute_then_429_until_the_clock_moves(clocked_fake: FakeServer, fake_clock: FakeClock) -> None:
    body = {"metrics": ["request_count"], "time_range": {"start": days_back(1), "end": days_back(0)}}
    with client_for(clocked_fake) as client:
        for i in range(64):
            assert client.post(QUERY, json=body).status_code == 200, i
            fake_clock.advance(0.5)  # 64 requests over 32 s: all inside one minute
        refused = client.post(QUERY, json=body)
        assert "Rate limit" in error_of(refused, 429)
        retry_after = int(refused.headers["Retry-After"])
        assert retry_after == 28  # the first request (t=0) leaves the window at t=60; now is t=32
        assert client.get("/analytics/meta").status_code == 200  # only the query endpoint is limited
        error_of(client.post(QUERY, json=body), 429)  # refusals do not count, but do not help either
        fake_clock.advance(retry_after - 0.5)
        error_of(client.post(QUERY, json=body), 429)
        fake_clock.advance(0.5)
        assert client.post(QUERY, json=body).status_code == 200
        error_of(client.post(QUERY, json=body), 429)  # the slot of t=0.5 frees at t=60.5
        fake_clock.advance(60)
        assert all(client.post(QUERY, json=body).status_code == 200 for _ in range(64))


def test_rate_limit_can_be_changed_or_disabled(clocked_fake: FakeServer) -> None:
    body = {"metrics": ["request_count"], "time_range": {"start": days_back(1), "end": days_back(0)}}
    clocked_fake.analytics_rate_per_minute = 2
    with client_for(clocked_fake) as client:
        assert [client.post(QUERY, json=body).status_code for _ in range(3)] == [200, 200, 429]
        clocked_fake.analytics_rate_per_minute = None
        assert all(client.post(QUERY, json=body).status_code == 200 for _ in range(100))
    with pytest.raises(ValueError):
        clocked_fake.analytics_rate_per_minute = 0


def test_query_timeout_is_an_injectable_fault(fresh_fake: FakeServer) -> None:
    fresh_fake.add_fault(QUERY, "status", code=408, message="Query timed out — narrow the time range")
    with client_for(fresh_fake) as client:
        assert "narrow the time range" in error_of(client.post(QUERY, json={"metrics": ["request_count"]}), 408)
        assert client.post(QUERY, json={"metrics": ["request_count"]}).status_code == 200
