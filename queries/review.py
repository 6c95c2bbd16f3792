"""The weekly cost review's reads: one week's facts (and the same days a week earlier), list prices, budgets.

Every number is read through the routing rule of ``reads_routing`` (each day from exactly one table):
models from ``activity`` where it covers the day and analytics ``model`` before; apps from analytics
``model,app``; API keys from ``activity_by_key`` and analytics ``api_key_hash,model``; providers from
``activity`` and analytics ``model,provider`` (31 days). Cached tokens exist only in analytics; cache
savings are ``queries.cache_savings``' (analytics, else per-generation records). Account-wide: the
dashboard's filters do not apply to the review.

Days come as plain ``(first, last)`` pairs: which days a review compares is ``review.weeks``' business.
``review.load.weekly_review`` is the one entry point both the dashboard page and ``orusage report weekly``
call (it reads through here, then assembles with ``review.model``), so the page and the report cannot
disagree; this module only reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import duckdb
import pandas as pd

from queries import budgets, reads, reads_overview
from queries.cache_savings import CacheSavings, cache_savings
from queries.filters import everything
from queries.reads import DataAsOf
from queries.reads_facts import facts_sql, source_spans
from queries.reads_models import reasoning_by
from queries.reads_overview import Outlook
from queries.reads_routing import Dim, Need, Route, Spans, route
from queries.waterfall import waterfall

# The dimension each mover kind is read by, and its column in ``facts`` frames.
KIND_DIMS: dict[str, Dim] = {
    "model": Dim.MODEL,
    "app": Dim.APP,
    "key": Dim.KEY,
    "provider": Dim.PROVIDER,
    "account": Dim.ACCOUNT,  # shown once a store holds several (review.model.assemble)
}
# The four things the review ranks, each read from the table that holds it.
KINDS: tuple[str, ...] = tuple(KIND_DIMS)
Days = tuple[date, date]  # first, last: UTC days, both included


@dataclass(frozen=True)
class WeekFacts:
    """One period's facts. Frames hold one row per value with traffic; ``routes`` say which days each
    question could be answered for (gaps are days no table covers)."""

    first: date
    last: date
    by: dict[str, pd.DataFrame]  # kind -> [kind, requests, prompt, completion, reasoning, spend, byok]
    cache: pd.DataFrame  # model, prompt, cached: analytics days only
    cache_days: int  # days whose cached tokens are known (answered from analytics)
    cache_savings: CacheSavings  # the one definition (queries.cache_savings), account-wide
    reasoning_cost: float | None  # reasoning tokens (within completion) at list prices; None: nothing priced
    daily: pd.DataFrame  # date, spend (days with traffic)
    routes: dict[str, Route]  # kind (and "cache") -> its route

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def stored(self, kind: str = "model") -> int:
        """Days of the period some table covers for ``kind``."""
        return sum((s.last - s.first).days + 1 for s in self.routes[kind].segments)


@dataclass(frozen=True)
class ReviewData:
    """Everything the review is computed from, as read from the store."""

    current: WeekFacts
    previous: WeekFacts
    first_seen: dict[str, dict[str, date]]  # kind -> value -> first day of traffic ever stored
    prices: pd.DataFrame  # models_current: model, id, name, prompt, completion, request, cache_read (USD/token),
    # context_length, output_modalities, expiration_date
    model_labels: dict[str, str]  # permaslug -> label
    key_names: dict[str, str]  # hash -> name
    outlook: Outlook
    budgets: pd.DataFrame  # queries.budgets.budget_overview (empty without a config or an alerts run)
    known_from: date | None  # the first day any source covers
    as_of: DataAsOf
    waterfall: pd.DataFrame  # queries.waterfall by model (and week) over the reviewed days


# Where each kind's first day of traffic is found (for "new this week"): every table holding it, as
# ``rollup_values`` keeps their first days.
_FIRST_SEEN: dict[str, tuple[str, ...]] = {
    "model": ("activity", "analytics:model"),
    "app": ("analytics:model,app",),
    "key": ("activity_by_key", "analytics:api_key_hash,model"),
    "provider": ("activity", "analytics:model,provider"),
    "account": (),  # the rollups keep no account: an account is never "new this week"
}


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    frame: pd.DataFrame = con.sql(sql, params=list(params)).to_arrow_table().to_pandas()
    return frame


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    """No rows, but the column types of a filled frame (so merges and sums behave the same)."""
    return pd.DataFrame({c: pd.Series(dtype="object" if i == 0 else "float64") for i, c in enumerate(columns)})


def _used(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with any traffic: a stored row of zeros is no use."""
    tokens = frame["prompt"].fillna(0) + frame["completion"].fillna(0)
    kept: pd.DataFrame = frame.loc[(frame["requests"].fillna(0) > 0) | (frame["spend"].fillna(0) != 0) | (tokens > 0)]
    return kept.reset_index(drop=True)


