"""The one allocation of the account's spend to teams (cost centres), used by the Teams page, the chargeback
report and the FOCUS export's tags.

Teams are the alerts config's ``[teams.NAME]``, as the last ``orusage alerts check`` resolved them into
``cost_centres`` (kind ``key``: key hashes, workspaces resolved to their keys; ``app``; ``member``). They are
applied to every day asked for as the config stands today: a team created this month is charged last
month's spend of its keys too.

Every dollar goes to exactly one line, so the team lines plus ``unallocated`` add up to the account's spend
for any range (``cells`` below are the account's spend, split by key):

1. **Cells.** Per UTC day × model (× provider endpoint where ``/activity`` holds the day for the account and
   for the keys) × API key, from the routed sources (``reads_facts.rows_sql``): the keys' rows, and one
   row per day × model (× provider) with ``key`` NULL for what the account spent beyond the keys the store
   knows (a key deleted before the first ingest). Those rows sum to the account's routed spend exactly.
2. **Key rule** (keys and workspaces): a cell whose key belongs to a team goes to it whole. A key claimed
   by several teams goes to the first by name.
3. **App rule**: analytics know an app's spend per day × model but not on which key, so an app team takes
   its apps' spend out of that day × model's cells that no key rule claimed, at most all of them (teams,
   then apps, in name order), split over those cells in proportion to their spend. Exact when the apps run
   on keys of no key team (the usual set-up); an estimate, flagged by a ``share`` below 1, otherwise.
4. **Member rule**: what is left of a cell goes to the team of the member who created the cell's key
   (``api_keys.creator_user_id``: OpenRouter's analytics attribute a request to the key's creator too).
5. Whatever is left is **unallocated** (``team`` NULL here, ``UNALLOCATED`` on screens and in files).

Budgets are not exclusive: a budget on a team counts all its scope's spend (docs/budgets-and-alerts.md).
Only completed days exist (the sources hold no "today"). Values are bound parameters; the only text put
into a statement comes from this module's and ``reads_facts``'s constants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from queries.filters import Filters, everything
from queries.reads_facts import OTHER, rows_sql, source_spans
from queries.reads_routing import Dim, Route, Spans, route

UNALLOCATED = "unallocated"
KEY_RULE, APP_RULE, MEMBER_RULE = "key", "app", "member"
# Below this share of a cell a part is float noise left by 1 − Σ shares: dropped (at most 1e-12 of the cell).
_NEGLIGIBLE = 1e-12
METRICS = ("requests", "prompt", "completion", "reasoning", "completion_only", "cached", "spend", "byok")
# What the allocation's rows may be grouped by (the only identifiers a caller can put into a statement).
GROUP_COLUMNS = ("date", "team", "rule", "model", "provider", "key", "app", "workspace")


@dataclass(frozen=True)
class Routes:
    """The three routed questions the allocation rests on, over the same days."""

    account: Route  # per model: the account's spend (activity, else analytics by model)
    keys: Route  # per key × model (activity per key, else analytics per key)
    apps: Route  # per app × model (analytics)

    @property
    def provider_days(self) -> list[date]:
        """Days both the account and the keys are read from ``/activity``, which names the provider."""
        return sorted(_days(self.account, "activity") & _days(self.keys, "activity_by_key"))


def _days(r: Route, source: str) -> set[date]:
    return {
        s.first + timedelta(days=i)
        for s in r.segments
        if s.source == source
        for i in range((s.last - s.first).days + 1)
    }


def routes(spans: Spans, first: date, last: date, today: date) -> Routes:
    return Routes(
        account=route([Dim.MODEL], first, last, spans, today),
        keys=route([Dim.KEY, Dim.MODEL], first, last, spans, today),
        apps=route([Dim.APP, Dim.MODEL], first, last, spans, today),
    )


def _sums() -> str:
    return ", ".join(f"sum({m}) AS {m}" for m in METRICS)


def _rest(metric: str) -> str:
    """The account's part beyond the known keys; NULL where neither side has the metric (cached on activity)."""
    if metric == "cached":
        return (
            "CASE WHEN a.cached IS NULL AND s.cached IS NULL THEN NULL "
            "ELSE coalesce(a.cached, 0) - coalesce(s.cached, 0) END"
        )
    return f"coalesce(a.{metric}, 0) - coalesce(s.{metric}, 0)"


