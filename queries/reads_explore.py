"""Any two groupings (the Explore page): spend, tokens or requests by one or two of model, provider, API key,
app, workspace, member, end user, team and day, each grouping's long tail summed into one "other" value.

The rows come from the routed reads (``reads_facts.rows_sql``), so every day is read from the one source the
route gives it, and a pair no stored table holds is a route that says why. A team is no column of any
table: grouped by team, the rows are the one allocation of spend to teams (``queries.allocation``: the Teams
page's, the chargeback report's and the FOCUS export's), which knows each part's day, model, API key (and
so its workspace) and, on the days ``/activity`` holds, its provider. A team paired with anything else (an
app, a member, an end user) is a question no stored data answers: ``Question.impossible`` says why.

Grouping names are an allowlist: the only identifiers a caller's choice puts into a statement. Values are
bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from queries import allocation
from queries.filters import Filters
from queries.reads_facts import DIM_COLUMN, OTHER, rows_sql, source_spans
from queries.reads_routing import Dim, Route

TEAM = "team"
GROUPINGS: dict[str, str] = {
    "model": "model",
    "provider": "provider",
    "key": "API key",
    "app": "app",
    "workspace": "workspace",
    "member": "member",
    "end_user": "end user",
    "team": "team",
    "date": "day",
}
GROUPING_DIM: dict[str, Dim] = {column: dim for dim, column in DIM_COLUMN.items()}
METRICS: dict[str, str] = {  # name -> the aggregate it is ranked by
    "spend": "sum(spend)",
    "tokens": "sum(prompt) + sum(completion)",
    "requests": "sum(requests)",
}
_SUMS = (
    "CAST(sum(spend) AS DOUBLE) AS spend",
    "CAST(sum(requests) AS BIGINT) AS requests",
    "CAST(sum(prompt) + sum(completion) AS BIGINT) AS tokens",
    "CAST(sum(prompt) AS BIGINT) AS prompt",
    "CAST(sum(completion) AS BIGINT) AS completion",
    "CAST(sum(reasoning) AS BIGINT) AS reasoning",
    "CAST(sum(completion_only) AS BIGINT) AS completion_only",
    "CAST(sum(byok) AS DOUBLE) AS byok",
)


# What the allocation cannot split a team's spend by, and why (one line each).
_PER_KEY = "each dollar goes to a team per day × model × API key"
TEAM_APART: dict[str, str] = {
    "app": f"{_PER_KEY}, and OpenRouter reports an app's spend per model, not per key, so which app a team's "
    "spend came from is not known (the Apps page with a team filter shows the apps of its keys, apps or members)",
    "member": f"{_PER_KEY}, not per member (the Members page with a team filter shows the members of its keys, "
    "apps or members)",
    "end_user": f"{_PER_KEY}, and OpenRouter reports end users per model (for 31 days), not per key",
}
KEYS_NOT_STORED = allocation.NOT_STORED  # the key and the workspace of spend on keys the store does not know
NO_WORKSPACE = "workspace not known"  # a stored key /keys named no workspace for


@dataclass(frozen=True)
class Question:
    """Group by ``first`` (and ``second``), rank each by ``metric``, keep the ``top`` values of each."""

    first: str
    second: str | None = None
    metric: str = "spend"
    top: int = 10

    def __post_init__(self) -> None:
        for name in (self.first, self.second):
            if name is not None and name not in GROUPINGS:
                raise ValueError(f"cannot group by {name!r}: allowed are {tuple(GROUPINGS)}")
        if self.first == self.second:
            raise ValueError("group by two different things")
        if self.metric not in METRICS:
            raise ValueError(f"cannot rank by {self.metric!r}: allowed are {tuple(METRICS)}")
        if self.top < 1:
            raise ValueError("keep at least one value")

    @property
    def groupings(self) -> tuple[str, ...]:
        return (self.first,) if self.second is None else (self.first, self.second)

    @property
    def by_team(self) -> bool:
        """Grouped by team: read from the allocation (``explore_teams``), not the routed rows."""
        return TEAM in self.groupings

    @property
    def impossible(self) -> str | None:
        """Why no stored data answers this question (a team beside what the allocation cannot split by)."""
        if not self.by_team:
            return None
        apart = [g for g in self.groupings if g in TEAM_APART]
        return f"Team × {GROUPINGS[apart[0]]}: {TEAM_APART[apart[0]]}." if apart else None

    @property
    def dims(self) -> frozenset[Dim]:
        """The dimensions the route must hold: a team's numbers rest on the allocation's routed question
        (``allocation.ROUTE_DIMS``; the provider on the days ``/activity`` holds)."""
        if self.by_team:
            provider = (Dim.PROVIDER,) if "provider" in self.groupings else ()
            return frozenset((*allocation.ROUTE_DIMS, *provider))
        return frozenset(GROUPING_DIM[name] for name in self.groupings if name != "date")


def _ranked(con: duckdb.DuckDBPyConnection, q: Question, rows: str, params: list[Any]) -> pd.DataFrame:
    """``rows`` (a statement with a column per grouping and the metrics) grouped and ranked as ``explore``
    says."""
    ranked = [g for g in q.groupings if g != "date"]
    order = METRICS[q.metric]
    rank_sql = (
        ", rank_{g} AS (SELECT {g} AS v, row_number() OVER (ORDER BY {order} DESC, {g}) AS rk FROM r GROUP BY {g})"
    )
    ranks = "".join(rank_sql.format(g=g, order=order) for g in ranked)
    joins = "".join(f" JOIN rank_{g} ON rank_{g}.v = r.{g}" for g in ranked)
    keys = [
        f"CASE WHEN rank_{g}.rk <= ? THEN r.{g} ELSE ? END AS {g}" if g != "date" else "r.date" for g in q.groupings
    ]
    key_params: list[Any] = []
    for g in q.groupings:
        if g != "date":
            key_params += [q.top, OTHER]
    extra = [f"CAST(least(min(rank_{g}.rk), ? + 1) AS BIGINT) AS rank_{g}" for g in ranked]
    extra += [f"CAST(count(DISTINCT r.{g}) AS BIGINT) AS n_{g}" for g in ranked]
    extra += [f"(SELECT CAST(count(*) AS BIGINT) FROM rank_{g}) AS values_{g}" for g in ranked]  # noqa: S608
    extra_params = [q.top] * len(ranked)
    group = ", ".join(str(i + 1) for i in range(len(q.groupings)))
    # Allowlisted names and constants only; values are bound.
    head = f"WITH r AS ({rows}){ranks} "
    body = f"SELECT {', '.join(keys)}, {', '.join(_SUMS)}{''.join(', ' + e for e in extra)} "
    sql = f"{head}{body}FROM r{joins} GROUP BY {group} ORDER BY {group}"
    frame: pd.DataFrame = con.sql(sql, params=[*params, *key_params, *extra_params]).to_arrow_table().to_pandas()
    return frame


def explore(con: duckdb.DuckDBPyConnection, q: Question, route: Route, filters: Filters) -> pd.DataFrame:
    """One row per (first, second) pair of values: spend, requests, tokens (prompt + completion) and their
    parts; values of a grouping beyond its ``top`` by ``metric`` are one ``other`` row per pair, with
    ``rank_<grouping>`` (``top + 1`` for other), ``n_<grouping>`` (how many values the row stands for) and
    ``values_<grouping>`` (how many values the grouping has in all). Days are never folded. A question by
    team is ``explore_teams``'s."""
    if q.by_team:
        raise ValueError("a question by team is read from the allocation: explore_teams")
    rows, params = rows_sql(route, filters, [DIM_COLUMN[d] for d in q.dims])
    return _ranked(con, q, f"SELECT * FROM ({rows}) rows", params)  # noqa: S608 -- constants


