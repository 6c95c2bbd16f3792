"""Any two groupings (the Explore page): spend, tokens or requests by one or two of model, provider, API key,
app, workspace, member, end user, team and day, each grouping's long tail summed into one "other" value.

The rows come from the routed reads (``reads_facts.rows_sql``), so every day is read from the one source the
route gives it, and a pair no stored table holds is a route that says why. A team is no column of any
table: each row is given one team by rules on the dimensions the teams are made of, in this order: its
key's team (a team's workspaces are resolved to their keys), else its app's, else its member's, else
"unallocated". A value two teams of one kind both claim goes to the first by name (``TeamRules.shared``
says which). This is the exclusive allocation the Teams page uses; the rules here only need the routed rows.

Grouping names are an allowlist: the only identifiers a caller's choice puts into a statement. Values
(team rules included) are bound parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from queries.filters import TEAM_KINDS, Filters
from queries.reads_facts import DIM_COLUMN, OTHER, rows_sql
from queries.reads_routing import Dim, Route

# name -> what pages call it; the name is also the frame's column.
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
UNALLOCATED = "unallocated"
TEAM_ORDER = ("key", "app", "member")  # which team a row goes to first
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


@dataclass(frozen=True)
class TeamRules:
    """Per kind of team member, in ``TEAM_ORDER``: (kind, values, the team of each value)."""

    rules: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    shared: tuple[str, ...] = ()  # values more than one team of their kind claims

    @property
    def dims(self) -> frozenset[Dim]:
        return frozenset(TEAM_KINDS[kind] for kind, _, _ in self.rules)


def team_rules(teams: Mapping[str, tuple[str, tuple[str, ...]]]) -> TeamRules:
    """``teams``: name -> (kind, values), as ``queries.reads.teams`` gives them (members as analytics name them)."""
    rules = []
    shared: list[str] = []
    for kind in TEAM_ORDER:
        owner: dict[str, str] = {}
        for team in sorted(teams):
            team_kind, values = teams[team]
            if team_kind != kind:
                continue
            for value in values:
                if value in owner:
                    shared.append(value)
                else:
                    owner[value] = team
        if owner:
            values = tuple(sorted(owner))
            rules.append((kind, values, tuple(owner[v] for v in values)))
    return TeamRules(tuple(rules), tuple(sorted(set(shared))))


@dataclass(frozen=True)
class Question:
    """Group by ``first`` (and ``second``), rank each by ``metric``, keep the ``top`` values of each."""

    first: str
    second: str | None = None
    metric: str = "spend"
    top: int = 10
    teams: TeamRules = TeamRules()

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
    def dims(self) -> frozenset[Dim]:
        """The dimensions the route must hold (a team: those its members are of)."""
        found: set[Dim] = set()
        for name in self.groupings:
            if name == "team":
                found |= self.teams.dims
            elif name != "date":
                found.add(GROUPING_DIM[name])
        return frozenset(found)


def _team_sql(rules: TeamRules) -> tuple[str, list[Any]]:
    terms = []
    params: list[Any] = []
    for kind, values, teams in rules.rules:
        column = DIM_COLUMN[TEAM_KINDS[kind]]
        terms.append(f"list_extract(?::VARCHAR[], list_position(?::VARCHAR[], {column}))")
        params += [list(teams), list(values)]
    return f"coalesce({', '.join([*terms, '?'])})", [*params, UNALLOCATED]


def explore(con: duckdb.DuckDBPyConnection, q: Question, route: Route, filters: Filters) -> pd.DataFrame:
    """One row per (first, second) pair of values: spend, requests, tokens (prompt + completion) and their
    parts; values of a grouping beyond its ``top`` by ``metric`` are one ``other`` row per pair, with
    ``rank_<grouping>`` (``top + 1`` for other), ``n_<grouping>`` (how many values the row stands for) and
    ``values_<grouping>`` (how many values the grouping has in all). Days are never folded."""
    needed = [DIM_COLUMN[d] for d in q.dims]
    rows, params = rows_sql(route, filters, needed)
    team, team_params = _team_sql(q.teams) if "team" in q.groupings else ("NULL::VARCHAR", [])
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
    head = f"WITH r AS (SELECT *, {team} AS team FROM ({rows}) rows){ranks} "  # noqa: S608
    body = f"SELECT {', '.join(keys)}, {', '.join(_SUMS)}{''.join(', ' + e for e in extra)} "
    sql = f"{head}{body}FROM r{joins} GROUP BY {group} ORDER BY {group}"
    frame: pd.DataFrame = (
        con.sql(sql, params=[*team_params, *params, *key_params, *extra_params]).to_arrow_table().to_pandas()
    )
    return frame
