"""The Overview page under Streamlit's AppTest, checked against the tests' own SQL on the same snapshot.

Expected values never come from ``queries.reads`` (that is what is under test) nor from the fixture's
synthetic numbers: each test computes them with plain SQL on the published snapshot. "Today" is pinned
to the data's newest /keys fetch day with ``ORUSAGE_TODAY`` (see ``tests/dashboard_fixtures.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from queries import reads, writes
from queries.store import Writer, snapshot_path

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
TOKEN_PARTS = {"Prompt": "prompt", "Completion (excl. reasoning)": "completion_only", "Reasoning": "reasoning"}
CENT = 0.005 + 1e-9  # the page rounds dollars to cents


# ---- helpers -----------------------------------------------------------------------------------------


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> AppTest:
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    monkeypatch.setenv("ORUSAGE_TODAY", demo_today.isoformat())
    return _run(AppTest.from_file(str(APP), default_timeout=30))


def _charts(at: AppTest) -> dict[str, tuple[dict[str, Any], pd.DataFrame]]:
    """Each chart's Vega-Lite spec and its data (Streamlit ships the data as Arrow, apart from the spec)."""
    found: dict[str, tuple[dict[str, Any], pd.DataFrame]] = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        assert len(element.proto.datasets) == 1
        table = pa.ipc.open_stream(element.proto.datasets[0].data.data).read_all()
        found[spec["usermeta"]["orusage_chart"]] = (spec, table.to_pandas())
    return found


def _usd(text: str) -> float:
    assert text.startswith("$") or text.startswith("-$"), text
    return float(text.replace("$", "").replace(",", ""))


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _preset(days: int, today: date) -> tuple[date, date]:
    end = today - timedelta(days=1)  # ranges are completed UTC days
    return end - timedelta(days=days - 1), end


def _where_models(models: Sequence[str]) -> str:
    if not models:
        return ""
    quoted = ", ".join("'" + m.replace("'", "''") + "'" for m in models)
    return f" AND model_permaslug IN ({quoted})"


def _sql_tokens(con: duckdb.DuckDBPyConnection, start: date, end: date, models: Sequence[str] = ()) -> pd.DataFrame:
    return con.execute(
        f"""SELECT strftime(date, '%Y-%m-%d') AS day,
                   sum(prompt_tokens)::BIGINT AS prompt,
                   sum(CASE WHEN completion_tokens > reasoning_tokens
                            THEN completion_tokens - reasoning_tokens ELSE 0 END)::BIGINT AS completion_only,
                   sum(reasoning_tokens)::BIGINT AS reasoning
            FROM activity WHERE date BETWEEN ? AND ?{_where_models(models)}
            GROUP BY date ORDER BY date""",
        [start, end],
    ).df()


def _sql_spend(con: duckdb.DuckDBPyConnection, start: date, end: date, models: Sequence[str] = ()) -> pd.DataFrame:
    return con.execute(
        f"""SELECT strftime(date, '%Y-%m-%d') AS day, sum(usage) AS usage, sum(byok_usage_inference) AS byok
            FROM activity WHERE date BETWEEN ? AND ?{_where_models(models)}
            GROUP BY date ORDER BY date""",
        [start, end],
    ).df()


def _sql_spend_by_model(
    con: duckdb.DuckDBPyConnection, start: date, end: date, models: Sequence[str] = ()
) -> pd.DataFrame:
    return con.execute(
        f"""SELECT model_permaslug, sum(usage + byok_usage_inference) AS spend, sum(requests) AS requests
            FROM activity WHERE date BETWEEN ? AND ?{_where_models(models)}
            GROUP BY model_permaslug ORDER BY spend DESC""",
        [start, end],
    ).df()


def _chart_tokens(frame: pd.DataFrame) -> pd.DataFrame:
    """The tokens chart's long data back to one row per day, one column per stacked part."""
    wide = frame.pivot_table(index="day", columns="part", values="tokens", aggfunc="sum").rename(columns=TOKEN_PARTS)
    return wide[list(TOKEN_PARTS.values())].astype("int64").sort_index()