def explore_teams(con: duckdb.DuckDBPyConnection, q: Question, filters: Filters, today: date) -> pd.DataFrame:
    """``explore``'s answer for a question by team, from the one allocation over the filters' days: the
    Teams page's and the chargeback report's team lines, split by day, model, API key, workspace or (on the
    days ``/activity`` names it) provider. The filters apply as the allocation applies them (a team filter
    keeps its lines); the page checks ``allocation.unfilterable`` and ``q.impossible`` first."""
    if not q.by_team or q.impossible:
        raise ValueError(q.impossible or "not a question by team")
    r = allocation.routes(source_spans(con), filters.start, filters.end, today)
    parts, params = allocation.parts_sql(r, filters)
    metrics = ", ".join(allocation.METRICS)
    rows = f"""SELECT date, team, model, provider, coalesce(key, '{KEYS_NOT_STORED}') AS key,
                      CASE WHEN key IS NULL THEN '{KEYS_NOT_STORED}' ELSE coalesce(workspace, '{NO_WORKSPACE}') END
                          AS workspace, {metrics}
               FROM ({parts}) parts"""  # noqa: S608 -- constants
    if "provider" in q.groupings:  # named on the days /activity holds for the account and its keys only
        rows += " WHERE provider IS NOT NULL"
    return _ranked(con, q, rows, params)