def cells_sql(r: Routes) -> tuple[str, list[Any]]:
    """The account's spend per day × model (× provider) × key: ``date, model, provider, key`` and ``METRICS``.

    ``key`` NULL holds the account's spend beyond the stored keys' (it may be negative where two sources
    disagree by a rounding: the rows still sum to the account's spend)."""
    filters = everything(r.account.start, r.account.end)
    account, account_params = rows_sql(r.account, filters)
    keyed, keyed_params = rows_sql(r.keys, filters)
    provider = "CASE WHEN list_contains(?::DATE[], date) THEN provider END AS provider"
    rest = ", ".join(f"{_rest(m)} AS {m}" for m in METRICS)
    sql = f"""
        acct AS ({account}),
        keyed AS ({keyed}),
        a AS (SELECT date, model, {provider}, {_sums()} FROM acct GROUP BY ALL),
        k AS (SELECT date, model, {provider}, key, {_sums()} FROM keyed GROUP BY ALL),
        s AS (SELECT date, model, provider, {_sums()} FROM k GROUP BY ALL),
        rest AS (
            SELECT coalesce(a.date, s.date) AS date, coalesce(a.model, s.model) AS model,
                   coalesce(a.provider, s.provider) AS provider, NULL::VARCHAR AS key, {rest}
            FROM a FULL OUTER JOIN s
                 ON a.date = s.date AND a.model = s.model AND a.provider IS NOT DISTINCT FROM s.provider),
        cells AS (
            SELECT date, model, provider, key, {", ".join(METRICS)} FROM k
            UNION ALL
            SELECT date, model, provider, key, {", ".join(METRICS)} FROM rest
            WHERE abs(spend) > {_NEGLIGIBLE} OR requests <> 0 OR prompt <> 0 OR completion <> 0)"""  # noqa: S608 -- constants
    days = r.provider_days
    return sql, [*account_params, *keyed_params, days, days]


def allocation_sql(r: Routes) -> tuple[str, list[Any]]:
    """``WITH …`` ending in ``allocated``: one row per cell and line it goes to.

    Columns: ``date, model, provider, key, team`` (NULL: unallocated), ``rule`` (key | app | member; NULL for
    unallocated), ``app`` (the app of an app-rule part), ``share`` (of the cell: 1 when the cell goes to one
    line whole) and ``METRICS`` scaled by the share."""
    cells, cell_params = cells_sql(r)
    apps, app_params = rows_sql(r.apps, everything(r.apps.start, r.apps.end))
    scaled = ", ".join(f"{m} * share AS {m}" for m in METRICS)
    cols = ", ".join(("date", "model", "provider", "key", *METRICS))
    o_cols = ", ".join(f"o.{c}" for c in ("date", "model", "provider", "key", *METRICS))
    sql = f"""WITH {cells},
        key_team AS (SELECT value AS key, min(team) AS team FROM cost_centres WHERE kind = 'key' GROUP BY value),
        member_team AS (
            SELECT k.hash AS key, min(c.team) AS team
            FROM api_keys k JOIN organization_members m ON m.id = k.creator_user_id
                 JOIN cost_centres c ON c.kind = 'member'
                      AND c.value IN (m.id, m.email, trim(concat_ws(' ', m.first_name, m.last_name)))
            GROUP BY k.hash),
        app_team AS (SELECT value AS app, min(team) AS team FROM cost_centres WHERE kind = 'app' GROUP BY value),
        owned AS (
            SELECT c.*, kt.team AS key_team, mt.team AS member_team
            FROM cells c LEFT JOIN key_team kt ON kt.key = c.key LEFT JOIN member_team mt ON mt.key = c.key),
        app_rows AS ({apps}),
        app_spend AS (
            SELECT date, model, t.team, app, sum(spend) AS spend
            FROM app_rows JOIN app_team t USING (app) GROUP BY ALL HAVING sum(spend) > 0),
        pool AS (SELECT date, model, sum(spend) AS pool FROM owned WHERE key_team IS NULL GROUP BY ALL),
        claims AS (
            SELECT date, model, team, app, pool,
                   least(spend, greatest(pool - coalesce(sum(spend) OVER (
                       PARTITION BY date, model ORDER BY team, app
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0), 0)) AS claimed
            FROM app_spend JOIN pool USING (date, model) WHERE pool > 0),
        shares AS (SELECT date, model, team, app, claimed / pool AS share FROM claims WHERE claimed > 0),
        rest_share AS (SELECT date, model, 1 - sum(share) AS share FROM shares GROUP BY ALL),
        parts AS (
            SELECT {cols}, key_team AS team, '{KEY_RULE}' AS rule, NULL::VARCHAR AS app, 1.0::DOUBLE AS share
            FROM owned WHERE key_team IS NOT NULL
            UNION ALL
            SELECT {o_cols}, s.team, '{APP_RULE}', s.app, s.share
            FROM owned o JOIN shares s USING (date, model) WHERE o.key_team IS NULL
            UNION ALL
            SELECT {o_cols}, o.member_team, CASE WHEN o.member_team IS NOT NULL THEN '{MEMBER_RULE}' END, NULL,
                   coalesce(r.share, 1.0)
            FROM owned o LEFT JOIN rest_share r USING (date, model) WHERE o.key_team IS NULL),
        allocated AS (
            SELECT date, model, provider, key, team, rule, app, share, {scaled}
            FROM parts WHERE abs(share) > {_NEGLIGIBLE})"""  # noqa: S608 -- constants
    return sql, [*cell_params, *app_params]


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    frame: pd.DataFrame = con.sql(sql, params=list(params)).to_arrow_table().to_pandas()
    return frame