_METRICS = ("requests", "prompt", "completion", "reasoning", "cached", "spend", "byok")


def _part(name: str, r: Route, by: str) -> tuple[str, list[Any]]:
    """One question of a week as rows of the union ``weeks_facts`` reads: (part, value, date, metrics)."""
    inner, params = facts_sql(r, everything(r.start, r.end), (by,))
    value, day = ("NULL::VARCHAR", by) if by == "date" else (f"CAST({by} AS VARCHAR)", "NULL::DATE")
    metrics = ", ".join(_METRICS)
    return f"SELECT ? AS part, {value} AS value, {day} AS date, {metrics} FROM ({inner})", [name, *params]  # noqa: S608


def weeks_facts(con: duckdb.DuckDBPyConnection, chosen: Sequence[Days], spans: Spans, today: date) -> list[WeekFacts]:
    """Each period's facts, all read in one statement (a dozen small questions cost more in round trips)."""
    parts: list[str] = []
    params: list[Any] = []
    all_routes: list[dict[str, Route]] = []
    for i, period in enumerate(chosen):
        routes: dict[str, Route] = {}
        for kind, dim in KIND_DIMS.items():
            routes[kind] = route([dim], period[0], period[1], spans, today)
        routes["cache"] = route([Dim.MODEL], period[0], period[1], spans, today, [Need.CACHED])
        questions = [(kind, routes[kind], kind) for kind in KIND_DIMS]
        questions += [("cache", routes["cache"], "model"), ("daily", routes["model"], "date")]
        for name, r, column in questions:
            if r.answerable:
                sql, values = _part(f"{i}:{name}", r, column)
                parts.append(sql)
                params += values
        all_routes.append(routes)
    savings = [cache_savings(con, everything(period[0], period[1]), today) for period in chosen]
    reasoning = [_reasoning_cost(con, routes["model"]) for routes in all_routes]
    found = _frame(con, " UNION ALL ".join(parts) + " ORDER BY part, value, date", params) if parts else None

    def answer(part: str, columns: list[str], rename: str | None = None) -> pd.DataFrame:
        if found is None:
            return pd.DataFrame(columns=columns)
        rows = found.loc[found["part"] == part].rename(columns={"value": rename} if rename else {})
        return rows[columns].reset_index(drop=True)

    weeks: list[WeekFacts] = []
    for i, period in enumerate(chosen):
        routes = all_routes[i]
        by: dict[str, pd.DataFrame] = {}
        for kind in KIND_DIMS:
            columns = [kind, "requests", "prompt", "completion", "reasoning", "spend", "byok"]
            frame = answer(f"{i}:{kind}", columns, kind) if routes[kind].answerable else _empty(columns)
            by[kind] = _used(frame.astype({kind: str}).fillna(0)) if not frame.empty else _empty(columns)
        cache = answer(f"{i}:cache", ["model", "prompt", "cached"], "model")
        # Analytics always has cached tokens (0 when none); the union's other parts made the column nullable.
        cache = (
            cache.astype({"model": str, "cached": "int64"})
            if not cache.empty
            else _empty(["model", "prompt", "cached"])
        )
        weeks.append(
            WeekFacts(
                first=period[0],
                last=period[1],
                by=by,
                cache=cache.fillna({"cached": 0}),
                cache_days=sum((s.last - s.first).days + 1 for s in routes["cache"].segments),
                cache_savings=savings[i],
                reasoning_cost=reasoning[i],
                daily=answer(f"{i}:daily", ["date", "spend"]),
                routes=routes,
            )
        )
    return weeks


