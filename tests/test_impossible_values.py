"""Values that are not money, counts or days are refused at the edge, whole, and nothing of them is stored
(issue 16). Over real HTTP: the fake OpenRouter behind ``tests.hostile_peers.HostileProxy``, which rewrites
one answer (JSON NaN and Infinity, "NaN" strings, 1e308, 2^64, impossible dates, a repeated row, negative
costs). Then: an analytics answer that is empty for a whole range while /activity shows spend is not made
final, stored generations holding impossible values are fetched again, and a time with an offset lands on
its UTC day.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from core.settings import Settings, load_settings
from fake_openrouter.server import FakeServer
from ingest.analytics.catalog import GROUPINGS
from ingest.analytics.loader import Piece
from ingest.analytics.plan import Request
from ingest.errors import BadResponseError
from ingest.job import _refuse_an_empty_answer_against_spend
from orusage.jobs import ingest_once
from queries import ingest_state, writes
from queries.store import Writer
from tests.fake_fixtures import MANAGEMENT_KEY
from tests.helpers import fact_tables, query, run_cli
from tests.hostile_peers import (
    HostileProxy,
    Mutation,
    Rule,
    assert_no_secret,
    duplicate_first_row,
    empty_analytics,
    on_row,
    running_proxy,
    set_raw,
)

NOW = datetime(2026, 11, 20, 15, 30)  # the fake's clock: generations exist in the run's window


def _settings(monkeypatch: pytest.MonkeyPatch, base_url: str, db: Path, **more: str) -> Settings:
    values = {"OPENROUTER_BASE_URL": base_url, "OPENROUTER_MANAGEMENT_KEY": MANAGEMENT_KEY, "ORUSAGE_DB": str(db),
              "ORUSAGE_HISTORY_DAYS": "31", "ORUSAGE_HTTP_RETRIES": "0", "ORUSAGE_GENERATIONS_CAP": "200",
              "ORUSAGE_GENERATIONS_RATE": "1000", **more}  # fmt: skip
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.fixture
def proxy(fake: FakeServer) -> Iterator[HostileProxy]:
    with running_proxy(fake.base_url, MANAGEMENT_KEY) as p:
        yield p


@pytest.fixture(scope="module")
def baseline(fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store filled by one good run at NOW (with 200 generations), copied by each test."""
    db = tmp_path_factory.mktemp("baseline") / "orusage.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        ingest_once(_settings(mp, fake.base_url, db), quiet=True, clock=lambda: NOW)
    assert query(db, "SELECT count(*) FROM generations")[0][0] == 200
    return db


def _copy(baseline: Path, tmp_path: Path) -> Path:
    db = tmp_path / "orusage.duckdb"
    shutil.copyfile(baseline, db)
    return db


def _stored_generations(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "SELECT * EXCLUDE (fetched_at) FROM generations ORDER BY id")


REFUSED: list[tuple[str, Mutation, str]] = [
    ("/activity", set_raw("usage", "NaN"), "usage"),
    ("/activity", set_raw("usage", '"NaN"'), "usage"),
    ("/activity", set_raw("usage", "Infinity"), "usage"),
    ("/activity", set_raw("usage", "1e308"), "usage"),
    ("/activity", set_raw("usage", "-2.5"), "usage"),
    ("/activity", set_raw("requests", "18446744073709551616"), "requests"),
    ("/activity", set_raw("prompt_tokens", '"NaN"'), "prompt_tokens"),
    ("/activity", set_raw("date", '"2026-13-45"'), "date"),
    ("/activity", set_raw("date", '"2026-02-30"'), "date"),
    ("/activity", set_raw("date", '"0001-01-01"'), "date"),
    ("/activity", duplicate_first_row(), "repeats"),
    ("/credits", set_raw("total_usage", "Infinity", where="data"), "total_usage"),
    ("/generation", set_raw("total_cost", "-0.5", where="data"), "total_cost"),
    ("/generation", set_raw("usage", "NaN", where="data"), "usage"),
    ("/generation", set_raw("tokens_prompt", "1e30", where="data"), "tokens_prompt"),
    ("/generation", set_raw("created_at", '"9999-12-31T00:00:00Z"', where="data"), "created_at"),
]