def _chart_spend(frame: pd.DataFrame) -> pd.DataFrame:
    wide = frame.pivot_table(index="day", columns="part", values="amount", aggfunc="sum")
    return wide.rename(columns={"Credits": "usage", "BYOK": "byok"})[["usage", "byok"]].sort_index()


def _check_range(
    at: AppTest, con: duckdb.DuckDBPyConnection, start: date, end: date, models: Sequence[str] = ()
) -> None:
    """Every chart shows exactly [start, end] and the same numbers as plain SQL."""
    charts = _charts(at)
    assert set(charts) == {"tokens_per_day", "spend_per_day", "spend_per_model"}
    days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]

    tokens = _chart_tokens(charts["tokens_per_day"][1])
    assert list(tokens.index) == days, "one bar per UTC day in the range, idle days included"
    expected = _sql_tokens(con, start, end, models).set_index("day")
    active = tokens.loc[tokens.sum(axis=1) > 0]
    assert list(active.index) == list(expected.index)
    pd.testing.assert_frame_equal(active, expected, check_names=False, check_dtype=False)

    spend = _chart_spend(charts["spend_per_day"][1])
    assert list(spend.index) == days
    expected_spend = _sql_spend(con, start, end, models).set_index("day")
    got = spend.loc[expected_spend.index]
    assert got["usage"].to_list() == pytest.approx(expected_spend["usage"].to_list(), abs=1e-9)
    assert got["byok"].to_list() == pytest.approx(expected_spend["byok"].to_list(), abs=1e-9)
    assert spend.drop(index=expected_spend.index).to_numpy().sum() == 0

    per_model = charts["spend_per_model"][1]
    one_row_per_bar = per_model.loc[per_model["part_order"] == 0]
    by_sql = _sql_spend_by_model(con, start, end, models)
    assert one_row_per_bar["spend"].sum() == pytest.approx(by_sql["spend"].sum(), abs=1e-6)
    assert int(one_row_per_bar["requests"].sum()) == int(by_sql["requests"].sum())
    assert int(one_row_per_bar["models"].sum()) == len(by_sql)
    # Top models first, biggest first, each with exactly its own spend.
    top = one_row_per_bar.loc[one_row_per_bar["label"] != reads.OTHER_MODELS]
    assert top["spend"].to_list() == pytest.approx(by_sql["spend"].head(len(top)).to_list(), abs=1e-9)


@contextmanager
def _snapshot(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(snapshot_path(db)), read_only=True)
    try:
        yield con
    finally:
        con.close()


# ---- the page on demo data -----------------------------------------------------------------------------


def test_overview_renders(app: AppTest) -> None:
    assert [t.value for t in app.title] == ["Overview"]
    assert set(_metrics(app)) == {"Spend today so far", "This week", "This month", "Credits left"}
    captions = " ".join(c.value for c in app.sidebar.caption)
    assert "All days are UTC" in captions
    assert "Data as of" in captions
    assert app.sidebar.radio(key="range_preset").value == "Last 30 days"
    assert app.sidebar.multiselect(key="models").value == []


