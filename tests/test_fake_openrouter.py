"""The fake OpenRouter server: auth, each endpoint, totals across endpoints, determinism, quirks, faults.

Real HTTP on loopback, clock pinned at FAKE_NOW (2026-11-20T15:30Z). Every spec-mode response is also checked
against the OpenAPI spec by tests.spec_validation.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from fake_openrouter.catalog import BYOK_PROVIDERS, MODELS_BY_ID, EndpointTerms, terms
from fake_openrouter.dataset import HISTORY_DAYS, Dataset, build
from fake_openrouter.keys import DEMO_API_KEY_NAME, key_hash
from fake_openrouter.server import FakeServer
from tests.fake_fixtures import API_KEY, FAKE_NOW, MANAGEMENT_KEY, client_for, start_fake
from tests.spec_validation import COLLECTOR, REPO_ROOT, SpecValidator

MANAGEMENT_PATHS = ["/activity", "/credits", "/keys", "/workspaces"]
TODAY = FAKE_NOW.date()
WINDOW = [TODAY - timedelta(days=d) for d in range(30, 0, -1)]
FORBIDDEN = {"error": {"code": 403, "message": "Only management keys can perform this operation"}}


@pytest.fixture(scope="module")
def mgmt(fake: FakeServer) -> Iterator[httpx.Client]:
    with client_for(fake) as client:
        yield client


def get_data(client: httpx.Client, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def sql(ds: Dataset, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    cur = ds.cursor()
    try:
        return cur.execute(query, params or []).fetchall()
    finally:
        cur.close()


def window_sql(ds: Dataset, select: str, extra: str = "", params: list[Any] | None = None) -> tuple[Any, ...]:
    start, end = datetime.combine(WINDOW[0], datetime.min.time()), datetime.combine(TODAY, datetime.min.time())
    rows = sql(
        ds,
        f"SELECT {select} FROM generations WHERE created_at >= ? AND created_at < ? {extra}",
        [start, end, *(params or [])],
    )
    return rows[0]


# --- auth -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*MANAGEMENT_PATHS, "/key"])
def test_missing_or_unknown_key_is_401(fake: FakeServer, path: str) -> None:
    for key in (None, "sk-or-v1-not-a-real-key"):
        with client_for(fake, key) as client:
            response = client.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == 401


@pytest.mark.parametrize("path", MANAGEMENT_PATHS)
def test_regular_key_on_management_endpoint_is_403(fake: FakeServer, path: str) -> None:
    with client_for(fake, API_KEY) as client:
        response = client.get(path)
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def test_models_answers_without_key_but_not_with_a_bad_one(fake: FakeServer) -> None:
    with client_for(fake, None) as client:
        assert client.get("/models").status_code == 200
    with client_for(fake, "sk-or-v1-bogus") as client:
        assert client.get("/models").status_code == 401


def test_management_key_works_on_key_and_models(mgmt: httpx.Client) -> None:
    data = get_data(mgmt, "/key")
    assert data["is_management_key"] is True and data["usage"] == pytest.approx(0, abs=1e-12)
    assert get_data(mgmt, "/models")


def test_regular_key_sees_its_own_key(fake: FakeServer, mgmt: httpx.Client) -> None:
    with client_for(fake, API_KEY) as client:
        own = get_data(client, "/key")
        assert client.get("/models").status_code == 200
    listed = {k["name"]: k for k in get_data(mgmt, "/keys")}[DEMO_API_KEY_NAME]
    assert own["is_management_key"] is False
    assert listed["hash"] == key_hash(API_KEY) and own["label"] == listed["label"]
    assert own["usage"] == pytest.approx(listed["usage"])


def test_unknown_path_is_404_with_error_body(mgmt: httpx.Client, fake: FakeServer) -> None:
    for url in ("/nope", f"{fake.root_url}/elsewhere"):
        response = mgmt.get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == 404


# --- /activity --------------------------------------------------------------------------------------------


def test_activity_covers_the_30_completed_days(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    rows = get_data(mgmt, "/activity")
    assert sorted({r["date"] for r in rows}) == [d.isoformat() for d in WINDOW]
    keys = Counter((r["date"], r["model"], r["endpoint_id"]) for r in rows)
    assert max(keys.values()) == 1
    assert len({(r["date"], r["model"]) for r in rows}) < len(rows)  # several endpoints per model and day
    for row in rows:
        assert isinstance(row["usage"], float) and isinstance(row["byok_usage_inference"], float)
        assert all(
            isinstance(row[k], int) for k in ("requests", "prompt_tokens", "completion_tokens", "reasoning_tokens")
        )
        assert "workspace_id" not in row
    count, usage = window_sql(fake_dataset, "count(*), sum(usage)")
    assert sum(r["requests"] for r in rows) == count
    assert sum(r["usage"] for r in rows) == pytest.approx(usage)


def test_activity_date_parameter(mgmt: httpx.Client) -> None:
    day = WINDOW[5].isoformat()
    rows = get_data(mgmt, "/activity", date=day)
    assert rows and {r["date"] for r in rows} == {day}
    for bad in (TODAY.isoformat(), (TODAY - timedelta(days=31)).isoformat(), "2026-13-01", "yesterday"):
        response = mgmt.get("/activity", params={"date": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == 400


def test_activity_per_key_adds_up(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    total = get_data(mgmt, "/activity")
    keys = get_data(mgmt, "/keys", include_disabled="true")
    keys += [k for ws in fake_dataset.account.workspaces[1:] for k in get_data(mgmt, "/keys", workspace_id=ws.id)]
    per_key = {k["hash"]: get_data(mgmt, "/activity", api_key_hash=k["hash"]) for k in keys}
    assert sum(r["requests"] for rows in per_key.values() for r in rows) == sum(r["requests"] for r in total)
    assert sum(r["usage"] for rows in per_key.values() for r in rows) == pytest.approx(sum(r["usage"] for r in total))
    demo = per_key[key_hash(API_KEY)]
    (count,) = window_sql(fake_dataset, "count(*)", "AND api_key_hash = ?", [key_hash(API_KEY)])
    assert sum(r["requests"] for r in demo) == count
    assert get_data(mgmt, "/activity", api_key_hash="0" * 64) == []


def test_activity_group_by_workspace(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    plain = get_data(mgmt, "/activity")
    grouped = get_data(mgmt, "/activity", group_by="workspace")
    workspaces = {w.id for w in fake_dataset.account.workspaces}
    assert {r["workspace_id"] for r in grouped} == workspaces
    assert len(grouped) > len(plain)
    assert sum(r["requests"] for r in grouped) == sum(r["requests"] for r in plain)
    assert sum(r["usage"] for r in grouped) == pytest.approx(sum(r["usage"] for r in plain))
    research = fake_dataset.account.workspaces[1].id
    only = get_data(mgmt, "/activity", workspace_id=research)
    assert sum(r["requests"] for r in only) == sum(r["requests"] for r in grouped if r["workspace_id"] == research)


def test_activity_byok_is_a_five_percent_fee(mgmt: httpx.Client) -> None:
    rows = get_data(mgmt, "/activity")
    byok = [r for r in rows if r["provider_name"] in BYOK_PROVIDERS]
    assert byok and all(r["byok_usage_inference"] > 0 for r in byok)
    # Each request's fee is billed rounded to the nano-dollar: a row is off by less than one per request.
    assert all(r["usage"] == pytest.approx(0.05 * r["byok_usage_inference"], abs=1e-9 * r["requests"]) for r in byok)
    assert all(
        r["byok_usage_inference"] == pytest.approx(0, abs=1e-12)
        for r in rows
        if r["provider_name"] not in BYOK_PROVIDERS
    )


def test_activity_reasoning_is_within_completion_in_spec_mode(mgmt: httpx.Client) -> None:
    rows = get_data(mgmt, "/activity")
    assert any(r["reasoning_tokens"] > 0 for r in rows)
    assert all(r["reasoning_tokens"] <= r["completion_tokens"] for r in rows)


# --- /key, /keys, /credits, /workspaces ----------------------------------------------------------------------


def _expected_usage(ds: Dataset, key_hash_hex: str) -> dict[str, float]:
    day = datetime(TODAY.year, TODAY.month, TODAY.day)
    week, month = day - timedelta(days=TODAY.weekday()), day.replace(day=1)
    rows = sql(
        ds, "SELECT created_at, usage, byok_usage_inference FROM generations WHERE api_key_hash = ?", [key_hash_hex]
    )
    out = dict.fromkeys(
        ("usage", "usage_daily", "usage_weekly", "usage_monthly", "byok_usage", "byok_usage_monthly"), 0.0
    )
    for created, usage, byok in rows:
        out["usage"] += usage
        out["byok_usage"] += byok
        out["usage_daily"] += usage if created >= day else 0
        out["usage_weekly"] += usage if created >= week else 0
        out["usage_monthly"] += usage if created >= month else 0
        out["byok_usage_monthly"] += byok if created >= month else 0
    return out


def test_key_usage_counters_match_the_data(fake: FakeServer, fake_dataset: Dataset) -> None:
    with client_for(fake, API_KEY) as client:
        data = get_data(client, "/key")
    for name, value in _expected_usage(fake_dataset, key_hash(API_KEY)).items():
        assert data[name] == pytest.approx(value), name
    assert 0 < data["usage_daily"] < data["usage_weekly"] < data["usage_monthly"] < data["usage"]


def test_keys_usage_matches_data_and_credits(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    keys = [
        k
        for ws in fake_dataset.account.workspaces
        for k in get_data(mgmt, "/keys", workspace_id=ws.id, include_disabled="true")
    ]
    assert len(keys) >= 6 and len({k["workspace_id"] for k in keys}) >= 2
    for key in keys:
        assert re.fullmatch(r"[0-9a-f]{64}", key["hash"])
        expected = _expected_usage(fake_dataset, key["hash"])
        assert key["usage"] == pytest.approx(expected["usage"]) and key["usage_weekly"] == pytest.approx(
            expected["usage_weekly"]
        )
        if key["limit"] is not None:
            assert key["limit_remaining"] <= key["limit"]
    assert {k["limit_reset"] for k in keys} >= {"daily", "weekly", "monthly"}
    credits = get_data(mgmt, "/credits")
    ((total,),) = sql(fake_dataset, "SELECT sum(usage) FROM generations")
    assert credits["total_usage"] == pytest.approx(total) == pytest.approx(sum(k["usage"] for k in keys))
    assert credits["total_credits"] > credits["total_usage"]


def test_keys_default_workspace_disabled_and_workspace_filter(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    default, research = fake_dataset.account.workspaces[0].id, fake_dataset.account.workspaces[1].id
    enabled = get_data(mgmt, "/keys")
    everything = get_data(mgmt, "/keys", include_disabled="true")
    assert {k["workspace_id"] for k in everything} == {default}
    assert all(not k["disabled"] for k in enabled)
    disabled = [k for k in everything if k["disabled"]]
    assert [k["name"] for k in disabled] == ["legacy-bot"]
    assert {k["hash"] for k in enabled} | {disabled[0]["hash"]} == {k["hash"] for k in everything}
    assert {k["workspace_id"] for k in get_data(mgmt, "/keys", workspace_id=research)} == {research}
    assert mgmt.get("/keys", params={"workspace_id": "not-a-uuid"}).status_code == 400


def test_keys_pages_of_100(fake_now: datetime) -> None:
    ds = build(fake_now, idle_keys=150)
    with start_fake(ds) as server, client_for(server) as client:
        pages, offset = [], 0
        while True:
            page = get_data(client, "/keys", offset=offset)
            pages.append(page)
            if len(page) < 100:
                break
            offset += 100
    assert [len(p) for p in pages] == [100, 54]  # 150 idle + 4 enabled traffic keys in the default workspace
    hashes = [k["hash"] for p in pages for k in p]
    assert len(set(hashes)) == len(hashes)
    assert sum(1 for p in pages for k in p if k["usage"] == pytest.approx(0, abs=1e-12)) == 150


def test_workspaces(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    response = mgmt.get("/workspaces").json()
    assert response["total_count"] == len(response["data"]) == 3
    assert response["data"][0]["id"] == fake_dataset.account.default_workspace.id
    second = mgmt.get("/workspaces", params={"offset": 1, "limit": 1}).json()
    assert second["total_count"] == 3 and [w["id"] for w in second["data"]] == [response["data"][1]["id"]]
    assert mgmt.get("/workspaces", params={"limit": 0}).status_code == 400


# --- /models ------------------------------------------------------------------------------------------------


def test_models_modalities(mgmt: httpx.Client) -> None:
    default = mgmt.get("/models").json()
    every = mgmt.get("/models", params={"output_modalities": "all"}).json()
    images = get_data(mgmt, "/models", output_modalities="image")
    assert all("text" in m["architecture"]["output_modalities"] for m in default["data"])
    extra = {m["id"] for m in every["data"]} - {m["id"] for m in default["data"]}
    assert len(extra) >= 2 and {m["id"] for m in images} <= extra
    assert default["total_count"] == len(default["data"]) and every["total_count"] == len(every["data"]) >= 30
    assert len(get_data(mgmt, "/models", output_modalities="text,embeddings")) == len(default["data"]) + 1


def test_models_prices_are_current_strings(mgmt: httpx.Client) -> None:
    models = {m["id"]: m for m in get_data(mgmt, "/models", output_modalities="all")}
    for model_id, item in models.items():
        model = MODELS_BY_ID[model_id]
        assert item["canonical_slug"] == model.canonical_slug
        assert all(isinstance(v, str) for k, v in item["pricing"].items() if k not in ("discount", "overrides"))
        prices = model.price_at(TODAY)
        assert Decimal(item["pricing"]["prompt"]) * 1_000_000 == Decimal(repr(prices.prompt))
        assert "e" not in item["pricing"]["completion"].lower()
    assert models["openai/gpt-4o"]["pricing"]["prompt"] == "0.000002"  # 2.5 $/M until the 2026-05-01 cut


def test_models_paging(mgmt: httpx.Client) -> None:
    first = mgmt.get("/models", params={"limit": 10, "output_modalities": "all"}).json()
    assert len(first["data"]) == 10 and first["links"]["next"]
    seen = [m["id"] for m in first["data"]]
    url = first["links"]["next"]
    while url:
        page = mgmt.get(url).json()
        seen += [m["id"] for m in page["data"]]
        url = page["links"]["next"]
    assert len(seen) == len(set(seen)) == first["total_count"]


def test_activity_permaslugs_are_model_canonical_slugs(mgmt: httpx.Client) -> None:
    slugs = {m["id"]: m["canonical_slug"] for m in get_data(mgmt, "/models", output_modalities="all")}
    for row in get_data(mgmt, "/activity", date=WINDOW[-1].isoformat()):
        assert slugs[row["model"]] == row["model_permaslug"]


# --- the data set -------------------------------------------------------------------------------------------


def test_dataset_shape(fake_dataset: Dataset) -> None:
    ((n, first, last, models, apps, keys, unattributed, byok),) = sql(
        fake_dataset,
        "SELECT count(*), min(created_at), max(created_at), count(DISTINCT model), count(DISTINCT app_id), "
        "count(DISTINCT api_key_hash), count(*) FILTER (WHERE app_id IS NULL), count(*) FILTER (WHERE is_byok) "
        "FROM generations",
    )
    assert (FAKE_NOW.date() - first.date()).days == HISTORY_DAYS
    assert last <= FAKE_NOW.replace(tzinfo=None) and last.date() == TODAY
    assert 150 * HISTORY_DAYS < n < 400 * HISTORY_DAYS
    assert models >= 30 and apps >= 10 and keys >= 6 and unattributed > 0 and byok > 0
    ids = sql(fake_dataset, "SELECT id FROM generations USING SAMPLE 200 ROWS")
    assert all(re.fullmatch(r"gen-\d{10}-[A-Za-z0-9]{20}", i) for (i,) in ids)


def test_costs_follow_the_price_in_force(fake_dataset: Dataset) -> None:
    """Plain requests (no cache write, no search, standard tier, an endpoint without terms, a prompt under
    any long-context threshold) cost the list prices in force that day, to the nano-dollar."""
    changed = [
        m for m in MODELS_BY_ID.values() if any(fake_dataset.first_day < c.effective <= TODAY for c in m.prices[1:])
    ]
    assert len(changed) >= 5
    assert any(sum(fake_dataset.first_day < c.effective <= TODAY for c in m.prices[1:]) == 2 for m in changed)
    for model in changed:
        plain = [p for p, _ in model.providers if terms(model.id, p) == EndpointTerms()]
        rows = sql(
            fake_dataset,
            "SELECT created_at, native_tokens_prompt, native_tokens_cached, native_tokens_completion, "
            "native_tokens_reasoning, usage, upstream_inference_cost, is_byok FROM generations g "
            "JOIN generation_bills b USING (id) WHERE model = ? AND list_contains(?, provider_name) "
            "AND write_5m = 0 AND write_1h = 0 AND searches = 0 AND coalesce(service_tier, 'standard') = 'standard' "
            "AND native_tokens_prompt <= 200000",
            [model.id, plain],
        )
        unit_by_price: dict[tuple[float, ...], list[float]] = defaultdict(list)
        for created, prompt, cached, completion, reasoning, usage, upstream, is_byok in rows:
            prices = model.price_at(created.date())
            p, c, cache, req = prices.per_token()
            r = c if prices.reasoning is None else prices.reasoning / 1e6
            expected = (prompt - cached) * p + cached * cache + (completion - reasoning) * c + reasoning * r + req
            assert upstream == pytest.approx(expected, abs=1e-9)
            assert usage == pytest.approx(expected * (0.05 if is_byok else 1.0), abs=1e-9)
            unit_by_price[(p, c)].append(created.date().toordinal())
        assert len(unit_by_price) >= 2, model.id  # traffic on both sides of a change


def test_same_days_agree_across_builds(fake_dataset: Dataset) -> None:
    earlier_now = FAKE_NOW - timedelta(days=3, hours=7)
    earlier = build(earlier_now)
    # One XOR of row hashes per column: equal iff (with overwhelming odds) the same rows, values and all.
    fingerprint = "SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM generations WHERE created_at BETWEEN ? AND ?"
    bounds = [datetime.combine(fake_dataset.first_day, datetime.min.time()), earlier_now.replace(tzinfo=None)]
    a = sql(fake_dataset, fingerprint, bounds)
    assert a[0][0] > 100 * HISTORY_DAYS and len(a[0]) == 34
    assert sql(earlier, fingerprint, bounds) == a
    assert sql(build(earlier_now, seed=8), fingerprint, bounds) != a


# --- quirks mode --------------------------------------------------------------------------------------------


def test_quirks_activity(fake_quirks: FakeServer, mgmt: httpx.Client) -> None:
    with client_for(fake_quirks) as client:
        rows = get_data(client, "/activity")
    spec_rows = get_data(mgmt, "/activity")
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} 00:00:00", r["date"]) for r in rows)
    assert all("variant" in r for r in rows)  # a field the spec does not know
    assert any(r["reasoning_tokens"] > r["completion_tokens"] for r in rows)
    for field in ("requests", "reasoning_tokens", "prompt_tokens"):
        assert sum(r[field] for r in rows) == sum(r[field] for r in spec_rows)
    assert sum(r["usage"] for r in rows) == pytest.approx(sum(r["usage"] for r in spec_rows))
    assert sum(r["completion_tokens"] for r in rows) < sum(r["completion_tokens"] for r in spec_rows)


def test_quirks_missing_required_fields(fake_quirks: FakeServer) -> None:
    with client_for(fake_quirks) as client:
        keys = get_data(client, "/keys", include_disabled="true")
        models = client.get("/models").json()
        key = get_data(client, "/key")
    assert any("workspace_id" not in k for k in keys) and any("creator_user_id" not in k for k in keys)
    assert "total_count" not in models and "links" not in models and models["data"]
    assert "rate_limit_tier" in key


# --- faults -------------------------------------------------------------------------------------------------


def test_fault_status_with_retry_after(fresh_fake: FakeServer) -> None:
    fresh_fake.add_fault("/credits", "status", times=2, code=429, retry_after=3)
    with client_for(fresh_fake) as client:
        for _ in range(2):
            response = client.get("/credits")
            assert response.status_code == 429 and response.headers["Retry-After"] == "3"
            assert response.json()["error"]["code"] == 429
        assert client.get("/credits").status_code == 200
    assert fresh_fake.request_count("/credits") == 3
    assert [r.status for r in fresh_fake.requests] == [429, 429, 200]


def test_fault_malformed_json_and_html(fresh_fake: FakeServer) -> None:
    fresh_fake.add_fault("/api/v1/activity", "malformed_json")
    fresh_fake.add_fault("/activity", "html")
    with client_for(fresh_fake) as client:
        broken = client.get("/activity")
        assert broken.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            broken.json()
        page = client.get("/activity")
        assert page.status_code == 502 and page.headers["content-type"].startswith("text/html")
        assert "<html>" in page.text
        assert client.get("/activity").status_code == 200


def test_fault_truncated_and_reset(fresh_fake: FakeServer) -> None:
    fresh_fake.add_fault("/keys", "truncated")
    fresh_fake.add_fault("/keys", "reset")
    with client_for(fresh_fake) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/keys")
        with pytest.raises(httpx.TransportError):
            client.get("/keys")
        assert client.get("/keys").status_code == 200
    assert [r.fault for r in fresh_fake.requests] == ["truncated", "reset", None]


def test_fault_delay(fresh_fake: FakeServer) -> None:
    fresh_fake.add_fault("/credits", "delay", times=2, seconds=0.6)
    with client_for(fresh_fake, timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        client.get("/credits")
    with client_for(fresh_fake) as client:
        started = time.monotonic()
        response = client.get("/credits")
        assert time.monotonic() - started >= 0.6
        assert response.status_code == 200 and "total_credits" in response.json()["data"]


def test_fault_wrong_type(fresh_fake: FakeServer, spec_validator: SpecValidator) -> None:
    fresh_fake.add_fault("/credits", "wrong_type")
    fresh_fake.add_fault("/workspaces", "wrong_type", field="name")
    with client_for(fresh_fake) as client:
        credits = client.get("/credits")
        workspaces = client.get("/workspaces")
    assert isinstance(credits.json()["data"]["total_credits"], str)
    assert isinstance(workspaces.json()["data"][0]["name"], int)
    problems = spec_validator.errors(
        "GET", "/api/v1/credits", {}, 200, {"Content-Type": "application/json"}, credits.content
    )
    assert any("total_credits" in p for p in problems)


def test_fault_any_path_and_unknown_kind(fresh_fake: FakeServer) -> None:
    with pytest.raises(ValueError):
        fresh_fake.add_fault("/credits", "explode")
    fresh_fake.add_fault("*", "status", code=503)
    with client_for(fresh_fake) as client:
        assert client.get("/models").status_code == 503
        assert client.get("/models").status_code == 200


def test_control_endpoint(fresh_fake: FakeServer) -> None:
    with httpx.Client(base_url=fresh_fake.root_url) as control:
        created = control.post("/__fake__/faults", json={"path": "/credits", "kind": "status", "code": 500, "times": 1})
        assert created.status_code == 201
        assert control.post("/__fake__/faults", json={"path": "/credits", "kind": "nope"}).status_code == 400
        with client_for(fresh_fake) as client:
            assert client.get("/credits").status_code == 500
            assert client.get("/credits").status_code == 200
        logged = control.get("/__fake__/requests").json()["data"]
    assert [(r["endpoint"], r["status"], r["auth"]) for r in logged] == [
        ("/credits", 500, "management"),
        ("/credits", 200, "management"),
    ]


def test_stop_refuses_connections(fake_dataset: Dataset) -> None:
    server = start_fake(fake_dataset)
    with client_for(server) as client:
        assert client.get("/credits").status_code == 200
        server.stop()
        with pytest.raises(httpx.TransportError):
            client.get("/credits")


def test_serve_in_a_subprocess_prints_keys_that_work() -> None:
    """`orusage fake-openrouter` prints its URL and the demo keys themselves (fake, safe to show), as the docs
    say; the printed management key reads the account, the printed regular key is refused as the real API does."""
    args = ["-m", "orusage.cli", "fake-openrouter", "--port", "0", "--now", "2026-11-20T15:30:00Z"]
    proc = subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        text = "".join(lines)
        match = re.search(r"(http://127\.0\.0\.1:\d+/api/v1)", lines[0])
        assert match, text
        base = match.group(1)
        management = re.search(r"management key \('demo-management'\): (sk-or-v1-\S+)", text)
        regular = re.search(r"regular key \('production-backend'\):\s+(sk-or-v1-\S+)", text)
        assert management and regular, text
        assert (management.group(1), regular.group(1)) == (MANAGEMENT_KEY, API_KEY)
        as_management = httpx.get(f"{base}/credits", headers={"Authorization": f"Bearer {management.group(1)}"})
        as_regular = httpx.get(f"{base}/credits", headers={"Authorization": f"Bearer {regular.group(1)}"})
        assert (as_management.status_code, as_regular.status_code) == (200, 403)
        root = base.removesuffix("/api/v1")
        assert (
            httpx.post(f"{root}/__fake__/faults", json={"path": "/models", "kind": "status", "code": 502}).status_code
            == 201
        )
        assert httpx.get(f"{base}/models").status_code == 502
        assert httpx.get(f"{base}/models").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the spec validator itself --------------------------------------------------------------------------------


def test_spec_validator_rejects_bad_bodies(spec_validator: SpecValidator) -> None:
    json_header = {"Content-Type": "application/json"}
    good = b'{"data": {"total_credits": 10.5, "total_usage": 2}}'
    assert spec_validator.errors("GET", "/api/v1/credits", {}, 200, json_header, good) == []
    wrong = spec_validator.errors(
        "GET", "/api/v1/credits", {}, 200, json_header, b'{"data": {"total_credits": "x", "total_usage": 2}}'
    )
    assert wrong and "data.total_credits" in wrong[0]
    missing = spec_validator.errors(
        "GET", "/api/v1/activity", {}, 200, json_header, b'{"data": [{"date": "2026-01-01"}]}'
    )
    assert any("requests" in p for p in missing)
    # 403 is not listed for /keys: the body must still be the error schema, with the right code.
    assert spec_validator.errors("GET", "/api/v1/keys", {}, 403, json_header, json.dumps(FORBIDDEN).encode()) == []
    assert spec_validator.errors("GET", "/api/v1/keys", {}, 403, json_header, b'{"error": {"message": "no"}}')
    assert spec_validator.errors("GET", "/api/v1/keys", {}, 200, {"Content-Type": "text/html"}, b"<html>")


def test_every_spec_mode_endpoint_validates(fake: FakeServer, spec_validator: SpecValidator) -> None:
    COLLECTOR.drain()
    with client_for(fake) as client:
        for path, params in [
            ("/activity", {}),
            ("/activity", {"group_by": "workspace"}),
            ("/key", {}),
            ("/keys", {"include_disabled": "true"}),
            ("/credits", {}),
            ("/models", {"output_modalities": "all"}),
            ("/workspaces", {}),
            ("/activity", {"date": "1999-01-01"}),
        ]:
            client.get(path, params=params)
    assert COLLECTOR.drain() == []
