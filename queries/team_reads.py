"""The Teams page's reads of the one allocation (``queries.allocation``): few statements per page run.

The allocation is the costly part of any team figure (every routed row of the days asked for, split into
cells and rules), so a page run computes it once per question it shows, not once per chart:

* ``fact_sets``: the spend per team, per day × team and per team × model over the filters' days, from one
  statement (``GROUPING SETS`` over one allocation); ``facts_from`` shapes any of them as ``facts`` does;
* ``team_daily``: the unfiltered allocation per day × team, from which ``totals_from`` sums the month
  tables (the allocation of a day depends on that day alone: its sources, cells and rules).

``facts`` and ``team_totals`` answer one grouping or one range straight from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from queries.allocation import METRICS, UNALLOCATED, allocate, grain_for, parts_sql, routes
from queries.filters import Filters
from queries.reads_facts import OTHER, source_spans

FACT_GROUPS = ("date", "team", "model", "key")
# The groupings the Teams page shows (its breakdown's bars, days and team × model matrix).
PAGE_SETS: tuple[tuple[str, ...], ...] = (("team",), ("date", "team"), ("team", "model"))
_SUMMED = (*METRICS, "exact_spend")
_COUNTS = ("requests", "prompt", "completion", "reasoning", "completion_only", "cached")


def _groups(by: Sequence[str]) -> list[str]:
    groups = list(dict.fromkeys(by))
    if any(g not in FACT_GROUPS for g in groups):
        raise ValueError(f"cannot group team facts by {groups}: allowed are {FACT_GROUPS}")
    return groups


def fact_sets(
    con: duckdb.DuckDBPyConnection, filters: Filters, today: date, sets: Sequence[tuple[str, ...]] = PAGE_SETS
) -> dict[tuple[str, ...], pd.DataFrame]:
    """``allocate(by=s, filters=filters)`` over the filters' days for every ``s`` of ``sets`` (none by key or
    workspace), from one statement: one allocation, summed per grouping set."""
    columns = sorted({c for s in sets for c in _groups(s)}, key=FACT_GROUPS.index)
    if "key" in columns or not all(sets):
        raise ValueError("fact sets are groupings of the allocation's key classes: no key, none empty")
    grain = grain_for(columns, filters)
    rows, params = parts_sql(routes(source_spans(con), filters.start, filters.end, today), filters, grain)
    sums = ", ".join(f"CAST(sum({m}) AS DOUBLE) AS {m}" for m in METRICS)
    grouping = ", ".join(f"({', '.join(s)})" for s in sets)
    query = f"""SELECT GROUPING({", ".join(columns)}) AS grouping_id, {", ".join(columns)}, {sums},
               CAST(coalesce(sum(spend) FILTER (WHERE share >= 1.0), 0) AS DOUBLE) AS exact_spend
        FROM ({rows}) parts GROUP BY GROUPING SETS ({grouping})"""  # noqa: S608 -- allowlisted names and constants
    found: pd.DataFrame = con.sql(query, params=params).to_arrow_table().to_pandas()
    out: dict[tuple[str, ...], pd.DataFrame] = {}
    for s in sets:
        # GROUPING() sets a bit, first column highest, for each column the set does not group by.
        bits = sum(1 << (len(columns) - 1 - i) for i, c in enumerate(columns) if c not in s)
        part = found.loc[found["grouping_id"] == bits, [*_groups(s), *_SUMMED]]
        out[s] = part.sort_values(list(_groups(s)), na_position="last", ignore_index=True)
    return out


def facts_from(sums: pd.DataFrame, by: Sequence[str], top: tuple[str, int] | None = None) -> pd.DataFrame:
    """``facts`` from the allocation's sums per ``by`` (``allocate``'s frame, or one of ``fact_sets``): the
    top-n folding and whole counts."""
    groups = _groups(by)
    frame = sums.drop(columns=[c for c in sums.columns if c not in (*groups, *_SUMMED)])
    if top is not None:
        column, n = top
        totals = frame.groupby(column, dropna=False)["spend"].sum().reset_index()
        order = totals.sort_values(["spend", column], ascending=[False, True])[column].tolist()
        rank = {value: i + 1 for i, value in enumerate(order)}
        frame = frame.assign(rank=[min(rank[v], n + 1) for v in frame[column]], member=frame[column])
        frame[column] = [v if r <= n else OTHER for v, r in zip(frame[column], frame["rank"], strict=True)]
        keys = [*[g for g in groups if g != column], column, "rank"]
        summed = {m: "sum" for m in _SUMMED}
        frame = frame.groupby(keys, dropna=False).agg({**summed, "member": "nunique"}).reset_index()
        frame = frame.rename(columns={"member": "members"}).sort_values([*keys[:-2], "rank"], ignore_index=True)
    else:
        frame = frame.copy()
    for count in _COUNTS:
        frame[count] = _whole(frame[count].fillna(0).to_numpy(dtype=float))
    return frame


def _whole(values: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Counts split between lines by shares, made whole so that they still add up to the rounded total (the
    largest remainders get the units rounding down left over; ties go to the earlier row)."""
    floors = np.floor(values)
    left = round(float(values.sum()) - float(floors.sum()))
    if left > 0:
        order = np.argsort(-(values - floors), kind="stable")[:left]
        floors[order] += 1
    whole: np.ndarray[Any, np.dtype[np.int64]] = floors.astype(np.int64)
    return whole


def facts(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    today: date,
    by: Sequence[str],
    top: tuple[str, int] | None = None,
) -> pd.DataFrame:
    """The allocation in the shape of ``reads_facts.facts``: ``METRICS`` per ``by`` (from ``FACT_GROUPS``)
    over the filters' days, counts rounded to whole numbers, plus ``exact_spend``. ``top=(column, n)`` keeps
    the ``n`` biggest values of ``column`` by spend and sums the rest into one ``OTHER`` row per remaining
    group, with ``rank`` (``n + 1`` for other) and ``members`` (how many values a row stands for)."""
    groups = _groups(by)
    return facts_from(allocate(con, filters.start, filters.end, today, by=groups, filters=filters), groups, top)


def team_daily(con: duckdb.DuckDBPyConnection, first: date, last: date, today: date) -> pd.DataFrame:
    """The whole allocation per day × team over ``first..last``: ``date, team``, ``METRICS``, ``exact_spend``."""
    return allocate(con, first, last, today, by=("date", "team"))


def totals_from(daily: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    """Per team (unallocated included) over ``first..last`` from ``team_daily``'s frame (which must cover
    those days): ``spend``, ``byok`` and ``estimated`` (spend from key-days split between lines), biggest
    first, unallocated last."""
    days = daily.loc[(daily["date"] >= first) & (daily["date"] <= last)]
    frame = days.groupby("team", sort=True)[["spend", "byok", "exact_spend"]].sum().reset_index()
    frame = frame.assign(estimated=frame["spend"] - frame["exact_spend"], last=frame["team"] == UNALLOCATED)
    return frame.sort_values(["last", "spend"], ascending=[True, False], ignore_index=True)[
        ["team", "spend", "byok", "estimated"]
    ]


def team_totals(con: duckdb.DuckDBPyConnection, first: date, last: date, today: date) -> pd.DataFrame:
    """``totals_from`` over ``first..last`` straight from the store."""
    return totals_from(team_daily(con, first, last, today), first, last)
