"""The live feed end to end over real HTTP: the fake's Broadcast → `orusage receive`'s receiver → the spool →
the merge → the store; the receiver's refusals; the merge rule per field; missing traces.

The fake here has a data set of its own (billing adds generations to it). A store ingested from it once
(31 days of analytics, its Broadcast destination) is copied for every test. Expected values come from the
fake's own tables (what it billed and sent), never from what the receiver stored.
"""

from __future__ import annotations

import gzip
import http.client
import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from pydantic import SecretStr

from core.clock import utcnow
from fake_openrouter.broadcast import CONTENT_KEYS
from fake_openrouter.dataset import Dataset, build
from fake_openrouter.server import FakeServer
from ingest.broadcast.server import Receiver, ReceiverConfig
from ingest.broadcast.spool import Spool, spool_path
from ingest.client import OpenRouterClient
from ingest.job import run_ingest
from ingest.pacing import Pacer
from orusage.receive import merge_once
from orusage.status import load_report, render_text
from queries import broadcast as qb
from queries.store import Writer, read_snapshot, snapshot_path
from tests.fake_fixtures import FAKE_NOW, MANAGEMENT_KEY, start_fake
from tests.helpers import query
from tests.test_broadcast_otlp import attr, export, span

TOKEN = "test-receive-token-0123456789abcdef"
TODAY = FAKE_NOW.date()
DAY = TODAY - timedelta(days=1)  # a completed day analytics holds (read more than 6 h after its end)
SENTINEL = "SENTINEL-PROMPT-41c9e2"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return build(FAKE_NOW)