def _workspace_filter(filters: Filters) -> tuple[str, list[Any]]:
    """Rows of keys in the filters' workspace (by name, as the sidebar holds it), or every row."""
    if not filters.workspace:
        return "", []
    return (
        " AND key IN (SELECT k.hash FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id"
        " WHERE w.name = ? OR w.id = ?)",
        [filters.workspace, filters.workspace],
    )


def allocate(
    con: duckdb.DuckDBPyConnection,
    first: date,
    last: date,
    today: date,
    by: Sequence[str] = ("team",),
    filters: Filters | None = None,
) -> pd.DataFrame:
    """The allocated spend over ``first..last`` summed per ``by`` (from ``GROUP_COLUMNS``), ordered by it.

    Columns: ``by``, ``METRICS``, ``exact_spend`` (the part of spend allocated by whole cells) and ``parts``.
    ``team`` is ``UNALLOCATED`` for the unallocated line; ``workspace`` the key's workspace name.
    ``filters`` may limit models, keys, providers (on the days ``/activity`` names them) and the workspace
    (through its keys); apps it cannot (``unfilterable``)."""
    unknown = [c for c in by if c not in GROUP_COLUMNS]
    if unknown:
        raise ValueError(f"cannot group the allocation by {unknown}: allowed are {GROUP_COLUMNS}")
    groups = list(dict.fromkeys(by))
    r = routes(source_spans(con), first, last, today)
    sql, params = allocation_sql(r)
    where, where_params = "", []
    if filters is not None:
        if filters.models:
            where += " AND list_contains(?::VARCHAR[], model)"
            where_params.append(list(filters.models))
        if filters.keys:
            where += " AND list_contains(?::VARCHAR[], key)"
            where_params.append(list(filters.keys))
        if filters.providers:  # known on the days /activity holds only: the routes say so
            where += " AND list_contains(?::VARCHAR[], provider)"
            where_params.append(list(filters.providers))
        ws, ws_params = _workspace_filter(filters)
        where, where_params = where + ws, where_params + ws_params
    sums = ", ".join(f"CAST(sum({m}) AS DOUBLE) AS {m}" for m in METRICS)
    keys = ", ".join(groups)
    select = f"{keys}, " if groups else ""
    tail = f" GROUP BY {keys} ORDER BY {keys}" if groups else ""
    query = f"""{sql},
        labelled AS (
            SELECT x.*, coalesce(x.team, '{UNALLOCATED}') AS team_label, w.name AS workspace
            FROM allocated x LEFT JOIN api_keys k ON k.hash = x.key LEFT JOIN workspaces w ON w.id = k.workspace_id)
        SELECT {select}{sums},
               CAST(coalesce(sum(spend) FILTER (WHERE share >= 1.0), 0) AS DOUBLE) AS exact_spend,
               count(*) AS parts
        FROM (SELECT * EXCLUDE (team, team_label), team_label AS team FROM labelled) rows
        WHERE true{where}{tail}"""  # noqa: S608 -- allowlisted names and constants
    return _frame(con, query, [*params, *where_params])


