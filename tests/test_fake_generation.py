"""The fake's GET /generation, /organization/members and /models/{author}/{slug}/endpoints, and the columns the
analytics engine added to the data set.

Real HTTP on loopback, data pinned at FAKE_NOW (2026-11-20T15:30Z), time-dependent behaviour on a FakeClock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from fake_openrouter import server as fake_server
from fake_openrouter.account import MEMBERS
from fake_openrouter.catalog import BYOK_PROVIDERS, MODELS_BY_ID, terms
from fake_openrouter.dataset import Dataset, build
from fake_openrouter.server import FakeServer
from tests.fake_fixtures import API_KEY, FAKE_NOW, FakeClock, client_for, start_clocked_fake
from tests.spec_validation import SpecValidator

TABLE_FIELDS = (
    "id, model, provider_name, app_id, origin, http_referer, external_user, api_type, tokens_prompt, "
    "tokens_completion, native_tokens_prompt, native_tokens_completion, native_tokens_reasoning, "
    "native_tokens_cached, usage, total_cost, upstream_inference_cost, cache_discount, is_byok, latency, "
    "generation_time, finish_reason, native_finish_reason, streamed, cancelled, workspace_id, created_at, "
    "model_permaslug, endpoint_id"
)


@pytest.fixture(scope="module")
def mgmt(fake_unlimited: FakeServer) -> Iterator[httpx.Client]:
    with client_for(fake_unlimited) as client:
        yield client


def table_rows(ds: Dataset, where: str, limit: int = 1, order: str = "id") -> list[dict[str, Any]]:
    cur = ds.cursor()
    try:
        result = cur.execute(f"SELECT {TABLE_FIELDS} FROM generations WHERE {where} ORDER BY {order} LIMIT {limit}")
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        cur.close()


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]["message"]
    assert response.json()["error"]["code"] == status
    return message


# --- /generation ----------------------------------------------------------------------------------------------


def test_generation_returns_the_tables_values(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    cases = {
        "plain": "NOT is_byok AND app_id IS NOT NULL AND native_tokens_cached > 0",
        "byok": "is_byok",
        "unattributed": "app_id IS NULL AND external_user IS NULL",
        "cancelled": "cancelled",
        "image": "api_type = 'image'",
        "reasoning": "native_tokens_reasoning > 0",
    }
    for case, where in cases.items():
        rows = table_rows(fake_dataset, where, limit=3)
        assert rows, case
        for row in rows:
            data = mgmt.get("/generation", params={"id": row["id"]}).json()["data"]
            for field, value in row.items():
                if field == "created_at":
                    assert data[field] == value.replace(tzinfo=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
                elif field == "origin":
                    assert data[field] == (value or "")  # required string: "" when unattributed
                elif field in ("model_permaslug", "endpoint_id"):
                    assert data["provider_responses"][-1][field] == value
                else:
                    assert data[field] == value, (case, field)
            final = data["provider_responses"][-1]
            assert final["status"] == 200 and final["provider_name"] == row["provider_name"]
            assert final["id"] == data["upstream_id"] and final["is_byok"] == row["is_byok"]
            assert data["data_region"] == "global" and isinstance(data["user_agent"], str)
            if case == "image":
                assert data["native_tokens_completion_images"] == row["native_tokens_completion"]


def test_generation_fills_the_rest_deterministically(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    rows = table_rows(fake_dataset, "created_at::DATE = '2026-11-01'", limit=200)
    first = [mgmt.get("/generation", params={"id": r["id"]}).json()["data"] for r in rows]
    again = [mgmt.get("/generation", params={"id": r["id"]}).json()["data"] for r in rows[:20]]
    assert first[:20] == again
    assert len({d["upstream_id"] for d in first}) == len(first)
    fallbacks = [d for d in first if len(d["provider_responses"]) == 2]
    assert fallbacks and all(d["provider_responses"][0]["status"] in (429, 502) for d in fallbacks)
    assert all(d["provider_responses"][0]["provider_name"] != d["provider_name"] for d in fallbacks)
    assert all(
        d["provider_responses"][0]["is_byok"] == (d["provider_responses"][0]["provider_name"] in BYOK_PROVIDERS)
        for d in fallbacks
    )
    assert any(d["moderation_latency"] is not None for d in first)


def test_generation_errors_and_keys(fake_unlimited: FakeServer, fake_dataset: Dataset) -> None:
    (row,) = table_rows(fake_dataset, "true")
    with client_for(fake_unlimited) as client:
        assert "not found" in error_of(client.get("/generation", params={"id": "gen-0000000000-nope"}), 404)
        error_of(client.get("/generation"), 400)
        error_of(client.get("/generation/content", params={"id": row["id"]}), 404)  # never served
    with client_for(fake_unlimited, API_KEY) as client:  # any valid key
        assert client.get("/generation", params={"id": row["id"]}).json()["data"]["id"] == row["id"]
    with client_for(fake_unlimited, None) as client:
        error_of(client.get("/generation", params={"id": row["id"]}), 401)


def test_fresh_ids_answer_404_until_the_clock_passes(clocked_fake: FakeServer, fake_clock: FakeClock) -> None:
    ids = [r["id"] for r in table_rows(clocked_fake.dataset, "created_at::DATE = '2026-11-19'", limit=3)]
    clocked_fake.make_fresh(ids[:2], seconds=5)
    with client_for(clocked_fake) as client:
        assert [client.get("/generation", params={"id": i}).status_code for i in ids] == [404, 404, 200]
        fake_clock.advance(4.9)
        assert client.get("/generation", params={"id": ids[0]}).status_code == 404
        fake_clock.advance(0.1)
        assert [client.get("/generation", params={"id": i}).status_code for i in ids] == [200, 200, 200]


def test_generations_of_the_last_seconds_are_fresh(fake_dataset: Dataset) -> None:
    (latest,) = table_rows(fake_dataset, "created_at < '2026-11-20 12:00:00'", order="created_at DESC")
    created = latest["created_at"].replace(tzinfo=UTC)
    ds = build(created + timedelta(seconds=2))  # the data set ends 2 s after that generation
    clock = FakeClock()
    server = start_clocked_fake(ds, clock)
    try:
        with client_for(server) as client:
            assert client.get("/generation", params={"id": latest["id"]}).status_code == 404
            clock.advance(2.9)
            assert client.get("/generation", params={"id": latest["id"]}).status_code == 404
            clock.advance(0.2)  # now 5.1 s after it was made
            assert client.get("/generation", params={"id": latest["id"]}).json()["data"]["id"] == latest["id"]
            assert server.now() == created + timedelta(seconds=5.1)
    finally:
        server.stop()


def test_injected_latency(fake_dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake's sleeps are recorded as well as taken: that no latency is added once it is set to 0 is then a
    # fact, not a wall-clock bound a loaded machine can break.
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(fake_server, "time", SimpleNamespace(sleep=sleep))
    server = start_clocked_fake(fake_dataset, FakeClock(), latency_s=0.05)
    try:
        with client_for(server) as client:
            client.get("/credits")  # connect first
            started = time.perf_counter()
            for _ in range(3):
                assert client.get("/credits").status_code == 200
            assert time.perf_counter() - started >= 0.15
            assert slept == [0.05] * 4
            server.latency_s = 0
            assert client.get("/credits").status_code == 200
            assert slept == [0.05] * 4
    finally:
        server.stop()


def test_fresh_ids_over_the_control_endpoint(clocked_fake: FakeServer, fake_clock: FakeClock) -> None:
    (row,) = table_rows(clocked_fake.dataset, "true")
    with httpx.Client(base_url=clocked_fake.root_url) as control:
        assert control.post("/__fake__/fresh", json={"ids": [row["id"]], "seconds": 3}).status_code == 200
        assert control.post("/__fake__/fresh", json={"ids": "nope"}).status_code == 400
    with client_for(clocked_fake) as client:
        assert client.get("/generation", params={"id": row["id"]}).status_code == 404
        fake_clock.advance(3)
        assert client.get("/generation", params={"id": row["id"]}).status_code == 200


# --- /organization/members ----------------------------------------------------------------------------------


def test_members_paging(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    everyone = mgmt.get("/organization/members").json()
    assert everyone["total_count"] == len(everyone["data"]) >= 4
    pages = [mgmt.get("/organization/members", params={"offset": o, "limit": 2}).json() for o in (0, 2, 4)]
    assert [len(p["data"]) for p in pages] == [2, 2, 0] and all(p["total_count"] == 4 for p in pages)
    assert [m for p in pages for m in p["data"]] == everyone["data"]
    assert {m["id"] for m in everyone["data"]} == {m.id for m in MEMBERS}
    assert all(m["id"].startswith("user_") and "@" in m["email"] for m in everyone["data"])
    assert {m["role"] for m in everyone["data"]} == {"org:admin", "org:member"}
    assert any(m["last_name"] is None for m in everyone["data"])
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}):
        error_of(mgmt.get("/organization/members", params=bad), 400)
    creators = {k.creator_user_id for k in fake_dataset.account.keys}
    assert creators - {None} <= {m["id"] for m in everyone["data"]}


def test_members_need_a_management_key(fake_unlimited: FakeServer) -> None:
    with client_for(fake_unlimited, API_KEY) as client:
        error_of(client.get("/organization/members"), 403)


def test_activity_per_member_is_their_keys(mgmt: httpx.Client, fake_dataset: Dataset) -> None:
    total = sum(r["requests"] for r in mgmt.get("/activity").json()["data"])
    per_member = {
        m.id: sum(r["requests"] for r in mgmt.get("/activity", params={"user_id": m.id}).json()["data"])
        for m in fake_dataset.account.members
    }
    assert all(per_member.values()) and sum(per_member.values()) == total  # legacy-bot is idle by now
    assert mgmt.get("/activity", params={"user_id": "user_nobody"}).json()["data"] == []


# --- /models/{author}/{slug}/endpoints ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_id",
    [
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4.5",
        "meta-llama/llama-3.3-70b-instruct",
        "deepseek/deepseek-v3.2",
        "black-forest-labs/flux.2-pro",
    ],
)
def test_model_endpoints(mgmt: httpx.Client, model_id: str) -> None:
    model = MODELS_BY_ID[model_id]
    listed = {m["id"]: m for m in mgmt.get("/models", params={"output_modalities": "all"}).json()["data"]}[model_id]
    data = mgmt.get(f"/models/{model_id}/endpoints").json()["data"]
    assert (data["id"], data["name"], data["created"]) == (model.id, model.name, listed["created"])
    assert data["architecture"]["output_modalities"] == list(model.output_modalities)
    assert [e["provider_name"] for e in data["endpoints"]] == [p for p, _ in model.providers]
    for endpoint in data["endpoints"]:
        # The model's list prices, plus what this endpoint adds: its discount and its own (later) overrides.
        own = terms(model_id, endpoint["provider_name"])
        extra = {"discount": own.discount} if own.discount else {}
        pricing = {k: v for k, v in endpoint["pricing"].items() if k not in extra}
        overrides = pricing.pop("overrides", [])
        base = {k: v for k, v in listed["pricing"].items() if k != "overrides"}
        assert endpoint["model_id"] == model.canonical_slug and pricing == base
        assert overrides[: len(listed["pricing"].get("overrides", []))] == listed["pricing"].get("overrides", [])
        assert {k: endpoint["pricing"][k] for k in extra} == extra
        assert 90 <= endpoint["uptime_last_1d"] <= 100 and endpoint["status"] == 0
        lat, tput = endpoint["latency_last_30m"], endpoint["throughput_last_30m"]
        assert lat["p50"] <= lat["p75"] <= lat["p90"] <= lat["p99"]
        assert tput["p50"] >= tput["p75"] >= tput["p90"] >= tput["p99"] > 0
    assert mgmt.get(f"/models/{model_id}/endpoints").json()["data"] == data  # deterministic
    assert mgmt.get(listed["links"]["details"]).json()["data"] == data  # /models links here


def test_model_endpoints_without_key_and_unknown_model(fake_unlimited: FakeServer) -> None:
    with client_for(fake_unlimited, None) as client:
        data = client.get("/models/openai/gpt-4o-mini/endpoints").json()["data"]
        assert all(e["latency_last_30m"] is None and e["throughput_last_30m"] is None for e in data["endpoints"])
        assert "not found" in error_of(client.get("/models/openai/gpt-9/endpoints"), 404)
        error_of(client.get("/models/openai-gpt-4o/endpoints"), 404)
    with client_for(fake_unlimited, "sk-or-v1-bogus") as client:
        error_of(client.get("/models/openai/gpt-4o/endpoints"), 401)


# --- the data set's added columns -------------------------------------------------------------------------------


def test_extras_are_seeded_per_day_like_the_rest(fake_dataset: Dataset) -> None:
    earlier_now = FAKE_NOW - timedelta(days=2, hours=5)
    # One XOR of row hashes per column, over the generations both data sets have.
    fingerprint = (
        "SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM generation_extras "
        "WHERE id IN (SELECT id FROM generations WHERE created_at BETWEEN ? AND ?)"
    )
    bounds = [datetime.combine(fake_dataset.first_day, datetime.min.time()), earlier_now.replace(tzinfo=None)]

    def fp(ds: Dataset) -> list[tuple[Any, ...]]:
        cur = ds.cursor()
        try:
            return cur.execute(fingerprint, bounds).fetchall()
        finally:
            cur.close()

    assert fp(build(earlier_now)) == fp(fake_dataset)
    cur = fake_dataset.cursor()
    try:
        ((rows, extras, users, countries, variants),) = cur.execute(
            "SELECT (SELECT count(*) FROM generations), count(*), count(DISTINCT user_id), count(DISTINCT country), "
            "count(DISTINCT variant) FROM generation_extras"
        ).fetchall()
    finally:
        cur.close()
    assert rows == extras and users == len(MEMBERS) and countries >= 10 and variants == 3


def test_server_now_follows_the_clock(clocked_fake: FakeServer, fake_clock: FakeClock) -> None:
    assert clocked_fake.now() == FAKE_NOW
    fake_clock.advance(90)
    assert clocked_fake.now() == FAKE_NOW + timedelta(seconds=90)
    assert datetime.fromisoformat(FAKE_NOW.isoformat()) == clocked_fake.dataset.now


def test_spec_validator_checks_the_new_operations(mgmt: httpx.Client, spec_validator: SpecValidator) -> None:
    """The session validator really checks these bodies (templated paths included), so green means conforming."""
    json_header = {"Content-Type": "application/json"}
    endpoints = mgmt.get("/models/openai/gpt-4o/endpoints").json()
    path = "/api/v1/models/openai/gpt-4o/endpoints"
    assert spec_validator.errors("GET", path, {}, 200, json_header, json.dumps(endpoints).encode()) == []
    endpoints["data"]["endpoints"][0]["status"] = 7
    assert spec_validator.errors("GET", path, {}, 200, json_header, json.dumps(endpoints).encode())
    gen_id = mgmt.post(
        "/analytics/query", json={"metrics": ["request_count"], "dimensions": ["generation_id"], "limit": 1}
    ).json()["data"]["data"][0]["generation_id"]
    generation = mgmt.get("/generation", params={"id": gen_id}).json()
    query = {"id": gen_id}
    assert (
        spec_validator.errors("GET", "/api/v1/generation", query, 200, json_header, json.dumps(generation).encode())
        == []
    )
    del generation["data"]["upstream_id"]
    assert spec_validator.errors("GET", "/api/v1/generation", query, 200, json_header, json.dumps(generation).encode())