def test_data_as_of_is_the_last_finished_ingest(app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection) -> None:
    row = snapshot_sql.execute(
        "SELECT finished_at FROM ingest_runs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    assert row is not None
    finished: datetime = row[0]
    captions = [c.value for c in app.sidebar.caption]
    assert any(f"{finished:%Y-%m-%d %H:%M} UTC" in c for c in captions), captions


def test_kpis_match_sql(app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date) -> None:
    today = demo_today
    so_far_row = snapshot_sql.execute(
        """SELECT sum(coalesce(usage_daily, 0) + coalesce(byok_usage_daily, 0)) FROM api_key_snapshots
           WHERE fetched_at = (SELECT max(fetched_at) FROM api_key_snapshots)"""
    ).fetchone()
    assert so_far_row is not None
    so_far = float(so_far_row[0])

    def completed_since(first: date) -> float:
        row = snapshot_sql.execute(
            "SELECT coalesce(sum(usage + byok_usage_inference), 0) FROM activity WHERE date >= ? AND date < ?",
            [first, today],
        ).fetchone()
        assert row is not None
        return float(row[0])

    monday = today - timedelta(days=today.weekday())
    credits = snapshot_sql.execute(
        "SELECT total_credits - total_usage FROM credits ORDER BY fetched_at DESC LIMIT 1"
    ).fetchone()
    assert credits is not None

    shown = _metrics(app)
    assert _usd(shown["Spend today so far"]) == pytest.approx(so_far, abs=CENT)
    assert _usd(shown["This week"]) == pytest.approx(completed_since(monday) + so_far, abs=CENT)
    assert _usd(shown["This month"]) == pytest.approx(completed_since(today.replace(day=1)) + so_far, abs=CENT)
    assert _usd(shown["Credits left"]) == pytest.approx(float(credits[0]), abs=CENT)


def test_default_range_charts_match_sql(
    app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date
) -> None:
    _check_range(app, snapshot_sql, *_preset(30, demo_today))


def test_tokens_chart_is_stacked_in_a_fixed_order_with_a_legend_and_exact_tooltips(app: AppTest) -> None:
    spec, data = _charts(app)["tokens_per_day"]
    assert spec["mark"]["type"] == "bar"
    enc = spec["encoding"]
    assert enc["y"]["stack"] == "zero"
    assert enc["color"]["scale"]["domain"] == list(TOKEN_PARTS)
    assert len(enc["color"]["scale"]["range"]) == 3
    assert enc["color"]["legend"] is not None
    assert enc["order"]["field"] == "part_order"
    tooltip = {t["field"]: t for t in enc["tooltip"]}
    assert {"prompt", "completion_only", "reasoning", "total"} <= set(tooltip)
    assert all(tooltip[f]["format"] == "," for f in ("prompt", "completion_only", "reasoning", "total"))
    assert "UTC" in enc["x"]["title"]
    assert enc["y"]["title"] == "Tokens"
    # The three parts add up to the day's total: nothing counted twice.
    by_day = data.groupby("day").agg(tokens=("tokens", "sum"), total=("total", "first"))
    assert (by_day["tokens"] == by_day["total"]).all()
    assert (data["tokens"] >= 0).all()


def test_spend_charts_are_labelled_in_usd(app: AppTest) -> None:
    charts = _charts(app)
    per_day = charts["spend_per_day"][0]
    assert per_day["encoding"]["y"]["title"] == "Spend (USD)"
    assert "UTC" in per_day["encoding"]["x"]["title"]
    per_model = charts["spend_per_model"][0]
    bars = per_model["layer"][0]
    assert bars["encoding"]["x"]["title"] == "Spend (USD)"
    assert per_model["usermeta"]["orusage_chart"] == "spend_per_model"


def test_model_filter_narrows_the_charts_but_not_the_kpis(
    app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date
) -> None:
    start, end = _preset(30, demo_today)
    by_sql = _sql_spend_by_model(snapshot_sql, start, end)
    chosen = list(by_sql["model_permaslug"].iloc[[0, -1]])  # the biggest and the smallest spender
    kpis_before = _metrics(app)
    total_before = _chart_tokens(_charts(app)["tokens_per_day"][1]).to_numpy().sum()

    select = app.sidebar.multiselect(key="models")
    for slug in chosen:
        select.select(slug)
    _run(app)

    _check_range(app, snapshot_sql, start, end, chosen)
    per_model = _charts(app)["spend_per_model"][1]
    assert set(per_model["model_permaslug"].dropna()) == set(chosen)
    assert _chart_tokens(_charts(app)["tokens_per_day"][1]).to_numpy().sum() < total_before
    assert _metrics(app) == kpis_before, "headline figures are account-wide"

    app.sidebar.multiselect(key="models").set_value([])
    _run(app)
    _check_range(app, snapshot_sql, start, end)


@pytest.mark.parametrize("preset,days", [("Last 7 days", 7), ("Last 90 days", 90)])
def test_presets_change_the_range(
    app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date, preset: str, days: int
) -> None:
    app.sidebar.radio(key="range_preset").set_value(preset)
    _run(app)
    _check_range(app, snapshot_sql, *_preset(days, demo_today))


def test_custom_range(app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date) -> None:
    app.sidebar.radio(key="range_preset").set_value("Custom")
    _run(app)
    # Custom starts from the default range, then takes the picked days.
    _check_range(app, snapshot_sql, *_preset(30, demo_today))
    start, end = demo_today - timedelta(days=20), demo_today - timedelta(days=12)
    app.sidebar.date_input(key="custom_range").set_value((start, end))
    _run(app)
    _check_range(app, snapshot_sql, start, end)


def test_a_range_without_activity_says_so(app: AppTest, snapshot_sql: duckdb.DuckDBPyConnection) -> None:
    row = snapshot_sql.execute("SELECT min(date) FROM activity").fetchone()
    assert row is not None
    first: date = row[0]
    app.sidebar.radio(key="range_preset").set_value("Custom")
    _run(app)
    app.sidebar.date_input(key="custom_range").set_value((first - timedelta(days=9), first - timedelta(days=2)))
    _run(app)
    assert not app.get("vega_lite_chart")
    assert any("No activity" in i.value for i in app.info)


def test_today_without_a_key_fetch_is_unknown_not_zero(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    tomorrow = demo_today + timedelta(days=1)
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    monkeypatch.setenv("ORUSAGE_TODAY", tomorrow.isoformat())
    at = _run(AppTest.from_file(str(APP), default_timeout=30))
    shown = _metrics(at)
    assert shown["Spend today so far"] == "—"
    assert any("no key fetch yet today" in c.value for c in at.caption)
    monday = tomorrow - timedelta(days=tomorrow.weekday())
    row = snapshot_sql.execute(
        "SELECT coalesce(sum(usage + byok_usage_inference), 0) FROM activity WHERE date >= ? AND date < ?",
        [monday, tomorrow],
    ).fetchone()
    assert row is not None
    assert _usd(shown["This week"]) == pytest.approx(float(row[0]), abs=CENT)


def test_one_connection_per_run_and_none_when_cached(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date
) -> None:
    opened: list[Path | None] = []
    real = reads.read_snapshot

    @contextmanager
    def counting(db_path: Path | None = None, attempts: int = 6) -> Iterator[duckdb.DuckDBPyConnection]:
        opened.append(db_path)
        with real(db_path, attempts) as con:
            yield con

    monkeypatch.setattr(reads, "read_snapshot", counting)
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    monkeypatch.setenv("ORUSAGE_TODAY", demo_today.isoformat())
    st.cache_data.clear()
    at = _run(AppTest.from_file(str(APP), default_timeout=30))
    assert len(opened) == 1, "all of a run's reads share one connection"
    _run(at)
    assert len(opened) == 1, "an unchanged snapshot is served from the cache"


# ---- no data, broken data --------------------------------------------------------------------------------


def test_empty_store_says_what_to_run(monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> None:
    monkeypatch.setenv("ORUSAGE_DB", str(empty_db))
    monkeypatch.delenv("ORUSAGE_TODAY", raising=False)
    at = _run(AppTest.from_file(str(APP), default_timeout=30))
    assert [t.value for t in at.title] == ["No data yet"]
    text = " ".join([m.value for m in at.markdown] + [c.value for c in at.code])
    assert "orusage ingest" in text
    assert "OPENROUTER_MANAGEMENT_KEY" in text
    assert "orusage demo" in text
    assert not at.get("vega_lite_chart")
    assert not at.metric
    assert not at.error
    assert "All days are UTC" in " ".join(c.value for c in at.sidebar.caption)


def test_damaged_store_shows_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    snapshot_path(db).write_bytes(b"this is not a duckdb file" * 100)
    monkeypatch.setenv("ORUSAGE_DB", str(db))
    at = _run(AppTest.from_file(str(APP), default_timeout=30))
    assert len(at.error) == 1
    message = at.error[0].value
    assert str(db.parent) in message
    assert "\n" not in message and "Traceback" not in message
    assert not at.get("vega_lite_chart")


def test_bad_pinned_today_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    monkeypatch.setenv("ORUSAGE_TODAY", "yesterday")
    at = _run(AppTest.from_file(str(APP), default_timeout=30))
    assert len(at.error) == 1
    assert "ORUSAGE_TODAY" in at.error[0].value


# ---- the reads behind the page, on tiny hand-made stores -----------------------------------------------------


def _tiny_store(db: Path, rows: list[dict[str, Any]]) -> Path:
    now = datetime(2026, 3, 4, 12, 0)
    with Writer(db) as writer, writer.transaction() as con:
        for day in sorted({r["date"] for r in rows}):
            writes.replace_activity_day(con, day, [r for r in rows if r["date"] == day], now)
    return db


def _activity_row(day: date, permaslug: str, completion: int, reasoning: int) -> dict[str, Any]:
    return {
        "date": day,
        "model": permaslug,
        "model_permaslug": permaslug,
        "endpoint_id": "ep",
        "provider_name": "P",
        "requests": 1,
        "prompt_tokens": 10,
        "completion_tokens": completion,
        "reasoning_tokens": reasoning,
        "usage": 0.5,
        "byok_usage_inference": 0.25,
    }


def test_completion_only_never_goes_negative(tmp_path: Path) -> None:
    day = date(2026, 3, 3)
    db = _tiny_store(
        tmp_path / "tiny.duckdb",
        [_activity_row(day, "a/odd", completion=5, reasoning=9), _activity_row(day, "b/normal", 30, 10)],
    )
    frame = reads.with_snapshot(reads.tokens_per_day, db, day, day)
    assert frame.to_dict("records") == [{"date": day, "prompt": 20, "completion_only": 0 + 20, "reasoning": 19}]


def test_model_filter_is_a_bound_value(tmp_path: Path) -> None:
    day = date(2026, 3, 3)
    db = _tiny_store(tmp_path / "tiny.duckdb", [_activity_row(day, "a/one", 5, 0)])
    hostile = ["x') OR TRUE OR ('", "a/one' --"]
    frame = reads.with_snapshot(reads.spend_per_model, db, day, day, hostile)
    assert frame.empty
    frame = reads.with_snapshot(reads.spend_per_model, db, day, day, ["a/one"])
    assert frame["spend"].to_list() == [0.75]


def test_sparse_store_with_a_failed_run_shows_unknowns_and_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    day = date(2026, 3, 3)
    db = _tiny_store(tmp_path / "sparse.duckdb", [_activity_row(day, "a/one", 5, 0)])
    with Writer(db) as writer, writer.transaction() as con:
        run = writes.start_run(con, "ingest", datetime(2026, 3, 4, 11, 0))
        writes.finish_run(con, run, "failed", datetime(2026, 3, 4, 11, 5), 0, 0, "OpenRouter returned 503")
    monkeypatch.setenv("ORUSAGE_DB", str(db))
    monkeypatch.setenv("ORUSAGE_TODAY", "2026-03-04")
    at = _run(AppTest.from_file(str(APP), default_timeout=30))
    shown = _metrics(at)
    assert shown["Spend today so far"] == "—"  # no /keys fetch at all
    assert shown["Credits left"] == "—"  # no /credits fetch at all
    assert _usd(shown["This week"]) == pytest.approx(0.75)
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "failed" in warnings and "503" in warnings
    assert len(at.get("vega_lite_chart")) == 3


def test_models_sharing_a_slug_get_distinct_labels(synthetic_db: Path) -> None:
    from queries import reads
    from queries.store import read_snapshot

    with read_snapshot(synthetic_db) as con:
        options = reads.model_options(con)
    shared = options[options["model"] == "openai/gpt-4o"]
    assert len(shared) == 2
    assert set(shared["label"]) == {"openai/gpt-4o-2024-08-06", "openai/gpt-4o-2024-11-20"}
    assert options["label"].is_unique
