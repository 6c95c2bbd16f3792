"""The rollups (``queries/rollups.py``) are a pure function of the facts: every write keeps them equal to a
rebuild, migration 0005 fills them for a store that already holds facts, and a snapshot published before
0005 reads the same numbers through temporary ones."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pandas.testing import assert_frame_equal

from queries import reads, rollups, writes
from queries.cache_savings import cache_savings
from queries.filters import Filters
from queries.reads_facts import facts, source_spans
from queries.reads_models import cached_tokens, list_cost
from queries.reads_routing import Dim, Need, route
from queries.store import Writer, snapshot_path
from review.as_json import to_json
from review.load import weekly_review
from review.weeks import last_complete_week

NOW = datetime(2026, 11, 20, 15, 30)
DAY = date(2026, 11, 19)
ACTIVITY = {
    "date": DAY,
    "model": "openai/gpt-4o",
    "model_permaslug": "openai/gpt-4o-2024-05-13",
    "endpoint_id": "ep-1",
    "provider_name": "OpenAI",
    "requests": 3,
    "prompt_tokens": 100,
    "completion_tokens": 50,
    "reasoning_tokens": 70,
    "usage": 0.25,
    "byok_usage_inference": 0.5,
}
KEY = "k" * 64


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row, in a fixed order."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for table, order in (
        ("rollup_daily", "source, kind, value, date"),
        ("rollup_values", "kind, source, value"),
        ("rollup_spans", "source, metrics, first_day"),
    ):
        rows = con.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
        found[table] = [tuple(row) for row in rows]
    return found


def _same(got: dict[str, list[tuple[Any, ...]]], want: dict[str, list[tuple[Any, ...]]]) -> None:
    """Equal tables; sums to 1e-9 relative (a rebuild may add the same numbers in another order)."""
    assert got.keys() == want.keys()
    for table in want:
        assert len(got[table]) == len(want[table]), table
        for a, b in zip(got[table], want[table], strict=True):
            exact = [(x, y) for x, y in zip(a, b, strict=True) if not isinstance(y, float)]
            sums = [(x, y) for x, y in zip(a, b, strict=True) if isinstance(y, float)]
            assert [x for x, _ in exact] == [y for _, y in exact], (table, a, b)
            assert [x for x, _ in sums] == pytest.approx([y for _, y in sums], rel=1e-9), (table, a, b)


def _rebuilt(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    con.execute("BEGIN TRANSACTION")
    try:
        rollups.refresh_all(con)
        return _tables(con)
    finally:
        con.execute("ROLLBACK")


def _copy(db: Path, to: Path) -> Path:
    shutil.copyfile(db, to)
    return to


def test_an_ingest_leaves_the_rollups_equal_to_a_rebuild(demo_db: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(_copy(demo_db, tmp_path / "copy.duckdb")))
    try:
        kept = _tables(con)
        assert all(kept.values()), "the demo ingest writes every kind of rollup"
        assert {(r[0], r[1]) for r in kept["rollup_daily"]} == {
            (s, k) for s, kinds in rollups.DAILY.items() for k in kinds
        }
        _same(kept, _rebuilt(con))
    finally:
        con.close()


def test_replacing_and_upserting_keep_the_rollups_exact(tmp_path: Path) -> None:
    other = {**ACTIVITY, "model_permaslug": "anthropic/claude-4", "model": "anthropic/claude-4", "usage": 2.0}
    analytics = [
        {"date": DAY - timedelta(days=d), "dimensions": "model,app", "dim_key": f"openai/gpt-4o\x1f{app}",
         "model": "openai/gpt-4o", "app": app, "total_usage": 1.0 + d, "request_count": 2, "tokens_prompt": 10}
        for d in range(3) for app in ("Cline", "unattributed")
    ]  # fmt: skip
    with Writer(tmp_path / "s.duckdb") as writer:
        with writer.transaction() as con:
            writes.replace_activity_day(con, DAY, [ACTIVITY, other], NOW)
            writes.replace_activity_for_key(con, KEY, [DAY], [ACTIVITY], NOW)
            writes.upsert_analytics(con, analytics, ("total_usage", "request_count", "tokens_prompt"), NOW)
        with writer.transaction() as con:
            # The day again without one model; the key's day with nothing; an analytics day corrected.
            writes.replace_activity_day(con, DAY, [ACTIVITY], NOW)
            writes.replace_activity_for_key(con, KEY, [DAY], [], NOW)
            writes.upsert_analytics(con, [{**analytics[0], "total_usage": 9.5}], ("total_usage",), NOW)
        con = writer.con
        kept = _tables(con)
        _same(kept, _rebuilt(con))
        models = {r[2] for r in kept["rollup_values"] if r[0] == "model" and r[1] == "activity"}
        assert models == {"openai/gpt-4o-2024-05-13"}
        assert not [r for r in kept["rollup_values"] if r[1] == "activity_by_key"]
        daily = {(r[0], r[2], r[3]): r for r in kept["rollup_daily"]}
        # completion-only is max(completion - reasoning, 0) per stored row, never negative.
        assert daily[("activity", None, DAY)][4:] == (3, 100, 50, 70, 0, None, pytest.approx(0.75), pytest.approx(0.5))
        assert daily[("analytics:model,app", "Cline", DAY)][10] == pytest.approx(9.5)
        apps = {r[2]: r[3] for r in kept["rollup_values"] if r[0] == "app"}
        assert apps == pytest.approx({"Cline": 9.5 + 2.0 + 3.0, "unattributed": 1.0 + 2.0 + 3.0})


def test_migration_0005_fills_the_rollups_of_a_store_that_has_facts(demo_db: Path, tmp_path: Path) -> None:
    db = _copy(demo_db, tmp_path / "orusage.duckdb")
    con = duckdb.connect(str(db))
    want = _tables(con)
    for table in rollups.TABLES:
        con.execute(f"DROP TABLE {table}")
    con.execute("DELETE FROM schema_migrations WHERE version = 5")
    con.close()
    with Writer(db) as writer:
        _same(_tables(writer.con), want)
        versions = [r[0] for r in writer.con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()]
        assert versions[-1] >= 5


def _as_json(review: Any) -> Any:
    return json.loads(json.dumps(to_json(review), default=str))


def _close(got: Any, want: Any, where: str = "review") -> None:
    """Equal JSON documents; numbers to 1e-9 relative (the rollups add the same spend in another order)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            _close(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            _close(a, b, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9), where
    else:
        assert got == want and type(got) is type(want), where


@pytest.fixture(scope="module")
def before_0005(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo's snapshot as a writer before migration 0005 would have published it."""
    old = tmp_path_factory.mktemp("old") / "snapshot.duckdb"
    shutil.copyfile(snapshot_path(demo_db), old)
    con = duckdb.connect(str(old))
    for table in rollups.TABLES:
        con.execute(f"DROP TABLE {table}")
    con.execute("DELETE FROM schema_migrations WHERE version >= 5")
    con.close()
    return old


def test_a_snapshot_from_before_0005_reads_the_same_numbers(demo_db: Path, before_0005: Path, demo_today: date) -> None:
    new = duckdb.connect(str(snapshot_path(demo_db)), read_only=True)
    old = duckdb.connect(str(before_0005), read_only=True)
    try:
        for con in (new, old):
            rollups.ensure(con)  # as queries.store.read_snapshot does for every snapshot it opens
        for read in (reads.catalog_models, reads.provider_options, reads.app_options, reads.workspace_options,
                     reads.date_bounds, source_spans):  # fmt: skip
            assert read(old) == read(new), read.__name__
        for frame in (reads.model_options, reads.key_options):
            assert_frame_equal(frame(old), frame(new), check_exact=False, rtol=1e-9)
        spans = source_spans(new)
        start, end = demo_today - timedelta(days=120), demo_today - timedelta(days=1)
        for dims, by, top in (
            ((), ("date",), None),
            ((Dim.APP,), ("date", "app"), ("app", 3)),
            ((Dim.KEY,), ("key",), ("key", 2)),
            ((Dim.MODEL,), ("date", "model"), ("model", 4)),
        ):
            r = route(dims, start, end, spans, demo_today)
            got, want = facts(old, r, Filters(start, end), by, top=top), facts(new, r, Filters(start, end), by, top=top)
            assert_frame_equal(got, want, check_exact=False, rtol=1e-9)
        models = route((Dim.MODEL,), start, end, spans, demo_today)
        cached = route((Dim.MODEL,), start, end, spans, demo_today, (Need.CACHED,))
        assert_frame_equal(list_cost(old, models, Filters(start, end)), list_cost(new, models, Filters(start, end)))
        assert_frame_equal(
            cached_tokens(old, cached, Filters(start, end)), cached_tokens(new, cached, Filters(start, end))
        )
        assert_frame_equal(
            cache_savings(old, Filters(start, end), demo_today).by_model,
            cache_savings(new, Filters(start, end), demo_today).by_model,
        )
        week = last_complete_week(demo_today)
        _close(_as_json(weekly_review(old, week, demo_today)), _as_json(weekly_review(new, week, demo_today)))
    finally:
        new.close()
        old.close()