@pytest.mark.parametrize(
    ("path", "mutation", "field"), REFUSED, ids=[f"{p[1:]}-{i}" for i, (p, _, _) in enumerate(REFUSED)]
)
@pytest.mark.reliability("value")
def test_an_impossible_value_refuses_the_answer_whole(
    path: str, mutation: Mutation, field: str, proxy: HostileProxy, baseline: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    db = _copy(baseline, tmp_path)
    before, generations = fact_tables(db), _stored_generations(db)
    proxy.add(Rule(path, mutate=mutation))
    with pytest.raises(BadResponseError) as caught:
        ingest_once(_settings(monkeypatch, proxy.base_url, db), quiet=True, clock=lambda: NOW)
    message = str(caught.value)
    assert caught.value.exit_code == 4 and "\n" not in message
    assert field in message and "Nothing was stored from this response" in message, message
    assert fact_tables(db) == before and _stored_generations(db) == generations  # nothing of it stored
    assert query(db, "SELECT status FROM ingest_runs ORDER BY run_id DESC LIMIT 1") == [("failed",)]
    assert_no_secret([MANAGEMENT_KEY], [message], db)


ANALYTICS_REFUSED: list[tuple[Mutation, str]] = [
    (set_raw("total_usage", "NaN", where="data.data"), "total_usage"),
    (set_raw("request_count", '"NaN"', where="data.data"), "request_count"),
    (set_raw("tokens_total", "1e30", where="data.data"), "tokens_total"),
    (set_raw("date__day", '"2026-02-30"', where="data.data"), "date__day"),
    (duplicate_first_row(where="data.data"), "two rows"),
]


@pytest.mark.parametrize(("mutation", "field"), ANALYTICS_REFUSED, ids=[f for _, f in ANALYTICS_REFUSED])
@pytest.mark.reliability("value")
def test_an_impossible_analytics_row_refuses_the_answer_whole(
    mutation: Mutation, field: str, proxy: HostileProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "orusage.duckdb"  # a first run: analytics are asked for
    proxy.add(Rule("/analytics/query", mutate=mutation))
    settings = _settings(monkeypatch, proxy.base_url, db, ORUSAGE_GENERATIONS_DAYS="0")
    with pytest.raises(BadResponseError, match=field) as caught:
        ingest_once(settings, quiet=True, clock=lambda: NOW)
    assert caught.value.exit_code == 4
    assert query(db, "SELECT count(*) FROM analytics_daily") == [(0,)]
    assert query(db, "SELECT count(*) FROM coverage WHERE source = 'analytics'") == [(0,)]
    assert_no_secret([MANAGEMENT_KEY], [str(caught.value)], db)


@pytest.mark.slow
@pytest.mark.reliability("value")
def test_an_empty_analytics_answer_against_spend_is_not_made_final(proxy: HostileProxy, tmp_path: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    env = {"OPENROUTER_BASE_URL": proxy.base_url, "OPENROUTER_MANAGEMENT_KEY": MANAGEMENT_KEY, "ORUSAGE_DB": str(db),
           "ORUSAGE_HISTORY_DAYS": "31", "ORUSAGE_GENERATIONS_DAYS": "0"}  # fmt: skip
    proxy.add(Rule("/analytics/query", mutate=empty_analytics))
    result = run_cli(["ingest"], env)
    assert result.returncode == 4, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "answered no rows for model" in lines[0] and "/activity shows $" in lines[0], lines
    assert query(db, "SELECT count(*) FROM activity")[0][0] > 0  # the spend it was checked against
    assert query(db, "SELECT count(*) FROM coverage WHERE source = 'analytics'") == [(0,)]  # nothing final
    proxy.clear()  # the next run asks again, and gets the year
    again = run_cli(["ingest"], env)
    assert again.returncode == 0, again.stderr
    assert query(db, "SELECT count(*) FROM analytics_daily WHERE dimensions = 'model'")[0][0] > 0
    assert_no_secret([MANAGEMENT_KEY], [result.stdout + result.stderr, again.stdout + again.stderr], db)


@pytest.mark.reliability("value")
def test_credits_show_spend_where_activity_has_none(tmp_path: Path) -> None:
    with Writer(tmp_path / "orusage.duckdb") as writer:
        with writer.transaction() as con:
            writes.insert_credits(con, datetime(2025, 6, 10, 12), 100.0, 5.0)
            writes.insert_credits(con, datetime(2025, 6, 12, 12), 100.0, 7.5)
        assert abs(ingest_state.credits_spend(writer.con, date(2025, 6, 10), date(2025, 6, 12)) - 2.5) < 1e-9
        assert ingest_state.credits_spend(writer.con, date(2025, 6, 11), date(2025, 6, 12)) == 0
        account, per_key = (Request(next(g for g in GROUPINGS if g.per_key is k), scope, "long", date(2025, 6, 1),
                                    date(2025, 6, 30)) for k, scope in ((False, ""), (True, "ab" * 32)))  # fmt: skip
        with pytest.raises(BadResponseError, match=r"/credits shows \$2.50 spent"):
            _refuse_an_empty_answer_against_spend(
                writer, Piece(account, date(2025, 6, 1), date(2025, 6, 30), [], 0), NOW
            )
        # A key's query is not judged by the account's credits; an answer with rows is never judged.
        _refuse_an_empty_answer_against_spend(writer, Piece(per_key, date(2025, 6, 1), date(2025, 6, 30), [], 0), NOW)
        _refuse_an_empty_answer_against_spend(writer, Piece(account, date(2025, 6, 1), date(2025, 6, 30), [], 3), NOW)


@pytest.mark.reliability("value")
def test_a_time_with_an_offset_lands_on_its_utc_day(
    proxy: HostileProxy, baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _copy(baseline, tmp_path)
    moved: dict[str, Any] = {}

    def late_evening_in_new_york(row: dict[str, Any]) -> None:
        moved.update(row)
        row["date"] = f"{row['date']}T23:30:00-05:00"  # 04:30 UTC the next day

    proxy.add(Rule("/activity", mutate=on_row(late_evening_in_new_york, index=-1), times=1))
    ingest_once(_settings(monkeypatch, proxy.base_url, db, ORUSAGE_GENERATIONS_DAYS="0"), quiet=True, clock=lambda: NOW)
    assert moved["date"] == "2026-11-19"
    rows = query(
        db,
        "SELECT date, usage FROM activity WHERE model_permaslug = ? AND endpoint_id = ? AND date >= '2026-11-19'",
        [moved["model_permaslug"], moved["endpoint_id"]],
    )
    assert [r[0] for r in rows] == [date(2026, 11, 20)] and abs(rows[0][1] - moved["usage"]) < 1e-12


@pytest.mark.reliability("value")
def test_stored_generations_with_impossible_values_are_fetched_again(
    proxy: HostileProxy, baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeServer
) -> None:
    db = _copy(baseline, tmp_path)
    con = duckdb.connect(str(db))  # as a version without the checks left them
    ids = [r[0] for r in con.execute("SELECT id FROM generations ORDER BY id LIMIT 3").fetchall()]
    con.execute("UPDATE generations SET total_cost = 'NaN'::DOUBLE WHERE id = ?", [ids[0]])
    con.execute("UPDATE generations SET tokens_prompt = -5 WHERE id = ?", [ids[1]])
    con.execute("UPDATE generations SET usage = 1e300 WHERE id = ?", [ids[2]])
    con.close()
    ingest_once(_settings(monkeypatch, proxy.base_url, db, ORUSAGE_HISTORY_DAYS="31"), quiet=True, clock=lambda: NOW)
    asked = {path.split("id=")[1] for _, path in proxy.seen if path.startswith("/api/v1/generation?")}
    assert set(ids) <= asked
    with httpx.Client(base_url=fake.base_url, headers={"Authorization": f"Bearer {MANAGEMENT_KEY}"}) as client:
        for gen_id in ids:
            truth = client.get("/generation", params={"id": gen_id}).json()["data"]
            stored = query(db, "SELECT total_cost, tokens_prompt, usage FROM generations WHERE id = ?", [gen_id])[0]
            assert abs(stored[0] - truth["total_cost"]) < 1e-12 and stored[1] == truth["tokens_prompt"]
            assert abs(stored[2] - truth["usage"]) < 1e-12


@pytest.mark.reliability("value")
def test_stored_analytics_with_impossible_values_are_fetched_again(
    proxy: HostileProxy, baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _copy(baseline, tmp_path)
    pick = "SELECT date, dim_key FROM analytics_daily WHERE dimensions = 'model' AND total_usage > 0 ORDER BY ALL"
    truth = (
        "SELECT total_usage, request_count FROM analytics_daily WHERE dimensions = 'model' AND date = ? AND dim_key = ?"
    )
    con = duckdb.connect(str(db))  # as a version without the checks left them
    (day_a, key_a), (day_b, key_b) = con.execute(pick + " LIMIT 2 OFFSET 40").fetchall()
    con.execute("UPDATE analytics_daily SET total_usage = 'NaN'::DOUBLE WHERE date = ? AND dim_key = ?", [day_a, key_a])
    con.execute("UPDATE analytics_daily SET request_count = -3 WHERE date = ? AND dim_key = ?", [day_b, key_b])
    con.close()
    ingest_once(_settings(monkeypatch, proxy.base_url, db, ORUSAGE_GENERATIONS_DAYS="0"), quiet=True, clock=lambda: NOW)
    assert any(path.startswith("/api/v1/analytics/query") for _, path in proxy.seen)  # asked again
    for day, key in ((day_a, key_a), (day_b, key_b)):
        (usage, requests), (want_usage, want_requests) = (
            query(db, truth, [day, key])[0],
            query(baseline, truth, [day, key])[0],
        )
        assert abs(usage - want_usage) < 1e-9 * max(1.0, want_usage) and requests == want_requests


def test_a_day_holding_an_impossible_value_is_planned_again() -> None:
    from ingest.analytics.plan import Covered, plan

    today = date(2026, 11, 20)
    done = [Covered(g.name, "", s, date(2025, 11, 21), date(2026, 11, 19), datetime(2026, 11, 20, 12))
            for g in GROUPINGS if not g.per_key and not g.needs_organization for s in ("long", "short")]  # fmt: skip
    assert plan(today, done, [], organization=False) == []
    redo = [("model", "", "total_usage", date(2026, 3, 4)), ("model", "", "p50_latency", date(2026, 11, 18))]
    again = plan(today, done, [], organization=False, redo=redo)
    assert [(r.grouping.name, r.metrics_set, r.first_day, r.last_day) for r in again] == [
        ("model", "long", date(2026, 3, 4), date(2026, 3, 4)),
        ("model", "short", date(2026, 11, 18), date(2026, 11, 18)),
    ]


# ---- imports -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def export_file(fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fake_openrouter.dataset import build
    from fake_openrouter.website_csv import write_website_csv
    from tests.fake_fixtures import FAKE_NOW

    path = tmp_path_factory.mktemp("export") / "activity.csv"
    write_website_csv(build(FAKE_NOW), path, datetime(2026, 11, 18), datetime(2026, 11, 19))
    return path


def _with_value(export_file: Path, folder: Path, line: int, column: str, value: str) -> Path:
    """The export with ``column`` of the row on ``line`` (1: the header) set to ``value``."""
    lines = export_file.read_text("utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    values = next(csv.reader([lines[line - 1]]))
    values[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    lines[line - 1] = out.getvalue()
    path = folder / f"bad-{column}.csv"
    path.write_text("".join(lines), "utf-8")
    return path


IMPORT_REFUSED = [
    ("cost_total", "nan"),
    ("cost_total", "inf"),
    ("cost_total", "-0.25"),
    ("created_at", "0001-01-01 00:00:00.000"),
    ("created_at", "9999-12-31 00:00:00.000"),
    ("tokens_prompt", "1e30"),
]


@pytest.mark.parametrize(("column", "value"), IMPORT_REFUSED, ids=[f"{c}={v}" for c, v in IMPORT_REFUSED])
@pytest.mark.reliability("value")
def test_an_import_refuses_an_impossible_value_with_its_line(
    column: str, value: str, export_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "orusage.duckdb"
    bad = _with_value(export_file, tmp_path, 7, column, value)
    result = run_cli(["import", "--db", str(db), str(bad)])
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{bad}: line 7: {column}" in lines[0], lines
    assert not db.exists() or query(db, "SELECT count(*) FROM generations") == [(0,)]
    assert_no_secret([MANAGEMENT_KEY], [result.stdout + result.stderr])


@pytest.mark.reliability("value")
def test_a_thousand_unknown_columns_are_ignored(export_file: Path, tmp_path: Path) -> None:
    lines = export_file.read_text("utf-8").splitlines()
    extra = [f"unknown_{i:04d}" for i in range(1_000)]
    wide = tmp_path / "wide.csv"
    wide.write_text("".join(f"{line},{','.join(extra if i == 0 else ['x'] * 1_000)}\n" for i, line in enumerate(lines)))
    db = tmp_path / "orusage.duckdb"
    result = run_cli(["import", "--db", str(db), str(wide)])
    assert result.returncode == 0, result.stderr
    assert query(db, "SELECT count(*) FROM generations") == [(len(lines) - 1,)]


@pytest.mark.reliability("value")
def test_an_input_that_never_ends_is_refused_at_once(tmp_path: Path) -> None:
    sparse = tmp_path / "huge.csv"
    with open(sparse, "wb") as fh:
        fh.truncate(65 << 30)  # 65 GiB of nothing, taking no space
    for path, says in (("/dev/zero", "is not a regular file"), (str(sparse), "GiB, more than 64 GiB")):
        result = run_cli(["import", "--db", str(tmp_path / "orusage.duckdb"), path], timeout=60)
        assert result.returncode == 2, result.stderr
        assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_proxy_rewrites_what_it_is_told(proxy: HostileProxy) -> None:
    proxy.add(Rule("/credits", mutate=set_raw("total_usage", "NaN", where="data"), times=1))
    with httpx.Client(base_url=proxy.base_url) as client:
        assert b'"total_usage": NaN' in client.get("/credits").content
        assert json.loads(client.get("/credits").content)["data"]["total_usage"] >= 0  # once only
