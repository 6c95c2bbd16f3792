"""The weekly cost review's reads: one week's facts (and the same days a week earlier), list prices, budgets.

Every number is read through the routing rule of ``reads_routing`` (each day from exactly one table):
models from ``activity`` where it covers the day and analytics ``model`` before; apps from analytics
``model,app``; API keys from ``activity_by_key`` and analytics ``api_key_hash,model``; providers from
``activity`` and analytics ``model,provider`` (31 days). Cached tokens and ``usage_cache`` exist only in
analytics. Account-wide: the dashboard's filters do not apply to the review.

``weekly_review`` is the one entry point both the dashboard page and ``orusage report weekly`` call, so the
page and the report cannot disagree. The arithmetic lives in pure modules (``review_model`` and the ones it
uses); this module only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

import duckdb
import pandas as pd

from queries import budgets, reads, reads_overview
from queries.reads_facts import Selection, facts, source_spans
from queries.reads_routing import Dim, Need, Route, Spans, route
from queries.review_inputs import KINDS, ReviewInputs, WeekFacts
from queries.review_model import Review, assemble
from queries.review_weeks import IsoWeek, Period, periods

# The dimension each mover kind is read by, and its column in ``facts`` frames.
KIND_DIMS: dict[str, Dim] = {"model": Dim.MODEL, "app": Dim.APP, "key": Dim.KEY, "provider": Dim.PROVIDER}

# Where each kind's first day of traffic is found (for "new this week"): every table holding it.
_FIRST_SEEN: dict[str, str] = {
    "model": """SELECT model_permaslug AS value, min(date) AS first_day FROM activity GROUP BY 1
                UNION ALL SELECT model, min(date) FROM analytics_daily WHERE dimensions = 'model' GROUP BY 1""",
    "app": "SELECT app AS value, min(date) AS first_day FROM analytics_daily WHERE dimensions = 'model,app' GROUP BY 1",
    "key": """SELECT api_key_hash AS value, min(date) AS first_day FROM activity_by_key GROUP BY 1
              UNION ALL SELECT api_key_hash, min(date) FROM analytics_daily
              WHERE dimensions = 'api_key_hash,model' GROUP BY 1""",
    "provider": """SELECT provider_name AS value, min(date) AS first_day FROM activity GROUP BY 1
                   UNION ALL SELECT provider, min(date) FROM analytics_daily
                   WHERE dimensions = 'model,provider' GROUP BY 1""",
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


def week_facts(con: duckdb.DuckDBPyConnection, period: Period, spans: Spans, today: date) -> WeekFacts:
    by: dict[str, pd.DataFrame] = {}
    routes: dict[str, Route] = {}
    everything = Selection()
    for kind, dim in KIND_DIMS.items():
        r = route([dim], period.first, period.last, spans, today)
        routes[kind] = r
        columns = [kind, "requests", "prompt", "completion", "reasoning", "spend", "byok"]
        frame = facts(con, r, everything, (kind,))[columns] if r.answerable else _empty(columns)
        by[kind] = _used(frame.astype({kind: str}).fillna(0)) if not frame.empty else _empty(columns)
    cached_route = route([Dim.MODEL], period.first, period.last, spans, today, [Need.CACHED])
    routes["cache"] = cached_route
    cache = facts(con, cached_route, everything, ("model",))[["model", "prompt", "cached"]]
    cache = cache.astype({"model": str}) if not cache.empty else _empty(["model", "prompt", "cached"])
    cache_days = sum((s.last - s.first).days + 1 for s in cached_route.segments)
    # usage_cache is OpenRouter's own cost component for caching (negative when it saved money). The model
    # grouping alone covers all traffic, so summing it there counts each request once.
    row = con.sql(
        """SELECT CAST(sum(usage_cache) AS DOUBLE), count(DISTINCT date) FILTER (WHERE usage_cache IS NOT NULL)
           FROM analytics_daily WHERE dimensions = 'model' AND date BETWEEN ? AND ?""",
        params=[period.first, period.last],
    ).fetchall()[0]
    daily = facts(con, routes["model"], everything, ("date",))[["date", "spend"]]
    return WeekFacts(
        period=period,
        by=by,
        cache=cache.fillna({"cached": 0}),
        cache_days=cache_days,
        usage_cache=None if row[0] is None else float(row[0]),
        usage_cache_days=int(row[1] or 0),
        daily=daily,
        routes=routes,
    )


def first_seen(con: duckdb.DuckDBPyConnection, kind: str, values: Sequence[str]) -> dict[str, date]:
    """The first stored day of traffic of each value (over the whole history, every table holding it)."""
    if not values:
        return {}
    rows = con.sql(
        f"SELECT value, min(first_day) FROM ({_FIRST_SEEN[kind]}) "  # noqa: S608 -- module constants only
        "WHERE list_contains(?::VARCHAR[], value) GROUP BY value",
        params=[list(values)],
    ).fetchall()
    return {str(r[0]): r[1] for r in rows}


def list_prices(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every model's newest list prices (USD per token), for re-pricing a week's volume."""
    return _frame(
        con,
        """SELECT canonical_slug AS model, id, name, pricing_prompt AS prompt, pricing_completion AS completion,
                  pricing_request AS request, pricing_input_cache_read AS cache_read, context_length,
                  coalesce(output_modalities, '') AS output_modalities, expiration_date
           FROM models_current ORDER BY canonical_slug""",
    )


def load_inputs(con: duckdb.DuckDBPyConnection, week: IsoWeek, today: date) -> ReviewInputs:
    chosen = periods(week, today)
    spans = source_spans(con)
    current = week_facts(con, chosen.current, spans, today)
    previous = week_facts(con, chosen.previous, spans, today)
    seen = {kind: first_seen(con, kind, [str(v) for v in current.by[kind][kind]]) for kind in KINDS}
    options = reads.model_options(con)
    keys = reads.key_options(con)
    return ReviewInputs(
        periods=chosen,
        today=today,
        current=current,
        previous=previous,
        first_seen=seen,
        prices=list_prices(con),
        model_labels=dict(zip(options["model_permaslug"].astype(str), options["label"].astype(str), strict=True)),
        key_names=dict(zip(keys["hash"].astype(str), keys["name"].astype(str), strict=True)),
        outlook=reads_overview.outlook(con, today),
        # Budgets as the last `orusage alerts check` evaluated them (empty without a config or a run).
        budgets=budgets.budget_overview(con, datetime.combine(today, time())),
        known_from=first_day(con),
        as_of=reads.data_as_of(con),
    )


def weekly_review(con: duckdb.DuckDBPyConnection, week: IsoWeek, today: date) -> Review:
    """The review of ``week`` as of ``today`` (UTC). Raises ``review_weeks.NoCompletedDayError`` for a
    week with no completed day."""
    return assemble(load_inputs(con, week, today))


def first_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The first day any stored source covers: the week picker's oldest week."""
    return budgets.known_from(con)