@pytest.fixture(scope="module")
def bfake(dataset: Dataset) -> Iterator[FakeServer]:
    server = start_fake(dataset)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ingested(bfake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding 31 days of analytics and the fake's Broadcast destination, before any delivery."""
    db = tmp_path_factory.mktemp("broadcast") / "template.duckdb"
    bfake.broadcast_to("http://127.0.0.1:9/v1/traces", token=TOKEN)  # where does not matter yet
    with Writer(db) as writer, OpenRouterClient(bfake.base_url, SecretStr(MANAGEMENT_KEY), retries=0) as client:
        run_ingest(writer, client, clock=lambda: FAKE_NOW.replace(tzinfo=None), pacer=Pacer(100_000), history_days=31)
    return db


@pytest.fixture
def store(ingested: Path, tmp_path: Path) -> Path:
    db = tmp_path / "orusage.duckdb"
    shutil.copyfile(ingested, db)
    shutil.copyfile(snapshot_path(ingested), snapshot_path(db))
    return db


def start_receiver(db: Path, token: str | None = TOKEN, max_bytes: int = 8 << 20) -> Receiver:
    config = ReceiverConfig(Spool(spool_path(db)), SecretStr(token) if token else None, max_bytes, utcnow)
    return Receiver("127.0.0.1", 0, config).start()


@pytest.fixture
def receiver(store: Path) -> Iterator[Receiver]:
    started = start_receiver(store)
    yield started
    started.stop()


def fake_rows(bfake: FakeServer, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """The fake's own data: the known answer."""
    cur = bfake.dataset.cursor()
    try:
        return cur.execute(sql, params).fetchall()
    finally:
        cur.close()


def ids_of_day(bfake: FakeServer, day: Any, limit: int | None = None) -> list[str]:
    rows = fake_rows(
        bfake,
        "SELECT id FROM generations WHERE CAST(created_at AS DATE) = ? ORDER BY created_at, id LIMIT ?",
        [day, limit or 1_000_000],
    )
    return [r[0] for r in rows]


def spooled(db: Path) -> list[Path]:
    return Spool(spool_path(db)).pending()


# ---- exactly once --------------------------------------------------------------------------------------


def test_each_generation_is_stored_once_under_duplicates_retries_and_reordering(
    bfake: FakeServer, store: Path, receiver: Receiver
) -> None:
    bfake.broadcast_to(receiver.url, token=TOKEN)
    ids = ids_of_day(bfake, DAY, 30)
    bfake.add_broadcast_fault("duplicate", 10)
    bfake.add_broadcast_fault("reorder")
    bfake.add_broadcast_fault("malformed", 2)
    first = bfake.send_broadcast(ids=ids)
    assert first.statuses == {200: 40, 400: 2} and first.ids == ids[::-1]  # newest first: reordered
    assert merge_once(store, Spool(spool_path(store))) is not None
    retried = bfake.send_broadcast(ids=ids[:10])  # a retry (by a proxy, say) of deliveries already stored
    assert retried.statuses == {200: 10}
    merge_once(store, Spool(spool_path(store)))
    assert spooled(store) == []

    stored = query(
        store,
        """SELECT id, count(*), any_value(source), sum(native_tokens_prompt), sum(total_cost), any_value(api_key_hash)
           FROM generations WHERE received_at IS NOT NULL GROUP BY id ORDER BY id""",
    )
    assert [r[0] for r in stored] == sorted(ids) and all(r[1] == 1 and r[2] == "broadcast" for r in stored)
    billed = {
        r[0]: r[1:]
        for r in fake_rows(
            bfake,
            "SELECT id, native_tokens_prompt, total_cost, api_key_hash FROM generations WHERE list_contains(?, id)",
            [ids],
        )
    }
    for gen_id, _, _, tokens, cost, key_hash in stored:
        assert tokens == billed[gen_id][0] and cost == pytest.approx(billed[gen_id][1], rel=1e-12)
        assert key_hash == billed[gen_id][2]  # the key's name, linked to its hash (one key has that name)
    receipts = query(store, "SELECT sum(deliveries), sum(new_generations), sum(duplicates) FROM broadcast_receipts")
    assert receipts == [(30 + 10 + 10, 30, 10 + 10)]


def test_a_dropped_delivery_is_counted_as_a_missing_trace_of_its_day(
    bfake: FakeServer, store: Path, receiver: Receiver
) -> None:
    bfake.broadcast_to(receiver.url, token=TOKEN)
    ids = ids_of_day(bfake, DAY)
    bfake.add_broadcast_fault("drop", 3)
    report = bfake.send_broadcast(ids=ids)
    assert len(report.dropped) == 3 and report.statuses == {200: len(ids) - 3}
    with Writer(store) as writer:  # as `orusage ingest` does first thing (publishing the snapshot)
        from ingest.broadcast.merge import merge_spool

        merge_spool(writer, Spool(spool_path(store)))
    with read_snapshot(store) as con:
        trace = qb.trace_report(con, TODAY)
    (day,) = trace.days
    assert day.date == DAY and day.counted == len(ids) and day.sampling_rate == 1.0
    assert day.received == len(ids) - 3 and day.missing == 3 and trace.missing == 3
    assert trace.destination is not None and trace.destination.name == "orusage receive"
    text = render_text(load_report(store, TODAY))
    assert "Missing traces: 3 on 1 day(s)" in text
    assert f"{DAY}" in text and "destination orusage receive (webhook): enabled, sampling 100.00%" in text


def test_expected_traces_follow_the_sampling_rate() -> None:
    day = qb.TraceDay(DAY, counted=1000, sampling_rate=0.25, received=240)
    assert day.expected == pytest.approx(250.0) and day.missing == 10
    assert qb.TraceDay(DAY, None, 0.25, 3).missing is None  # analytics does not hold the day yet


# ---- what is refused --------------------------------------------------------------------------------------


def test_a_wrong_or_missing_token_is_refused_and_nothing_is_stored(
    bfake: FakeServer, store: Path, receiver: Receiver
) -> None:
    ids = ids_of_day(bfake, DAY, 5)
    before = query(store, "SELECT count(*), count(received_at) FROM generations")
    bfake.broadcast_to(receiver.url, token="not-the-token")
    assert bfake.send_broadcast(ids=ids).statuses == {401: 5}
    bfake.broadcast_to(receiver.url)  # no Authorization header at all
    assert bfake.send_broadcast(ids=ids).statuses == {401: 5}
    bfake.broadcast_to(receiver.url, headers={"Authorization": f"Basic {TOKEN}"})
    assert bfake.send_broadcast(ids=ids).statuses == {401: 5}
    assert spooled(store) == []
    assert merge_once(store, Spool(spool_path(store))) is not None
    assert query(store, "SELECT count(*), count(received_at) FROM generations") == before
    assert receiver.counts.snapshot()["refused"] == {401: 15}


def test_a_payload_over_the_size_bound_is_refused_and_nothing_is_stored(store: Path) -> None:
    small = start_receiver(store, max_bytes=4096)
    try:
        padding = [attr(f"trace.metadata.pad{i}", "x" * 150) for i in range(40)]
        body = export(span([attr("gen_ai.response.id", "gen-too-big"), *padding]))
        assert len(body) > 4096
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        assert httpx.post(small.url, content=body, headers=headers).status_code == 413
        # Small on the wire, too big unpacked.
        packed = gzip.compress(b'{"resourceSpans": []' + b" " * 100_000 + b"}")
        answer = httpx.post(small.url, content=packed, headers={**headers, "Content-Encoding": "gzip"})
        assert len(packed) < 4096 and answer.status_code == 413
        fits = export(span([attr("gen_ai.response.id", "gen-fits"), attr("trace.metadata.a", "b")]))
        assert httpx.post(small.url, content=fits, headers=headers).status_code == 200
    finally:
        small.stop()
    merge_once(store, Spool(spool_path(store)))
    assert query(store, "SELECT id FROM generations WHERE received_at IS NOT NULL") == [("gen-fits",)]


def test_the_protocol_edges_each_get_their_answer(store: Path, receiver: Receiver) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = export(span([attr("gen_ai.response.id", "gen-edge"), attr("gen_ai.usage.total_cost", 0.5)]))
    with httpx.Client(headers=auth) as client:
        assert client.post(receiver.url, content=body, headers={"Content-Type": "text/plain"}).status_code == 415
        assert (
            client.post(receiver.url, content=b"{not json", headers={"Content-Type": "application/json"}).status_code
            == 400
        )
        assert client.post(receiver.url.replace("/v1/traces", "/other"), content=body).status_code == 404
        assert client.get(receiver.url).status_code == 405
        assert client.get(receiver.url.replace("/v1/traces", "/healthz")).status_code == 200
        brotli = {"Content-Type": "application/json", "Content-Encoding": "br"}
        assert client.post(receiver.url, content=body, headers=brotli).status_code == 415
        # The connection test: an empty payload with X-Test-Connection (empty body, or an empty export).
        for empty in (b"", b"{}", b'{"resourceSpans": []}'):
            test = client.post(
                receiver.url, content=empty, headers={"Content-Type": "application/json", "X-Test-Connection": "true"}
            )
            assert test.status_code == 200
        assert spooled(store) == []
        # PUT is a delivery like POST; gzip is understood; spans without an id are reported, not kept.
        answer = client.put(
            receiver.url.replace("/v1/traces", "/"),
            content=gzip.compress(export(span([attr("gen_ai.response.id", "gen-put")]), span([]))),
            headers={"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip"},
        )
        assert answer.status_code == 200 and answer.json()["partialSuccess"]["rejectedSpans"] == "1"
        assert client.post(receiver.url, content=body, headers={"Content-Type": "application/json"}).status_code == 200
    # Without a length the body cannot be bounded: 411.
    conn = http.client.HTTPConnection(receiver.host, receiver.port, timeout=10)
    conn.putrequest("POST", "/v1/traces")
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"2\r\n{}\r\n0\r\n\r\n")
    assert conn.getresponse().status == 411
    conn.close()
    assert len(spooled(store)) == 2
    merge_once(store, Spool(spool_path(store)))
    assert query(store, "SELECT id FROM generations WHERE received_at IS NOT NULL ORDER BY id") == [
        ("gen-edge",),
        ("gen-put",),
    ]


def test_the_receiver_refuses_to_listen_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    from core.errors import ConfigError
    from core.settings import load_settings
    from orusage.receive import check_exposure

    settings = load_settings(orusage_db=tmp_path / "o.duckdb")
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0 without ORUSAGE_RECEIVE_TOKEN"):
        check_exposure("0.0.0.0", settings)
    assert "loopback only" in (check_exposure("127.0.0.1", settings) or "")
    assert check_exposure("0.0.0.0", load_settings(orusage_db=tmp_path / "o.duckdb",
                                                  orusage_receive_token=SecretStr(TOKEN))) is None  # fmt: skip


# ---- content is never stored ------------------------------------------------------------------------------


def _text_everywhere(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(table.column, value) for every text value of every table."""
    found = []
    for table, column in con.execute(
        """SELECT table_name, column_name FROM duckdb_columns()
           WHERE NOT internal AND data_type IN ('VARCHAR', 'VARCHAR[]')
             AND table_name IN (SELECT table_name FROM duckdb_tables())"""
    ).fetchall():
        for (value,) in con.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{table}"').fetchall():
            if value is not None:
                found.append((f"{table}.{column}", value))
    return found


def test_a_prompt_never_reaches_the_spool_or_the_store(bfake: FakeServer, store: Path, receiver: Receiver) -> None:
    bfake.broadcast_to(receiver.url, token=TOKEN, privacy_mode=False)  # the fake sends prompts and completions
    ids, report = bfake.bill(2, prompt=SENTINEL, trace={"project": "sentinel-test"})
    assert report.statuses == {200: 2}
    payload = json.dumps(bfake.broadcaster.payload(bfake.broadcaster.rows(ids)[0], bfake.broadcaster.destination))
    assert payload.count(SENTINEL) >= len(CONTENT_KEYS) // 2  # the fake did send it, under several names
    # And a delivery of our own, with the prompt under every name content travels under.
    content = [attr(key, SENTINEL) for key in (*CONTENT_KEYS, "input.value", "llm.input_messages.0.message.content")]
    own = span([attr("gen_ai.response.id", "gen-own"), *content], name=SENTINEL)
    own["events"] = [{"name": "prompt", "attributes": [attr("gen_ai.prompt", SENTINEL)]}]
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    assert (
        httpx.post(receiver.url, content=export(own, resource=[attr("x", SENTINEL)]), headers=headers).status_code
        == 200
    )

    files = spooled(store)
    assert len(files) == 3 and all(SENTINEL.encode() not in f.read_bytes() for f in files)
    merge_once(store, Spool(spool_path(store)))
    assert {r[0] for r in query(store, "SELECT id FROM generations WHERE received_at IS NOT NULL")} == {*ids, "gen-own"}
    for path in (store, snapshot_path(store)):
        assert SENTINEL.encode() not in path.read_bytes()
        con = duckdb.connect(str(path), read_only=True)
        try:
            assert [hit for hit in _text_everywhere(con) if SENTINEL in hit[1]] == []
            assert ("project", "sentinel-test") in con.execute("SELECT key, value FROM generation_tags").fetchall()
        finally:
            con.close()


def test_the_destination_is_stored_without_its_config_or_token(store: Path) -> None:
    rows = query(
        store,
        """SELECT name, type, enabled, sampling_rate, privacy_mode, broadcast_generation_cost, api_key_hashes
           FROM broadcast_destinations""",
    )
    assert rows == [("orusage receive", "webhook", True, 1.0, False, True, None)]
    columns = {
        r[0]
        for r in query(store, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'broadcast_destinations'")
    }
    assert "config" not in columns and TOKEN.encode() not in store.read_bytes()


# ---- the merge rule, per field: /generation over the website CSV over Broadcast ----------------------------


def _record(gen_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": gen_id,
        "created_at": datetime(2026, 11, 19, 12),
        "received_at": datetime(2026, 11, 19, 12, 0, 1),
        **fields,
    }


def test_broadcast_ranks_below_the_api_and_the_csv_field_by_field(tmp_path: Path) -> None:
    from queries import generations as gq

    db = tmp_path / "merge.duckdb"
    with Writer(db) as writer, writer.transaction() as con:
        # Broadcast first, then /generation: the answer's values replace Broadcast's where it has one.
        qb.merge_generations(con, [_record("gen-a", total_cost=1.0, session_id="s-1", external_user="u-b")], [])
        gq.merge_api_rows(con, [{"id": "gen-a", "created_at": datetime(2026, 11, 19, 12), "total_cost": 2.0,
                                 "session_id": None, "external_user": "u-api"}], datetime(2026, 11, 20))  # fmt: skip
        # /generation first, then Broadcast: only what the answer lacks is filled.
        gq.merge_api_rows(con, [{"id": "gen-b", "created_at": datetime(2026, 11, 19, 12), "total_cost": 3.0}],
                          datetime(2026, 11, 20))  # fmt: skip
        qb.merge_generations(con, [_record("gen-b", total_cost=9.0, session_id="s-2", api_key_name="k")], [])
        # Broadcast alone, with a value the CSV has too (see below).
        qb.merge_generations(con, [_record("gen-c", total_cost=5.0, provider_name="OpenAI", session_id="s-3")], [])
        rows = {r[0]: r[1:] for r in con.execute(
            """SELECT id, source, total_cost, session_id, external_user, api_key_name, broadcast_filled, received_at
               FROM generations ORDER BY id""").fetchall()}  # fmt: skip
    assert rows["gen-a"][:5] == ("api", 2.0, "s-1", "u-api", None) and rows["gen-a"][5] == ["session_id"]
    assert rows["gen-b"][:5] == ("api", 3.0, "s-2", None, "k")
    assert sorted(rows["gen-b"][5]) == ["api_key_name", "session_id"] and rows["gen-b"][6] is not None
    assert rows["gen-c"][:2] == ("broadcast", 5.0)

    # The website CSV over Broadcast: its total_cost replaces Broadcast's on gen-c; gen-a keeps the API's.
    from ingest.website_csv.load import import_files

    csv = tmp_path / "export.csv"
    header = ("generation_id,created_at,cost_total,cost_web_search,cost_cache,cost_file_processing,"
              "byok_usage_inference,tokens_prompt,tokens_completion,tokens_reasoning,tokens_cached,model_permaslug,"
              "provider_name,variant,cancelled,streamed,user,finish_reason_raw,finish_reason_normalized,"
              "generation_time_ms,time_to_first_token_ms,api_key_disabled,api_key_name,app_name")  # fmt: skip
    rest = "0,0,0,0,1,1,0,0,openai/gpt-4o,Azure,standard,false,true,,stop,stop,10,5,false"
    lines = [f"gen-a,2026-11-19 12:00:00.000,7.0,{rest},k2,", f"gen-c,2026-11-19 12:00:00.000,6.0,{rest},k3,"]
    csv.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    with Writer(db) as writer:
        import_files(writer, [csv], clock=lambda: datetime(2026, 11, 21))
    after = {
        r[0]: r[1:]
        for r in query(
            db, "SELECT id, source, total_cost, provider_name, session_id, broadcast_filled FROM generations"
        )
    }
    assert after["gen-a"][:2] == ("api+export", 2.0)  # the API's value stands
    assert after["gen-c"][:4] == ("export", 6.0, "Azure", "s-3")  # the CSV's replace Broadcast's; the rest stays
    assert after["gen-c"][4] == ["session_id"]


# ---- the pages, budgets and teams ------------------------------------------------------------------------


def _feature(bfake: FakeServer, gen_id: str) -> str:
    row = bfake.broadcaster.rows([gen_id])[0]
    return str(bfake.broadcaster.request_of(row)["trace"]["feature"])


@pytest.fixture
def day_received(bfake: FakeServer, store: Path, receiver: Receiver) -> tuple[list[str], list[str]]:
    """Day ``DAY`` posted through Broadcast with two deliveries lost, merged (the snapshot published):
    (the ids received, the ids lost)."""
    bfake.broadcast_to(receiver.url, token=TOKEN)
    bfake.add_broadcast_fault("drop", 2)
    report = bfake.send_broadcast(ids=ids_of_day(bfake, DAY))
    from ingest.broadcast.merge import merge_spool

    with Writer(store) as writer:
        merge_spool(writer, Spool(spool_path(store)))
    return report.ids, report.dropped


def test_data_health_shows_received_against_expected_per_day(
    monkeypatch: pytest.MonkeyPatch, store: Path, day_received: tuple[list[str], list[str]]
) -> None:
    from tests.dashboard_fixtures import open_app, texts

    received, lost = day_received
    at = open_app(monkeypatch, store, TODAY, "health")
    said = texts(at)
    assert "Live feed (OpenRouter Broadcast)" in said and "2 missing traces on 1 day(s)" in said
    (days,) = [f.value for f in at.dataframe if "missing" in f.value.columns]
    assert days[["counted", "received", "missing"]].values.tolist() == [[len(received) + len(lost), len(received), 2]]


def test_generations_filter_and_group_by_tag(
    monkeypatch: pytest.MonkeyPatch, bfake: FakeServer, store: Path, day_received: tuple[list[str], list[str]]
) -> None:
    from queries import generations_reads as gr
    from queries.filters import Filters
    from tests.dashboard_fixtures import open_app

    received, _ = day_received
    features = {gen_id: _feature(bfake, gen_id) for gen_id in received}
    chat = sorted(i for i, f in features.items() if f == "chat")
    with read_snapshot(store) as con:
        everything = gr.GenerationQuery(Filters(DAY, DAY))
        tagged = gr.GenerationQuery(Filters(DAY, DAY), tags=("feature=chat",))
        assert gr.totals(con, tagged).rows == len(chat)
        assert sorted(gr.page(con, tagged, 0, 1000)["id"]) == chat
        groups = gr.by_tag(con, everything, "feature")
        total = gr.totals(con, everything)
        assert dict(zip(groups["value"], groups["generations"], strict=True)) == {
            f: sum(1 for v in features.values() if v == f) for f in set(features.values())
        }
        assert groups["spend"].sum() == pytest.approx(total.spend, rel=1e-9) and groups["share"].sum() == pytest.approx(
            1
        )
    at = open_app(
        monkeypatch,
        store,
        TODAY,
        "generations",
        {"range": "custom", "from": str(DAY), "to": str(DAY), "tag": "feature=chat"},
    )
    assert at.multiselect(key="g_tags").value == ["feature=chat"]
    assert f"**{len(chat):,}** generations match" in "\n".join(c.value for c in at.caption)
    (by_tag,) = [f.value for f in at.dataframe if "share" in f.value.columns]
    assert by_tag["generations"].sum() == len(chat)


def test_a_tag_is_a_budget_scope_and_a_team(
    bfake: FakeServer, store: Path, day_received: tuple[list[str], list[str]]
) -> None:
    from orusage.alerts.config import parse_config
    from queries import budgets as qbud

    received, _ = day_received
    chat = [i for i in received if _feature(bfake, i) == "chat"]
    billed = fake_rows(
        bfake,
        "SELECT sum(usage + byok_usage_inference), sum(usage) FROM generations WHERE list_contains(?, id)",
        [chat],
    )[0]
    with read_snapshot(store) as con:
        spend = qbud.daily_spend(con, qbud.Scope(qbud.TAGS, ("feature=chat",)), DAY, DAY)
        without_byok = qbud.daily_spend(con, qbud.Scope(qbud.TAGS, ("feature=chat",)), DAY, DAY, include_byok=False)
    assert spend[DAY] == pytest.approx(billed[0], rel=1e-9) and without_byok[DAY] == pytest.approx(billed[1], rel=1e-9)
    config = parse_config(
        {"teams": {"chat": {"tags": ["feature=chat"]}}, "budget": [{"name": "chat", "scope": "team:chat",
                                                                    "period": "day", "limit_usd": 1}]},
        Path("config.toml"),
    )  # fmt: skip
    assert config.teams["chat"].entries == (("tag", "feature=chat"),)
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="tag:feature is not tag:KEY=VALUE"):
        parse_config(
            {"budget": [{"name": "b", "scope": "tag:feature", "period": "day", "limit_usd": 1}]}, Path("c.toml")
        )


# ---- the writer lock: other writers wait for a merge, a merge never waits -----------------------------------


def test_writers_wait_for_a_merge_and_a_merge_waits_for_nobody(tmp_path: Path) -> None:
    import threading

    from core.errors import StoreLockedError
    from queries.store import MERGE

    db = tmp_path / "lock.duckdb"
    held, release = threading.Event(), threading.Event()

    def merging() -> None:
        with Writer(db, role=MERGE, patience_s=0):
            held.set()
            release.wait(timeout=60)

    merge = threading.Thread(target=merging)
    merge.start()
    assert held.wait(timeout=60)
    with pytest.raises(StoreLockedError, match=r"the Broadcast receiver's merge \(pid \d+\)"), Writer(db, patience_s=0):
        pass
    done: list[str] = []

    def ingesting() -> None:
        with Writer(db, patience_s=60):  # as `orusage ingest` does: it waits for the merge
            done.append("wrote")

    waiting = threading.Thread(target=ingesting)
    waiting.start()
    release.set()
    merge.join(timeout=60)
    waiting.join(timeout=60)
    assert done == ["wrote"]
    # Any other holder is refused at once, however patient the newcomer: runs never interleave.
    with Writer(db), pytest.raises(StoreLockedError, match=r"another orusage writer"), Writer(db, patience_s=600):
        pass
    # And the receiver's merge skips its tick rather than wait: the spool keeps the deliveries.
    spool = Spool(spool_path(db))
    spool.append(otlp_one("gen-kept"), utcnow())
    with Writer(db):
        assert merge_once(db, spool) is None
    assert len(spool.pending()) == 1
    assert merge_once(db, spool) is not None and spool.pending() == []


def otlp_one(gen_id: str) -> Any:
    from ingest.broadcast import otlp

    return otlp.extract(otlp.parse(export(span([attr("gen_ai.response.id", gen_id)]))))


def test_receive_refuses_bad_setups_with_one_line(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    env = {"ORUSAGE_DB": str(tmp_path / "o.duckdb")}
    open_to_all = run_cli(["receive", "--host", "0.0.0.0", "--port", "0"], env, timeout=60)
    lines = [line for line in open_to_all.stderr.splitlines() if line.strip()]
    assert open_to_all.returncode == 2 and len(lines) == 1 and "ORUSAGE_RECEIVE_TOKEN" in lines[0]
    too_often = run_cli(["receive", "--every", "0.5"], env, timeout=60)
    assert too_often.returncode == 2 and "--every" in too_often.stderr
    taken = start_receiver(tmp_path / "other.duckdb")
    try:
        busy = run_cli(["receive", "--port", str(taken.port)], {**env, "ORUSAGE_RECEIVE_TOKEN": TOKEN}, timeout=60)
    finally:
        taken.stop()
    assert busy.returncode == 2 and f"cannot listen on 127.0.0.1:{taken.port}" in busy.stderr
