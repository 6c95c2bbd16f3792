"""The fake's Broadcast follows the destination's settings as OpenRouter documents them, and lists the
destination as the spec says (every answer of a spec-mode fake is validated against the spec)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from fake_openrouter.broadcast import CONTENT_KEYS, GENERATION_PREFIX, GROUPS, Destination, sampled
from fake_openrouter.dataset import Dataset, build
from fake_openrouter.server import FakeServer
from ingest.broadcast import otlp
from tests.fake_fixtures import FAKE_NOW, client_for, start_fake

DAY_START = datetime(2026, 11, 19)


@pytest.fixture(scope="module")
def own_dataset() -> Dataset:
    return build(FAKE_NOW)  # billing adds rows: never the session's data set


@pytest.fixture(scope="module")
def sender(own_dataset: Dataset) -> Iterator[FakeServer]:
    server = start_fake(own_dataset)
    yield server
    server.stop()


def _keys(payload: dict[str, Any]) -> set[str]:
    return {
        a["key"]
        for r in payload["resourceSpans"]
        for s in r["scopeSpans"]
        for span in s["spans"]
        for a in span["attributes"]
    }


def test_privacy_mode_and_the_opt_in_groups_shape_the_payload(sender: FakeServer) -> None:
    fields = {name for group in GROUPS.values() for name in group} - {"model"}
    rows = sender.broadcaster.rows(since=DAY_START, until=DAY_START + timedelta(hours=6))
    row = next(r for r in rows if all(r[name] is not None for name in fields))  # absent values are not sent
    everything = _keys(sender.broadcaster.payload(row, Destination("http://x", privacy_mode=False)))
    assert set(CONTENT_KEYS) <= everything
    assert {GENERATION_PREFIX + name for group in GROUPS.values() for name in group} <= everything
    bare = _keys(
        sender.broadcaster.payload(
            row, Destination("http://x", privacy_mode=True, cost=False, identity=False, request_context=False)
        )
    )
    assert not bare & set(CONTENT_KEYS) and not any(k.startswith(GENERATION_PREFIX) for k in bare)
    assert {"gen_ai.response.id", "gen_ai.usage.total_cost", "trace.metadata.openrouter.api_key_name"} <= bare
    only_cost = _keys(sender.broadcaster.payload(row, Destination("http://x", identity=False, request_context=False)))
    assert {k.removeprefix(GENERATION_PREFIX) for k in only_cost if k.startswith(GENERATION_PREFIX)} == set(
        GROUPS["cost"]
    )


def test_a_payload_parses_to_the_fake_s_own_numbers(sender: FakeServer) -> None:
    row = sender.broadcaster.rows(since=DAY_START, until=DAY_START + timedelta(hours=1), limit=1)[0]
    payload = sender.broadcaster.payload(row, Destination("http://x"))
    import json

    (record,) = otlp.extract(otlp.parse(json.dumps(payload).encode())).records
    assert record.id == row["id"] and record.created_at == row["created_at"]
    assert record.fields["total_cost"] == pytest.approx(row["total_cost"], rel=1e-12)
    assert record.fields["native_tokens_prompt"] == row["native_tokens_prompt"]
    assert record.fields["model_permaslug"] == row["model_permaslug"]
    assert record.fields["api_key_name"] == row["api_key_name"]


def test_sampling_is_deterministic_and_keeps_sessions_whole() -> None:
    ids = [f"gen-{i}" for i in range(4000)]
    kept = [i for i in ids if sampled(i, None, 0.25)]
    assert kept == [i for i in ids if sampled(i, None, 0.25)]  # the same every time
    assert 0.2 < len(kept) / len(ids) < 0.3
    for session in ("sess-a", "sess-b", "sess-c", "sess-d"):
        verdicts = {sampled(i, session, 0.5) for i in ids[:50]}
        assert len(verdicts) == 1  # a session is kept or left out whole


def test_sampling_rate_and_key_filter_decide_what_is_sent(sender: FakeServer) -> None:
    rows = sender.broadcaster.rows(since=DAY_START, until=DAY_START + timedelta(days=1))
    key = rows[0]["api_key_hash"]
    sender.broadcast_to("http://127.0.0.1:9/v1/traces", api_key_hashes=[key], sampling_rate=0.0001)
    try:
        report = sender.broadcaster.send(rows)
        others = sum(1 for r in rows if r["api_key_hash"] != key)
        assert report.filtered == others
        assert report.unsampled + len(report.ids) == len(rows) - others
        assert report.statuses.get(0, 0) == len(report.ids)  # nothing listens on port 9
    finally:
        sender.stop_broadcast()


def test_destinations_are_listed_as_the_spec_says(sender: FakeServer) -> None:
    with client_for(sender) as client:
        assert client.get("/observability/destinations").json() == {"data": [], "total_count": 0}
        sender.broadcast_to("https://usage.example.com/v1/traces", token="a-long-secret-token", sampling_rate=0.5)
        try:
            listed = client.get("/observability/destinations", params={"limit": 10}).json()
            (destination,) = listed["data"]
            assert destination["sampling_rate"] == 0.5 and destination["type"] == "webhook"
            assert "a-long-secret-token" not in str(destination)  # header values are masked, as the API does
            assert client.get("/observability/destinations", params={"limit": 101}).status_code == 400
        finally:
            sender.stop_broadcast()
    with client_for(sender, key=None) as anonymous:
        assert anonymous.get("/observability/destinations").status_code == 401


def test_billing_makes_generations_every_endpoint_knows(sender: FakeServer) -> None:
    ids, report = sender.bill(2, trace={"project": "alpha"})
    assert report.ids == [] and len(ids) == 2  # no destination: billed, not sent
    with client_for(sender) as client:
        now = sender.now()
        body = {
            "metrics": ["request_count"],
            "dimensions": ["generation_id"],
            "granularity": "hour",
            "time_range": {
                "start": f"{now:%Y-%m-%dT%H}:00:00Z",
                "end": f"{now + timedelta(hours=1):%Y-%m-%dT%H}:00:00Z",
            },
        }
        listed = {r["generation_id"] for r in client.post("/analytics/query", json=body).json()["data"]["data"]}
    assert set(ids) <= listed