def unfilterable(filters: Filters) -> tuple[Dim, ...]:
    """The filters the allocation cannot apply: a part knows its key, model and (on the days ``/activity``
    holds) provider, not its app."""
    return (Dim.APP,) if filters.apps else ()


FACT_GROUPS = ("date", "team", "model", "key")


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
    groups = list(dict.fromkeys(by))
    if any(g not in FACT_GROUPS for g in groups):
        raise ValueError(f"cannot group team facts by {groups}: allowed are {FACT_GROUPS}")
    frame = allocate(con, filters.start, filters.end, today, by=groups, filters=filters).drop(columns=["parts"])
    if top is not None:
        column, n = top
        totals = frame.groupby(column, dropna=False)["spend"].sum().reset_index()
        order = totals.sort_values(["spend", column], ascending=[False, True])[column].tolist()
        rank = {value: i + 1 for i, value in enumerate(order)}
        frame = frame.assign(rank=[min(rank[v], n + 1) for v in frame[column]], member=frame[column])
        frame[column] = [v if r <= n else OTHER for v, r in zip(frame[column], frame["rank"], strict=True)]
        keys = [*[g for g in groups if g != column], column, "rank"]
        summed = {m: "sum" for m in (*METRICS, "exact_spend")}
        frame = frame.groupby(keys, dropna=False).agg({**summed, "member": "nunique"}).reset_index()
        frame = frame.rename(columns={"member": "members"}).sort_values([*keys[:-2], "rank"], ignore_index=True)
    for count in ("requests", "prompt", "completion", "reasoning", "completion_only", "cached"):
        frame[count] = frame[count].fillna(0).round().astype("int64")
    return frame


def team_totals(con: duckdb.DuckDBPyConnection, first: date, last: date, today: date) -> pd.DataFrame:
    """Per team (unallocated included) over ``first..last``: ``spend``, ``byok`` and ``estimated`` (spend
    from key-days split between lines), biggest first, unallocated last."""
    frame = allocate(con, first, last, today, by=("team",))
    frame = frame.assign(estimated=frame["spend"] - frame["exact_spend"], last=frame["team"] == UNALLOCATED)
    return frame.sort_values(["last", "spend"], ascending=[True, False], ignore_index=True)[
        ["team", "spend", "byok", "estimated"]
    ]


def account_daily_spend(con: duckdb.DuckDBPyConnection, first: date, last: date, today: date) -> dict[date, float]:
    """The account's spend per completed day of ``first..last`` as every page reads it (the routed total);
    days no source holds are absent."""
    r = route([], first, last, source_spans(con), today)
    rows, params = rows_sql(r, everything(first, last))
    found = con.sql(
        f"SELECT date, CAST(sum(spend) AS DOUBLE) FROM ({rows}) r GROUP BY date",  # noqa: S608 -- constants
        params=params,
    ).fetchall()
    return {row[0]: float(row[1]) for row in found}


def account_spend(con: duckdb.DuckDBPyConnection, first: date, last: date, today: date) -> float:
    """The account's spend over completed days ``first..last`` (``account_daily_spend`` summed)."""
    return sum(account_daily_spend(con, first, last, today).values())


def team_kinds(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The teams as the last alerts check stored them: ``team``, ``kind`` (key | app | member) and how many
    keys, apps or members each holds (``members``), plus ``overlaps``: values also claimed by a team
    earlier in name order, which go to that one."""
    return _frame(
        con,
        """WITH firsts AS (SELECT kind, value, min(team) AS first FROM cost_centres GROUP BY ALL)
           SELECT c.team, c.kind, count(*) AS members,
                  count(*) FILTER (WHERE f.first <> c.team) AS overlaps
           FROM cost_centres c JOIN firsts f USING (kind, value) GROUP BY ALL ORDER BY c.team""",
        [],
    )


def teams_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the last alerts check stored the teams, as far as the store tells (it stamps budgets, not teams:
    None when no budget was evaluated)."""
    found = con.sql("SELECT max(evaluated_at) FROM budget_status").fetchall()
    value = found[0][0] if found else None
    return value if isinstance(value, datetime) else None
