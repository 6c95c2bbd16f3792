"""The Generations page and its reads, on the demo store (a real ingest of the fake's /generation records),
checked against the tests' own SQL: totals, order, paging, filters, search, details, downloads, the link."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import gen_url
from queries import generations_reads as gr
from queries.filters import Filters
from tests.dashboard_fixtures import downloads, open_app, run_app, texts

SPEND = "coalesce(usage, total_cost, 0) + coalesce(byok_usage_inference, 0)"


def _period(today: date) -> tuple[date, date]:
    return today - timedelta(days=30), today - timedelta(days=1)


def _ids(con: duckdb.DuckDBPyConnection, where: str = "true", params: list[Any] | None = None) -> set[str]:
    rows = con.execute(
        f"""SELECT g.id FROM generations g LEFT JOIN app_labels l USING (app_id)
            LEFT JOIN workspaces w ON w.id = g.workspace_id WHERE {where}""",
        params or [],
    ).fetchall()
    return {r[0] for r in rows}


@pytest.fixture
def period(demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    """The default range (last 30 completed days); the demo store has generation records in it."""
    start, end = _period(demo_today)
    count = snapshot_sql.execute(
        "SELECT count(*) FROM generations WHERE created_at::DATE BETWEEN ? AND ?", [start, end]
    ).fetchall()[0][0]
    assert count > 100, "the demo store should hold generation records in the default range"
    return start, end


def _all_pages(con: duckdb.DuckDBPyConnection, q: gr.GenerationQuery, size: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = gr.page(con, q, len(rows), size)
        rows += page.to_dict("records")
        if len(page) < size:
            return rows


# ---- the reads -----------------------------------------------------------------------------------------------


def test_totals_match_sql_for_every_filter(snapshot_sql: duckdb.DuckDBPyConnection, period: tuple[date, date]) -> None:
    con, (start, end) = snapshot_sql, period
    day = "g.created_at::DATE BETWEEN ? AND ?"
    one = lambda sql, *p: con.execute(sql, list(p)).fetchall()[0][0]  # noqa: E731
    model = one(f"SELECT model_permaslug FROM generations g WHERE {day} GROUP BY 1 ORDER BY count(*) DESC", start, end)
    provider = one(f"SELECT provider_name FROM generations g WHERE {day} GROUP BY 1 ORDER BY count(*) DESC", start, end)
    key = one(f"SELECT api_key_hash FROM generations g WHERE {day} GROUP BY 1 ORDER BY count(*) DESC", start, end)
    app = one("SELECT label FROM app_labels l JOIN generations g USING (app_id) GROUP BY 1 ORDER BY count(*) DESC")
    model_provider = one(
        f"SELECT provider_name FROM generations g WHERE {day} AND model_permaslug = ? "
        "GROUP BY 1 ORDER BY count(*) DESC",
        start,
        end,
        model,
    )
    workspace = one("SELECT w.name FROM workspaces w JOIN generations g ON g.workspace_id = w.id GROUP BY 1")
    cases: list[tuple[Filters, tuple[str, ...], str, list[Any]]] = [
        (Filters(start, end), (), "true", []),
        (Filters(start, end, models=(model,)), (), "g.model_permaslug = ?", [model]),
        (Filters(start, end, providers=(provider,)), (), "g.provider_name = ?", [provider]),
        (Filters(start, end, keys=(key,)), (), "g.api_key_hash = ?", [key]),
        (Filters(start, end, apps=(app,)), (), "l.label = ?", [app]),
        (Filters(start, end, apps=("unattributed",)), (), "l.label IS NULL AND g.app_name IS NULL", []),
        (Filters(start, end, workspace=workspace), (), "w.name = ?", [workspace]),
        (Filters(start, end), ("stop",), "g.finish_reason = 'stop'", []),
        (Filters(start, end, models=(model,), providers=(model_provider,)), ("stop", "length"),
         "g.model_permaslug = ? AND g.provider_name = ? AND g.finish_reason IN ('stop', 'length')",
         [model, model_provider]),
    ]  # fmt: skip
    for selection, finish, where, params in cases:
        q = gr.GenerationQuery(selection, finish_reasons=finish)
        want = _ids(con, f"{day} AND {where}", [start, end, *params])
        assert want, f"{selection} {finish}: the case should match some records"
        totals = gr.totals(con, q)
        assert totals.rows == len(want), (selection, finish)
        spend = con.execute(
            f"SELECT sum({SPEND}) FROM generations WHERE list_contains(?, id)", [sorted(want)]
        ).fetchall()[0][0]
        assert totals.spend == pytest.approx(spend, abs=1e-9)
        assert {r["id"] for r in _all_pages(con, q, 100)} == want


@pytest.mark.parametrize("sort", list(gr.SORTS))
@pytest.mark.parametrize("descending", [True, False], ids=["desc", "asc"])
def test_pages_cover_every_row_once_in_order(
    snapshot_sql: duckdb.DuckDBPyConnection, period: tuple[date, date], sort: str, descending: bool
) -> None:
    q = gr.GenerationQuery(Filters(*period), sort=sort, descending=descending)
    rows = _all_pages(snapshot_sql, q, 37)  # a page size that does not divide the count
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == gr.totals(snapshot_sql, q).rows, "no row repeated or skipped"
    keyed = snapshot_sql.execute(
        f"""SELECT id, {gr.SORTS[sort][1]} FROM generations g LEFT JOIN app_labels l USING (app_id)
            WHERE list_contains(?, id)""",
        [ids],
    ).fetchall()
    value = dict(keyed)
    present = [value[i] for i in ids if value[i] is not None]
    assert present == sorted(present, reverse=descending), "sorted by the chosen column"
    nulls = [value[i] is None for i in ids]
    assert nulls == sorted(nulls), "records without a value come last, either way"


def test_search_finds_by_part_of_an_id_and_binds_hostile_text(
    snapshot_sql: duckdb.DuckDBPyConnection, period: tuple[date, date]
) -> None:
    con = snapshot_sql
    some = gr.page(con, gr.GenerationQuery(Filters(*period)), 0, 5)["id"].tolist()
    for text in (some[0], some[1][-9:], f"  {some[2][4:]}  "):
        found = gr.page(con, gr.GenerationQuery(Filters(*period), search=text), 0, 50)["id"].tolist()
        assert found and all(text.strip() in i for i in found)
    before = con.execute("SELECT count(*) FROM generations").fetchall()[0][0]
    stored = con.execute(
        "SELECT id, request_id, session_id, external_user FROM generations WHERE created_at::DATE BETWEEN ? AND ?",
        list(period),
    ).fetchall()
    for hostile in ("'; DROP TABLE generations; --", "%", "_", "gen-%", "\\", "' OR '1'='1"):
        q = gr.GenerationQuery(Filters(*period), search=hostile)
        literal = sum(any(hostile in (v or "") for v in row) for row in stored)
        assert gr.totals(con, q).rows == literal, f"{hostile!r} is text to find, never SQL or a wildcard"
    assert gr.totals(con, gr.GenerationQuery(Filters(*period), search="%")).rows == 0
    assert con.execute("SELECT count(*) FROM generations").fetchall()[0][0] == before


def test_only_allowlisted_sorts_and_sane_pages(
    snapshot_sql: duckdb.DuckDBPyConnection, period: tuple[date, date]
) -> None:
    for bad in ("id; DROP TABLE generations", "created_at", "random()", ""):
        with pytest.raises(ValueError, match="cannot sort"):
            gr.GenerationQuery(Filters(*period), sort=bad)
    q = gr.GenerationQuery(Filters(*period))
    for offset, limit in ((-1, 10), (0, 0), (0, 5000)):
        with pytest.raises(ValueError, match="bad page"):
            gr.page(snapshot_sql, q, offset, limit)


def test_detail_has_every_stored_column(snapshot_sql: duckdb.DuckDBPyConnection, period: tuple[date, date]) -> None:
    con = snapshot_sql
    gid = gr.page(con, gr.GenerationQuery(Filters(*period), sort="spend"), 0, 1)["id"][0]
    record = gr.detail(con, gid)
    assert record is not None
    stored = dict(
        zip(gr.columns(con), con.execute("SELECT * FROM generations WHERE id = ?", [gid]).fetchall()[0], strict=True)
    )
    assert {k: record[k] for k in stored} == stored
    assert record["spend"] == pytest.approx(
        con.execute(f"SELECT {SPEND} FROM generations WHERE id = ?", [gid]).fetchall()[0][0]
    )
    assert gr.detail(con, "gen-does-not-exist") is None


def test_downloads_hold_the_filtered_rows_in_order_and_respect_the_cap(
    snapshot_sql: duckdb.DuckDBPyConnection, period: tuple[date, date]
) -> None:
    con = snapshot_sql
    q = gr.GenerationQuery(Filters(*period), sort="tokens", finish_reasons=("stop",))
    expected = [r["id"] for r in _all_pages(con, q, 100)]
    content, rows = gr.download(con, q, 10_000, "parquet")
    table = pq.read_table(io.BytesIO(content))
    assert rows == table.num_rows == len(expected)
    assert table.column("id").to_pylist() == expected
    assert set(gr.columns(con)) <= set(table.column_names), "every stored column"
    content, rows = gr.download(con, q, 25, "csv")
    table = pa_csv.read_csv(io.BytesIO(content))
    assert rows == table.num_rows == 25 and table.column("id").to_pylist() == expected[:25]
    with pytest.raises(ValueError, match="unknown file kind"):
        gr.download(con, q, 25, "xlsx")


# ---- the link ------------------------------------------------------------------------------------------------


def test_view_round_trips_through_the_link() -> None:
    view = gen_url.View(sort="spend", descending=False, search="gen-17", finish=("stop", "length"), page=3, rows=25)
    params = gen_url.encode(view)
    assert params == {
        "sort": "spend",
        "order": "asc",
        "q": "gen-17",
        "finish": ["stop", "length"],
        "page": "3",
        "rows": "25",
    }
    lists = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    assert gen_url.parse(lists) == (view, ())
    assert gen_url.encode(gen_url.View()) == {}, "the default view keeps a plain link"


def test_tags_round_trip_through_the_link_and_bad_ones_are_noted() -> None:
    view = gen_url.View(tags=("project=alpha", "env=prod"))
    assert gen_url.encode(view) == {"tag": ["project=alpha", "env=prod"]}
    assert gen_url.parse({"tag": ["project=alpha", "env=prod"]}) == (view, ())
    parsed, notes = gen_url.parse({"tag": ["no-equals", "k=" + "v" * 400, "ok=1", "ok=1"]})
    assert parsed.tags == ("ok=1",) and len(notes) == 2 and all("is not KEY=VALUE" in n for n in notes)


def test_hostile_link_values_are_dropped_with_a_note() -> None:
    view, notes = gen_url.parse(
        {
            "sort": ["id; DROP TABLE generations"],
            "order": ["sideways"],
            "page": ["-1"],
            "rows": ["100000"],
            "finish": ["x" * 500, "stop", "stop", "bad\nline"],
            "q": ["a" * 500],
        }
    )
    assert view == gen_url.View(finish=("stop",), search="a" * gr.SEARCH_MAX)
    assert len(notes) == 7, notes
    assert any(n.startswith("sort:") for n in notes) and any(n.startswith("rows:") for n in notes)


# ---- the page ------------------------------------------------------------------------------------------------


def _page(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, **params: Any) -> AppTest:
    at = open_app(monkeypatch, demo_db, demo_today, page="generations", params=params or None)
    assert [t.value for t in at.title] == ["Generations"]
    return at


def _table(at: AppTest) -> Any:
    frames = [f.value for f in at.dataframe if "id" in f.value.columns]
    assert len(frames) == 1
    return frames[0]


def test_page_shows_the_first_page_and_the_totals(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _page(monkeypatch, demo_db, demo_today)
    start, end = _period(demo_today)
    want = _ids(snapshot_sql, "g.created_at::DATE BETWEEN ? AND ?", [start, end])
    table = _table(at)
    assert len(table) == gen_url.DEFAULT_ROWS
    newest = snapshot_sql.execute(
        "SELECT id FROM generations WHERE created_at::DATE BETWEEN ? AND ? ORDER BY created_at DESC LIMIT 50",
        [start, end],
    ).fetchall()
    assert table["id"].tolist() == [r[0] for r in newest], "newest first by default"
    assert f"**{len(want):,}** generations match" in texts(at)
    assert [d.label for d in downloads(at)] == [f"CSV ({len(want):,} rows)", f"PARQUET ({len(want):,} rows)"]
    assert "orusage export" in texts(at)
    assert dict(at.query_params) == {"range": "30d"}


def test_link_opens_the_view_and_the_controls_write_it_back(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _page(monkeypatch, demo_db, demo_today, sort="spend", order="asc", rows="25", page="2", finish="stop")
    start, end = _period(demo_today)
    q = gr.GenerationQuery(Filters(start, end), finish_reasons=("stop",), sort="spend", descending=False)
    expected = gr.page(snapshot_sql, q, 25, 25)["id"].tolist()
    assert _table(at)["id"].tolist() == expected
    assert at.query_params["page"] == "2" and at.query_params["sort"] == "spend"
    # Another question starts again at page 1, and the link follows.
    at.selectbox(key="g_sort").set_value("latency")
    run_app(at)
    assert "page" not in at.query_params and at.query_params["sort"] == "latency"
    by_latency = gr.GenerationQuery(Filters(start, end), finish_reasons=("stop",), sort="latency", descending=False)
    assert _table(at)["id"].tolist() == gr.page(snapshot_sql, by_latency, 0, 25)["id"].tolist()
    at.number_input(key="g_page").set_value(3)
    run_app(at)
    assert at.query_params["page"] == "3"


def test_sidebar_filters_apply_and_search_narrows(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    start, end = _period(demo_today)
    provider = snapshot_sql.execute(
        "SELECT provider_name FROM generations GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchall()[0][0]
    at = _page(monkeypatch, demo_db, demo_today, providers=provider)
    want = _ids(snapshot_sql, "g.created_at::DATE BETWEEN ? AND ? AND g.provider_name = ?", [start, end, provider])
    assert set(_table(at)["provider"]) == {provider}
    assert f"**{len(want):,}** generations match" in texts(at)
    one = sorted(want)[0]
    at.text_input(key="g_search").input(one)
    run_app(at)
    assert _table(at)["id"].tolist() == [one]
    assert "**1** generation matches" in texts(at) and at.query_params["q"] == one


def test_a_selected_row_shows_its_details(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, snapshot_sql: duckdb.DuckDBPyConnection
) -> None:
    at = _page(monkeypatch, demo_db, demo_today, sort="spend")
    gid = _table(at)["id"][0]
    at.session_state["g_selected"] = gid  # what a click on the row sets (the grid's click needs a browser)
    run_app(at)
    assert any(gid in m.value for m in at.markdown)
    spend = snapshot_sql.execute(f"SELECT {SPEND} FROM generations WHERE id = ?", [gid]).fetchall()[0][0]
    shown = {m.label: m.value for m in at.metric}
    assert shown["Spend"] == (f"${spend:,.4f}" if spend < 0.01 else f"${spend:,.2f}")
    assert len(at.table) >= len(("Who and where", "Tokens", "Cost", "Timing"))


def test_a_range_without_records_says_where_they_are(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date
) -> None:
    start = demo_today - timedelta(days=300)
    at = _page(
        monkeypatch,
        demo_db,
        demo_today,
        range="custom",
        **{"from": start.isoformat(), "to": (start + timedelta(days=6)).isoformat()},
    )
    assert any("none in" in i.value for i in at.info)
    assert not [f for f in at.dataframe if "id" in f.value.columns] and not downloads(at)


def test_store_without_generation_records_says_how_to_get_them(
    monkeypatch: pytest.MonkeyPatch, synthetic_db: Path, synthetic_today: date
) -> None:
    at = open_app(monkeypatch, synthetic_db, synthetic_today, page="generations")
    message = " ".join(i.value for i in at.info)
    assert "No generation records stored yet" in message and "orusage import" in message
    assert not downloads(at)