def _reasoning_cost(con: duckdb.DuckDBPyConnection, r: Route) -> float | None:
    if not r.answerable or not r.has_data_days:
        return None
    frame = reasoning_by(con, r, everything(r.start, r.end), "model")
    known = frame["reasoning_cost"].dropna()
    return float(known.sum()) if len(known) else None


def first_seen(con: duckdb.DuckDBPyConnection, values: Mapping[str, Sequence[str]]) -> dict[str, dict[str, date]]:
    """Per kind, the first stored day of traffic of each value (over the whole history, every table holding it)."""
    asked = [(kind, source, list(values[kind])) for kind in values for source in _FIRST_SEEN[kind] if values[kind]]
    found: dict[str, dict[str, date]] = {kind: {} for kind in values}
    if not asked:
        return found
    rows = con.sql(
        """WITH asked AS (SELECT unnest(?::VARCHAR[]) AS kind, unnest(?::VARCHAR[]) AS source,
                                 unnest(?::VARCHAR[][]) AS wanted)
           SELECT v.kind, v.value, min(v.first_day) FROM rollup_values v JOIN asked USING (kind, source)
           WHERE list_contains(asked.wanted, v.value) GROUP BY v.kind, v.value""",
        params=[[a[0] for a in asked], [a[1] for a in asked], [a[2] for a in asked]],
    ).fetchall()
    for kind, value, day in rows:
        found[str(kind)][str(value)] = day
    return found


def list_prices(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every model's newest list prices (USD per token), for re-pricing a week's volume."""
    return _frame(
        con,
        """SELECT canonical_slug AS model, id, name, pricing_prompt AS prompt, pricing_completion AS completion,
                  pricing_request AS request, pricing_input_cache_read AS cache_read, context_length,
                  coalesce(output_modalities, '') AS output_modalities, expiration_date
           FROM models_current ORDER BY canonical_slug""",
    )


def review_data(con: duckdb.DuckDBPyConnection, current: Days, previous: Days, today: date) -> ReviewData:
    """The facts of ``current`` and ``previous`` (as of ``today``, UTC) and what the review needs beside them."""
    spans = source_spans(con)
    this, before = weeks_facts(con, [current, previous], spans, today)
    seen = first_seen(con, {kind: [str(v) for v in this.by[kind][kind]] for kind in KINDS})
    options = reads.model_options(con)
    keys = reads.key_options(con)
    return ReviewData(
        current=this,
        previous=before,
        first_seen=seen,
        prices=list_prices(con),
        model_labels=dict(zip(options["model_permaslug"].astype(str), options["label"].astype(str), strict=True)),
        key_names=dict(zip(keys["hash"].astype(str), keys["name"].astype(str), strict=True)),
        outlook=reads_overview.outlook(con, today),
        # Budgets as the last `orusage alerts check` evaluated them (empty without a config or a run).
        budgets=budgets.budget_overview(con, datetime.combine(today, time())),
        known_from=first_day(con),
        as_of=reads.data_as_of(con),
        waterfall=waterfall(con, everything(current[0], current[1]), today, ("model", "week")),
    )


def first_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The first day any stored source covers: the week picker's oldest week."""
    return budgets.known_from(con)
