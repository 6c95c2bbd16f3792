"""The routing rule (which stored table answers which filters and days) and the routed reads.

The table below is written out by hand: every combination of the five filter dimensions, with the source
expected for the activity window ("recent") and for older days within a year ("older"), or that no stored
table can answer it. The routed reads are then checked against the tests' own SQL on the demo store.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path

import duckdb
import pytest

from queries import reads_facts
from queries.filters import NOTHING, Filters, team_scope
from queries.reads_facts import GROUP_COLUMNS, facts, rows_sql, source_spans
from queries.reads_routing import Dim, Need, Route, Span, candidates, explain, reach_note, route
from queries.store import read_snapshot
from tests.dashboard_fixtures import activity_window, expected_by, expected_totals

TODAY = date(2026, 11, 20)
ACT = (TODAY - timedelta(days=30), TODAY - timedelta(days=1))  # 30 completed days of /activity
YEAR = (TODAY - timedelta(days=364), TODAY - timedelta(days=1))
SHORT = ACT  # 31-day analytics hold the same completed days
LONG_PAIRS = ("model,user", "app,user", "api_key_hash,app", "api_key_hash,user")
SHORT_PAIRS = (
    "app,provider",
    "provider,user",
    "model,external_user",
    "app,external_user",
    "provider,external_user",
    "user,external_user",
    "api_key_hash,external_user",
)
SPANS: dict[tuple[str, str], tuple[Span, ...]] = {
    ("activity", "long"): (ACT,),
    ("activity_by_key", "long"): (ACT,),
    ("analytics:model", "long"): (YEAR,),
    ("analytics:model", "short"): (SHORT,),
    ("analytics:model,provider", "long"): (SHORT,),
    ("analytics:model,provider", "short"): (SHORT,),
    ("analytics:api_key_hash,model", "long"): (YEAR,),
    ("analytics:api_key_hash,model", "short"): (SHORT,),
    ("analytics:model,app", "long"): (YEAR,),
    ("analytics:model,app", "short"): (SHORT,),
    ("analytics:workspace", "long"): (YEAR,),
    ("analytics:workspace", "short"): (SHORT,),
    ("analytics:user", "long"): (YEAR,),
    ("analytics:user", "short"): (SHORT,),
    ("analytics:external_user", "long"): (SHORT,),
    ("analytics:external_user", "short"): (SHORT,),
    # The pairs the ingest fetches for the usage metrics only (ingest.analytics.pairs).
    **{(f"analytics:{g}", "long"): (YEAR,) for g in LONG_PAIRS},
    **{(f"analytics:{g}", m): (SHORT,) for g in SHORT_PAIRS for m in ("long", "short")},
}
M, P, A, K, W, U, E = Dim.MODEL, Dim.PROVIDER, Dim.APP, Dim.KEY, Dim.WORKSPACE, Dim.MEMBER, Dim.END_USER
NO = "cannot answer"


def _an(grouping: str, older: bool = True) -> tuple[str, str | None]:
    """An analytics grouping for both the activity window and older days (None: beyond its reach)."""
    return (f"analytics:{grouping}", f"analytics:{grouping}" if older else None)


# frozenset(dims) -> (source of the activity window's days, source of older days or None: beyond reach).
# Written out for every single dimension and every pair; of three dimensions or more only those a table
# holds are listed (every other one cannot be answered): see test_the_table_names_every_combination.
TABLE: dict[frozenset[Dim], tuple[str, str | None] | str] = {
    frozenset(): ("activity", "analytics:model"),
    frozenset({M}): ("activity", "analytics:model"),
    frozenset({P}): ("activity", None),
    frozenset({A}): _an("model,app"),
    frozenset({K}): ("activity_by_key", "analytics:api_key_hash,model"),
    frozenset({W}): _an("workspace"),
    frozenset({U}): _an("user"),
    frozenset({E}): _an("external_user", older=False),
    frozenset({M, P}): ("activity", None),
    frozenset({M, A}): _an("model,app"),
    frozenset({M, K}): ("activity_by_key", "analytics:api_key_hash,model"),
    frozenset({M, W}): ("activity_by_key", "analytics:api_key_hash,model"),  # through the keys
    frozenset({M, U}): _an("model,user"),
    frozenset({M, E}): _an("model,external_user", older=False),
    frozenset({P, A}): _an("app,provider", older=False),
    frozenset({P, K}): ("activity_by_key", None),
    frozenset({P, W}): ("activity_by_key", None),
    frozenset({P, U}): _an("provider,user", older=False),
    frozenset({P, E}): _an("provider,external_user", older=False),
    frozenset({A, K}): _an("api_key_hash,app"),
    frozenset({A, W}): _an("api_key_hash,app"),
    frozenset({A, U}): _an("app,user"),
    frozenset({A, E}): _an("app,external_user", older=False),
    frozenset({K, W}): ("activity_by_key", "analytics:api_key_hash,model"),
    frozenset({K, U}): _an("api_key_hash,user"),
    frozenset({K, E}): _an("api_key_hash,external_user", older=False),
    frozenset({W, U}): _an("api_key_hash,user"),
    frozenset({W, E}): _an("api_key_hash,external_user", older=False),
    frozenset({U, E}): _an("user,external_user", older=False),
    frozenset({M, P, K}): ("activity_by_key", None),
    frozenset({M, P, W}): ("activity_by_key", None),
    frozenset({M, K, W}): ("activity_by_key", "analytics:api_key_hash,model"),
    frozenset({P, K, W}): ("activity_by_key", None),
    frozenset({M, P, K, W}): ("activity_by_key", None),
    frozenset({A, K, W}): _an("api_key_hash,app"),
    frozenset({U, K, W}): _an("api_key_hash,user"),
    frozenset({E, K, W}): _an("api_key_hash,external_user", older=False),
}
# The same for cached tokens (analytics only) and for latency (analytics, last 31 days only; the pairs
# are kept without it).
CACHED: dict[frozenset[Dim], tuple[str, str | None] | str] = {
    frozenset(): ("analytics:model", "analytics:model"),
    frozenset({M}): ("analytics:model", "analytics:model"),
    frozenset({P}): ("analytics:model,provider", None),
    frozenset({M, P}): ("analytics:model,provider", None),
    frozenset({A}): ("analytics:model,app", "analytics:model,app"),
    frozenset({K}): ("analytics:api_key_hash,model", "analytics:api_key_hash,model"),
    frozenset({W}): ("analytics:workspace", "analytics:workspace"),
    frozenset({M, W}): ("analytics:api_key_hash,model", "analytics:api_key_hash,model"),
    frozenset({U}): _an("user"),
    frozenset({M, U}): _an("model,user"),
    frozenset({A, E}): _an("app,external_user", older=False),
    frozenset({P, K}): NO,  # activity_by_key has the pair but no cached tokens
}
LATENCY: dict[frozenset[Dim], tuple[str, str | None] | str] = {
    frozenset(): ("analytics:model", None),
    frozenset({P}): ("analytics:model,provider", None),
    frozenset({M, P}): ("analytics:model,provider", None),
    frozenset({A}): ("analytics:model,app", None),
    frozenset({K}): ("analytics:api_key_hash,model", None),
    frozenset({W}): ("analytics:workspace", None),
    frozenset({U}): ("analytics:user", None),
    frozenset({E}): ("analytics:external_user", None),
    frozenset({P, K}): NO,
    frozenset({A, P}): NO,  # a pair kept for the usage metrics only
    frozenset({M, U}): NO,
}


def _subsets(dims: Iterable[Dim]) -> list[frozenset[Dim]]:
    items = list(dims)
    return [frozenset(c) for n in range(len(items) + 1) for c in combinations(items, n)]


# Every stored row says which account it is of, so the account never changes which table answers: the table
# is written out over the other dimensions, and each combination with the account routes as the one without.
ROUTED = [d for d in Dim if d is not Dim.ACCOUNT]


def test_the_table_names_every_combination() -> None:
    every = set(_subsets(ROUTED))
    assert set(TABLE) <= every
    assert {d for d in every if len(d) <= 2} <= set(TABLE), "every single dimension and pair is written out"
    assert len(every) == 2 ** len(ROUTED)


def _want(dims: frozenset[Dim]) -> tuple[str, str | None] | str:
    return TABLE.get(dims - {Dim.ACCOUNT}, NO)


def test_the_account_never_changes_a_route() -> None:
    start = TODAY - timedelta(days=120)
    for dims in _subsets(ROUTED):
        alone = route(dims, start, ACT[1], SPANS, TODAY)
        with_account = route(dims | {Dim.ACCOUNT}, start, ACT[1], SPANS, TODAY)
        assert (with_account.segments, with_account.gaps) == (alone.segments, alone.gaps)
        assert with_account.answerable == alone.answerable


def _check(r: Route, want: tuple[str, str | None] | str, older: tuple[date, date]) -> None:
    if want == NO:
        assert not r.answerable and not r.segments and r.unanswerable
        return
    assert isinstance(want, tuple)
    recent_source, older_source = want
    by_day = {s.first + timedelta(days=i): s.source for s in r.segments for i in range((s.last - s.first).days + 1)}
    assert {by_day.get(ACT[0] + timedelta(days=i)) for i in range(30)} == {recent_source}
    if older_source is None:
        assert older_source not in by_day or not any(older[0] <= d <= older[1] for d in by_day)
        assert [(g.first, g.last, g.beyond_reach) for g in r.gaps] == [(older[0], older[1], True)]
    else:
        assert {by_day[older[0] + timedelta(days=i)] for i in range((older[1] - older[0]).days + 1)} == {older_source}
        assert not r.gaps


@pytest.mark.parametrize(
    "dims", sorted(_subsets(Dim), key=lambda d: (len(d), sorted(d))), ids=lambda d: "+".join(sorted(d)) or "none"
)
def test_routing_table(dims: frozenset[Dim]) -> None:
    start = TODAY - timedelta(days=120)
    r = route(dims, start, ACT[1], SPANS, TODAY)
    _check(r, _want(dims), (start, ACT[0] - timedelta(days=1)))


@pytest.mark.parametrize("needs,table", [(Need.CACHED, CACHED), (Need.LATENCY, LATENCY)], ids=["cached", "latency"])
def test_routing_table_for_analytics_only_metrics(needs: Need, table: dict[frozenset[Dim], object]) -> None:
    start = TODAY - timedelta(days=120)
    for dims, want in table.items():
        r = route(dims, start, ACT[1], SPANS, TODAY, [needs])
        _check(r, want, (start, ACT[0] - timedelta(days=1)))  # type: ignore[arg-type]
        assert not any(s.source.startswith("activity") for s in r.segments), "activity has no such metric"


def test_every_day_is_read_from_exactly_one_source() -> None:
    start, end = TODAY - timedelta(days=200), ACT[1]
    for dims in _subsets(Dim):
        r = route(dims, start, end, SPANS, TODAY)
        days = [s.first + timedelta(days=i) for s in r.segments for i in range((s.last - s.first).days + 1)]
        gaps = [g.first + timedelta(days=i) for g in r.gaps for i in range((g.last - g.first).days + 1)]
        assert len(days) == len(set(days)), "a day read twice would be counted twice"
        if r.answerable:
            assert sorted(days + gaps) == [start + timedelta(days=i) for i in range((end - start).days + 1)]


def test_days_nothing_covers_are_told_apart() -> None:
    # Activity lost a week inside its window (never ingested): those days fall back to analytics.
    holed = {
        **SPANS,
        ("activity", "long"): ((ACT[0], ACT[0] + timedelta(days=9)), (ACT[0] + timedelta(days=17), ACT[1])),
    }
    r = route((), ACT[0], ACT[1], holed, TODAY)
    assert [s.source for s in r.segments] == ["activity", "analytics:model", "activity"]
    assert not r.gaps
    # With a provider nothing else holds those days: a gap that an ingest could still fill.
    others = {(s.name, "long"): () for s in candidates([P]) if not s.is_activity}
    assert len(others) == 4  # model × provider and the pairs with a provider
    r = route([P], ACT[0], ACT[1], {**holed, **others}, TODAY)
    assert [(g.first, g.last, g.beyond_reach) for g in r.gaps] == [
        (ACT[0] + timedelta(days=10), ACT[0] + timedelta(days=16), False)
    ]


def test_unanswerable_combinations_say_why() -> None:
    message = explain(frozenset({M, P, A}), frozenset())
    assert "model × provider × app" in message and "two dimensions at most" in message and "Clear one" in message
    # The smallest clashes are named, not the whole question.
    four = explain(frozenset({M, A, K, E}), frozenset())
    assert "model × app × API key;" in four and "model × app × API key × end user" not in four
    assert "cached tokens by provider × API key" in explain(frozenset({P, K}), frozenset({Need.CACHED}))
    assert "latency and throughput by provider × app" in explain(frozenset({A, P}), frozenset({Need.LATENCY}))
    for line in (explain(frozenset(d), frozenset()) for d in _subsets(Dim) if _want(d) == NO):
        assert "\n" not in line


def test_teams_that_cannot_be_one_filter_say_why() -> None:
    teams = {"research": ("key", ("k1", "k2")), "support": ("app", ("Cline",)), "ops": ("key", ("k2", "k3"))}
    one_kind = team_scope(("research", "ops"), teams)
    assert one_kind is not None and one_kind.dim is K and one_kind.values == ("k1", "k2", "k3")
    mixed = team_scope(("research", "support"), teams)
    assert mixed is not None and mixed.dim is None and "apps and keys" in (mixed.problem or "")
    sel = Filters(TODAY, TODAY, keys=("k2", "k9"), team=one_kind)
    assert sel.values(K) == ("k2",) and sel.dims == frozenset({K}), "the team's keys met with the chosen ones"
    assert Filters(TODAY, TODAY, keys=("k9",), team=one_kind).values(K) == (NOTHING,), "nothing in common"
    assert Filters(TODAY, TODAY, team=team_scope(("support",), teams)).values(A) == ("Cline",)
    # A team of tags (kept out of the sidebar; a stale link or a caller may still name one) is no filter.
    tagged = team_scope(("alpha",), {**teams, "alpha": ("tag", ("project=alpha",))})
    assert tagged is not None and tagged.dim is None and "tags" in (tagged.problem or "")


def test_reach_notes_name_the_limit() -> None:
    start = TODAY - timedelta(days=90)
    assert "provider data reaches back 31 days" in reach_note(route([P], start, ACT[1], SPANS, TODAY))
    assert "30 days" in reach_note(route([P, K], start, ACT[1], SPANS, TODAY))
    assert "31 days" in reach_note(route([], start, ACT[1], SPANS, TODAY, [Need.LATENCY]))


# ---- routed reads against the tests' own SQL --------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_db: Path) -> tuple[duckdb.DuckDBPyConnection, dict[tuple[str, str], tuple[Span, ...]], date]:
    with read_snapshot(demo_db) as con:
        spans = source_spans(con)
        (first, _last) = activity_window(con)
        yield con, spans, first  # type: ignore[misc]


def test_spans_come_from_coverage(
    demo: tuple[duckdb.DuckDBPyConnection, dict[tuple[str, str], tuple[Span, ...]], date],
) -> None:
    con, spans, first = demo
    rows = con.execute(
        "SELECT min(first_day), max(last_day) FROM coverage WHERE source = 'analytics' AND dimensions = 'model' "
        "AND metrics = 'long'"
    ).fetchall()[0]
    assert rows is not None
    assert spans[("analytics:model", "long")] == ((rows[0], rows[1]),)
    assert spans[("activity", "long")][0][0] == first
    # The 31-day grouping is fetched with every metric at once: its short fetches count for both.
    assert spans[("analytics:model,provider", "long")] == spans[("analytics:model,provider", "short")]


FILTER_CASES = {
    "no filters": {},
    "model": {"models": ("anthropic/claude-4.5-sonnet-20250929", "openai/gpt-5-2025-08-07")},
    "provider": {"providers": ("OpenAI", "Anthropic")},
    "provider+model": {"providers": ("Azure",), "models": ("openai/gpt-4.1-2025-04-14",)},
    "app": {"apps": ("Cline", "unattributed")},
    "app+model": {"apps": ("Cline",), "models": ("x-ai/grok-3-mini",)},
    "workspace": {"workspace": "Research"},
}


def _key(con: duckdb.DuckDBPyConnection, n: int = 0) -> str:
    row = con.execute("SELECT hash FROM api_keys WHERE NOT disabled ORDER BY usage DESC, hash").fetchall()[n]
    return str(row[0])


def _filters(start: date, end: date, values: dict[str, object]) -> Filters:
    workspace = values.get("workspace")
    return Filters(
        start,
        end,
        models=tuple(values.get("models", ())),  # type: ignore[arg-type]
        providers=tuple(values.get("providers", ())),  # type: ignore[arg-type]
        apps=tuple(values.get("apps", ())),  # type: ignore[arg-type]
        keys=tuple(values.get("keys", ())),  # type: ignore[arg-type]
        workspace=str(workspace) if workspace else None,
    )


@pytest.mark.parametrize("case", [*FILTER_CASES, "key", "key+provider"])
@pytest.mark.parametrize("days", [7, 90, 365], ids=lambda d: f"{d}d")
def test_routed_totals_match_sql(
    demo: tuple[duckdb.DuckDBPyConnection, dict[tuple[str, str], tuple[Span, ...]], date], case: str, days: int
) -> None:
    con, spans, _first = demo
    filters: dict[str, object] = dict(FILTER_CASES.get(case, {}))
    if case.startswith("key"):
        filters["keys"] = (_key(con, 0), _key(con, 2))
        if case == "key+provider":
            filters["providers"] = ("OpenAI",)
    end = TODAY - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    sel = _filters(start, end, filters)
    r = route(sel.dims, start, end, spans, TODAY)
    got = facts(con, r, sel)
    want = expected_totals(con, start, end, **filters)  # type: ignore[arg-type]
    assert float(got["spend"].fillna(0).iloc[0]) == pytest.approx(want["spend"], rel=1e-9, abs=1e-9)
    assert int(got["requests"].fillna(0).iloc[0]) == int(want["requests"])
    assert int((got["prompt"] + got["completion"]).fillna(0).iloc[0]) == int(want["tokens"])


def test_a_range_spanning_both_sources_counts_each_day_once(
    demo: tuple[duckdb.DuckDBPyConnection, dict[tuple[str, str], tuple[Span, ...]], date],
) -> None:
    con, spans, first = demo
    start, end = first - timedelta(days=10), first + timedelta(days=9)
    r = route([M], start, end, spans, TODAY)
    assert [(s.source, s.first, s.last) for s in r.segments] == [
        ("analytics:model", start, first - timedelta(days=1)),
        ("activity", first, end),
    ]
    per_day = facts(con, r, Filters(r.start, r.end), ("date",)).set_index("date")
    want = expected_by(con, "date", start, end)
    want = want.assign(value=[v.date() if hasattr(v, "date") else v for v in want["value"]]).set_index("value")
    assert list(per_day.index) == sorted(want.index)
    assert per_day["spend"].to_dict() == pytest.approx(want["spend"].to_dict())
    # The overlap holds both tables' numbers for the same days: summing both would double them.
    both = con.execute(
        "SELECT (SELECT sum(usage + byok_usage_inference) FROM activity WHERE date BETWEEN ? AND ?) + "
        "(SELECT sum(total_usage) FROM analytics_daily WHERE dimensions = 'model' AND date BETWEEN ? AND ?)",
        [start, end, start, end],
    ).fetchall()[0]
    assert both is not None
    assert float(per_day["spend"].sum()) < float(both[0]) * 0.75


def test_breakdowns_and_top_n_match_sql(
    demo: tuple[duckdb.DuckDBPyConnection, dict[tuple[str, str], tuple[Span, ...]], date],
) -> None:
    con, spans, _first = demo
    start, end = TODAY - timedelta(days=60), TODAY - timedelta(days=1)
    r = route([M], start, end, spans, TODAY)
    want = expected_by(con, "model", start, end)
    top = facts(con, r, Filters(r.start, r.end), ("model",), top=("model", 5)).sort_values("rank")
    assert list(top["model"][:5]) == list(want["value"][:5])
    assert top["spend"][:5].to_list() == pytest.approx(want["spend"][:5].to_list())
    assert top.iloc[5]["model"] == reads_facts.OTHER
    assert float(top.iloc[5]["spend"]) == pytest.approx(float(want["spend"][5:].sum()))
    assert int(top.iloc[5]["members"]) == len(want) - 5


def test_completion_only_never_goes_negative(
    demo: tuple[duckdb.DuckDBPyConnection, dict[tuple[str, str], tuple[Span, ...]], date],
) -> None:
    con, spans, _first = demo
    r = route((), TODAY - timedelta(days=30), TODAY - timedelta(days=1), spans, TODAY)
    per_day = facts(con, r, Filters(r.start, r.end), ("date",))
    want = con.execute(
        "SELECT date, sum(greatest(completion_tokens - reasoning_tokens, 0)) FROM activity GROUP BY date ORDER BY date"
    ).fetchall()
    assert [int(v) for v in per_day["completion_only"]] == [int(v) for _, v in want]
    assert (per_day["completion_only"] >= 0).all()


def test_filter_values_are_bound_and_groupings_allowlisted(
    demo: tuple[duckdb.DuckDBPyConnection, dict[tuple[str, str], tuple[Span, ...]], date],
) -> None:
    con, spans, _first = demo
    hostile = Filters(
        TODAY - timedelta(days=30),
        TODAY - timedelta(days=1),
        models=("x') OR TRUE OR ('", "a' --"),
        apps=("'; DROP TABLE activity; --",),
    )
    r = route(hostile.dims, hostile.start, hostile.end, spans, TODAY)
    sql, params = rows_sql(r, hostile)
    assert "DROP" not in sql and "OR TRUE" not in sql
    assert ["x') OR TRUE OR ('", "a' --"] in params
    assert facts(con, r, hostile)["requests"].fillna(0).iloc[0] == 0
    for bad in ("date; DROP TABLE x", "spend", "model) --"):
        assert bad not in GROUP_COLUMNS
        with pytest.raises(ValueError):
            facts(con, r, hostile, (bad,))
    with pytest.raises(ValueError):
        three = Filters(TODAY, TODAY, models=("m",), apps=("x",), keys=("y",))
        rows_sql(route(three.dims, TODAY, TODAY, spans, TODAY), three)


def test_stores_without_coverage_fall_back_to_stored_days(synthetic_db: Path) -> None:
    with read_snapshot(synthetic_db) as con:
        spans = source_spans(con)
        row = con.execute("SELECT min(date), max(date) FROM activity").fetchall()[0]
    assert row is not None
    assert spans[("activity", "long")] == ((row[0], row[1]),)
    assert ("analytics:model", "long") not in spans
