"""The one allocation of the account's spend to teams (cost centres), used by the Teams page, Explore's team
grouping, the chargeback report and the FOCUS export's tags.

Teams are the alerts config's ``[teams.NAME]``, as the last ``orusage alerts check`` resolved them into
``cost_centres`` (kind ``key``: key hashes, workspaces resolved to their keys; ``app``; ``member``: a name or
an e-mail, matched to the member without regard to case). They are applied to every day asked for as the
config stands today: a team created this month is charged last month's spend of its keys too. Teams of tags
(kind ``tag``) are left out (``ALLOCATED_KINDS``, ``tags_left_out``).

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
   then apps, in name order; a claim within 1e-12 of the whole is the whole), split over those cells in
   proportion to their spend. Exact when the apps run on keys of no key team (the usual set-up); an
   estimate, flagged by a ``share`` below 1, otherwise.
4. **Member rule**: what is left of a cell goes to the team of the member who created the cell's key
   (``api_keys.creator_user_id``: OpenRouter's analytics attribute a request to the key's creator too).
5. Whatever is left is **unallocated** (``team`` NULL here, ``UNALLOCATED`` on screens and in files).

Budgets are not exclusive: a budget on a team counts all its scope's spend (docs/budgets-and-alerts.md).
Only completed days exist (the sources hold no "today"). Values are bound parameters; the only text put
into a statement comes from this module's and ``reads_facts``'s constants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from queries.filters import Filters, everything
from queries.reads_facts import rows_sql, source_spans
from queries.reads_routing import Dim, Route, Spans, route

UNALLOCATED = "unallocated"
KEY_RULE, APP_RULE, MEMBER_RULE = "key", "app", "member"
# The kinds of team (``cost_centres.kind``) the rules apply; teams of tags (kind ``tag``) are left out: a tag is
# known only from per-generation records, which may be sampled or lost, so its dollars cannot be taken out of
# the account's spend exactly once (docs/focus.md#teams).
ALLOCATED_KINDS = (KEY_RULE, APP_RULE, MEMBER_RULE)
NOT_STORED = "keys not stored"  # the key (and workspace) of spend on keys the store does not know
# Below this share of a cell a part is float noise left by 1 − Σ shares: dropped (at most 1e-12 of the cell).
_NEGLIGIBLE = 1e-12
METRICS = ("requests", "prompt", "completion", "reasoning", "completion_only", "cached", "spend", "byok")
# What the allocation's rows may be grouped by (the only identifiers a caller can put into a statement).
GROUP_COLUMNS = ("date", "team", "rule", "model", "provider", "key", "app", "workspace", "account")


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


def _day_ranges(days: Sequence[date]) -> tuple[str, list[Any]]:
    """A condition true on ``days``: one ``BETWEEN`` per run of consecutive days (the days come in a few
    runs; a ``list_contains`` over a year of days, per row, costs more than the allocation's sums)."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day - timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    if not runs:
        return "false", []
    return "(" + " OR ".join("date BETWEEN ? AND ?" for _ in runs) + ")", [d for run in runs for d in run]


# Who owns a key, and which team an app is: the rules' small tables (``cost_centres`` as the alerts check left it).
_TEAMS = """key_team AS (SELECT value AS key, min(team) AS team FROM cost_centres WHERE kind = 'key' GROUP BY value),
        member_team AS (
            SELECT k.hash AS key, min(c.team) AS team
            FROM api_keys k JOIN organization_members m ON m.id = k.creator_user_id AND m.account = k.account
                 JOIN cost_centres c ON c.kind = 'member'
                      AND (c.value IN (m.id, trim(concat_ws(' ', m.first_name, m.last_name)))
                           OR lower(c.value) = lower(m.email))
            GROUP BY k.hash),
        app_team AS (SELECT value AS app, min(team) AS team FROM cost_centres WHERE kind = 'app' GROUP BY value)"""


@dataclass(frozen=True)
class Grain:
    """What a cell is split by besides day × model × provider. ``by_key``: the key itself (to group or label
    by key or workspace). Otherwise the key's class: its key rule's team, its member rule's team and
    ``picked`` (whether it meets the key and workspace filters, ``picked_sql`` over ``key``): the rules see a
    key only through its teams, so the allocation is the same, over far fewer cells."""

    by_key: bool = True
    picked_sql: str = "true"
    picked_params: tuple[Any, ...] = ()

    @property
    def units(self) -> tuple[str, ...]:
        return ("key",) if self.by_key else ("key_team", "member_team", "picked")


BY_KEY = Grain()


def cells_sql(r: Routes, grain: Grain = BY_KEY) -> tuple[str, list[Any]]:
    """The account's spend per day × model (× provider) × account × key (or key class, ``Grain``): ``date,
    model, provider, account``, ``grain.units`` and ``METRICS``; follows ``_TEAMS`` in a ``WITH``.

    ``key`` NULL holds the account's spend beyond the stored keys' (it may be negative where two sources
    disagree by a rounding: the rows still sum to the account's spend)."""
    filters = everything(r.account.start, r.account.end)
    account, account_params = rows_sql(r.account, filters)
    keyed, keyed_params = rows_sql(r.keys, filters)
    on_days, day_params = _day_ranges(r.provider_days)
    provider = f"CASE WHEN {on_days} THEN provider END AS provider"
    rest = ", ".join(f"{_rest(m)} AS {m}" for m in METRICS)
    units = ", ".join(grain.units)
    if grain.by_key:
        source, unit_params, rest_units = "keyed", [], "NULL::VARCHAR AS key"
    else:
        source = f"""(SELECT x.*, kt.team AS key_team, mt.team AS member_team, {grain.picked_sql} AS picked
                      FROM keyed x LEFT JOIN key_team kt ON kt.key = x.key
                           LEFT JOIN member_team mt ON mt.key = x.key)"""  # noqa: S608 -- constants
        unit_params = list(grain.picked_params)
        # The rest has no key: it meets no key or workspace filter (as ``key`` NULL fails them at key grain).
        rest_picked = "true" if grain.picked_sql == "true" else "false"
        rest_units = f"NULL::VARCHAR AS key_team, NULL::VARCHAR AS member_team, {rest_picked} AS picked"
    sql = f"""
        acct AS ({account}),
        keyed AS ({keyed}),
        a AS (SELECT date, model, {provider}, account, {_sums()} FROM acct GROUP BY ALL),
        k AS (SELECT date, model, {provider}, account, {units}, {_sums()} FROM {source} GROUP BY ALL),
        s AS (SELECT date, model, provider, account, {_sums()} FROM k GROUP BY ALL),
        rest AS (
            SELECT coalesce(a.date, s.date) AS date, coalesce(a.model, s.model) AS model,
                   coalesce(a.provider, s.provider) AS provider, coalesce(a.account, s.account) AS account,
                   {rest_units}, {rest}
            FROM a FULL OUTER JOIN s
                 ON a.date = s.date AND a.model = s.model AND a.provider IS NOT DISTINCT FROM s.provider
                    AND a.account = s.account),
        cells AS (
            SELECT date, model, provider, account, {units}, {", ".join(METRICS)} FROM k
            UNION ALL
            SELECT date, model, provider, account, {units}, {", ".join(METRICS)} FROM rest
            WHERE abs(spend) > {_NEGLIGIBLE} OR requests <> 0 OR prompt <> 0 OR completion <> 0)"""  # noqa: S608 -- constants
    return sql, [*account_params, *keyed_params, *day_params, *day_params, *unit_params]


def allocation_sql(r: Routes, grain: Grain = BY_KEY) -> tuple[str, list[Any]]:
    """``WITH …`` ending in ``allocated``: one row per cell and line it goes to.

    Columns: ``date, model, provider, account``, ``key`` (or ``picked`` at a key class grain), ``team`` (NULL:
    unallocated), ``rule`` (key | app | member; NULL for unallocated), ``app`` (the app of an app-rule part),
    ``share`` (of the cell: 1 when the cell goes to one line whole) and ``METRICS`` scaled by the share."""
    cells, cell_params = cells_sql(r, grain)
    apps, app_params = rows_sql(r.apps, everything(r.apps.start, r.apps.end))
    scaled = ", ".join(f"{m} * share AS {m}" for m in METRICS)
    cols = ", ".join(("date", "model", "provider", "account", *grain.units, *METRICS))
    o_cols = ", ".join(f"o.{c}" for c in ("date", "model", "provider", "account", *grain.units, *METRICS))
    owned = (
        "SELECT c.*, kt.team AS key_team, mt.team AS member_team "
        "FROM cells c LEFT JOIN key_team kt ON kt.key = c.key LEFT JOIN member_team mt ON mt.key = c.key"
        if grain.by_key
        else "SELECT * FROM cells"
    )
    unit = "key" if grain.by_key else "picked"
    sql = f"""WITH {_TEAMS},{cells},
        owned AS ({owned}),
        app_rows AS ({apps}),
        app_spend AS (
            SELECT date, model, account, t.team, app, sum(spend) AS spend
            FROM app_rows JOIN app_team t USING (app) GROUP BY ALL HAVING sum(spend) > 0),
        pool AS (SELECT date, model, account, sum(spend) AS pool FROM owned WHERE key_team IS NULL GROUP BY ALL),
        claims AS (
            SELECT date, model, account, team, app, pool,
                   least(spend, greatest(pool - coalesce(sum(spend) OVER (
                       PARTITION BY date, model, account ORDER BY team, app
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0), 0)) AS claimed
            FROM app_spend JOIN pool USING (date, model, account) WHERE pool > 0),
        -- A claim within float noise of the whole pool takes it whole: exact, and no noise leaks out.
        shares AS (
            SELECT date, model, account, team, app,
                   CASE WHEN claimed / pool > 1 - {_NEGLIGIBLE} THEN 1.0 ELSE claimed / pool END AS share
            FROM claims WHERE claimed > 0),
        rest_share AS (SELECT date, model, account, 1 - sum(share) AS share FROM shares GROUP BY ALL),
        parts AS (
            SELECT {cols}, key_team AS team, '{KEY_RULE}' AS rule, NULL::VARCHAR AS app, 1.0::DOUBLE AS share
            FROM owned WHERE key_team IS NOT NULL
            UNION ALL
            SELECT {o_cols}, s.team, '{APP_RULE}', s.app, s.share
            FROM owned o JOIN shares s USING (date, model, account) WHERE o.key_team IS NULL
            UNION ALL
            SELECT {o_cols}, o.member_team, CASE WHEN o.member_team IS NOT NULL THEN '{MEMBER_RULE}' END, NULL,
                   coalesce(r.share, 1.0)
            FROM owned o LEFT JOIN rest_share r USING (date, model, account) WHERE o.key_team IS NULL),
        allocated AS (
            SELECT date, model, provider, account, {unit}, team, rule, app, share, {scaled}
            FROM parts WHERE abs(share) > {_NEGLIGIBLE})"""  # noqa: S608 -- constants
    return sql, [*cell_params, *app_params]


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    frame: pd.DataFrame = con.sql(sql, params=list(params)).to_arrow_table().to_pandas()
    return frame


_WORKSPACE_KEYS = (
    "SELECT k.hash FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id AND w.account = k.account "
    "WHERE w.name = ? OR w.id = ?"
)


def _key_terms(filters: Filters, key: str) -> tuple[str, list[Any]]:
    """``AND …`` terms on a key column for the filters that pick keys: the keys, and the workspace (through its
    keys, by name as the sidebar holds it, or id). A NULL key (spend beyond the stored keys) meets neither."""
    where = ""
    params: list[Any] = []
    if filters.keys:
        where += f" AND list_contains(?::VARCHAR[], {key})"
        params.append(list(filters.keys))
    if filters.workspace:
        where += f" AND {key} IN ({_WORKSPACE_KEYS})"
        params += [filters.workspace, filters.workspace]
    return where, params


def _filters_sql(filters: Filters, grain: Grain) -> tuple[str, list[Any]]:
    """``AND …`` terms on the labelled parts (``model``, ``provider``, ``team``, and ``key`` or ``picked``)
    for the filters the allocation can apply: models, keys, providers (on the days ``/activity`` names them:
    the routes say so), accounts, the workspace and teams (their lines; the filters' team *scope*, what a team stands
    for on other pages, is not applied here)."""
    where = ""
    params: list[Any] = []
    if filters.models:
        where += " AND list_contains(?::VARCHAR[], model)"
        params.append(list(filters.models))
    if filters.providers:
        where += " AND list_contains(?::VARCHAR[], provider)"
        params.append(list(filters.providers))
    if grain.by_key:
        keys, key_params = _key_terms(filters, "key")
        where += keys
        params += key_params
    elif grain.picked_sql != "true":
        where += " AND picked"
    if filters.teams:
        where += " AND list_contains(?::VARCHAR[], team)"
        params.append(list(filters.teams))
    if filters.accounts:
        where += " AND list_contains(?::VARCHAR[], account)"
        params.append(list(filters.accounts))
    return where, params


def grain_for(by: Sequence[str], filters: Filters | None) -> Grain:
    """The coarsest grain that answers a grouping by ``by`` under ``filters``: per key only to group by key
    or workspace."""
    if any(c in ("key", "workspace") for c in by):
        return BY_KEY
    terms, params = _key_terms(filters, "x.key") if filters is not None else ("", [])
    return Grain(by_key=False, picked_sql=f"true{terms}", picked_params=tuple(params)) if terms else Grain(False)


def parts_sql(r: Routes, filters: Filters | None = None, grain: Grain = BY_KEY) -> tuple[str, list[Any]]:
    """One statement: the allocated parts, labelled and filtered. Columns: ``date, model, provider``, ``key``
    and ``workspace`` (the key's workspace name; ``picked`` instead at a key class grain), ``team``
    (``UNALLOCATED`` for the unallocated line), ``rule, app, share`` and ``METRICS`` (see ``allocation_sql``)."""
    sql, params = allocation_sql(r, grain)
    where, where_params = _filters_sql(filters, grain) if filters is not None else ("", [])
    team = f"coalesce(x.team, '{UNALLOCATED}') AS team"
    workspace = (
        ", w.name AS workspace FROM allocated x LEFT JOIN api_keys k ON k.hash = x.key "
        "LEFT JOIN workspaces w ON w.id = k.workspace_id AND w.account = k.account"
    )
    labelled = f"SELECT x.* EXCLUDE (team), {team}{workspace if grain.by_key else ' FROM allocated x'}"  # noqa: S608 -- constants
    query = f"""{sql},
        labelled AS ({labelled})
        SELECT * FROM labelled WHERE true{where}"""  # noqa: S608 -- constants; values are bound
    return query, [*params, *where_params]


def allocate(
    con: duckdb.DuckDBPyConnection,
    first: date,
    last: date,
    today: date,
    by: Sequence[str] = ("team",),
    filters: Filters | None = None,
) -> pd.DataFrame:
    """The allocated spend over ``first..last`` summed per ``by`` (from ``GROUP_COLUMNS``), ordered by it.

    Columns: ``by``, ``METRICS`` and ``exact_spend`` (the part of spend allocated by whole cells).
    ``team`` is ``UNALLOCATED`` for the unallocated line; ``workspace`` the key's workspace name.
    ``filters`` may limit models, keys, providers (on the days ``/activity`` holds them), the workspace
    (through its keys) and teams (their lines); apps and members it cannot (``unfilterable``)."""
    unknown = [c for c in by if c not in GROUP_COLUMNS]
    if unknown:
        raise ValueError(f"cannot group the allocation by {unknown}: allowed are {GROUP_COLUMNS}")
    groups = list(dict.fromkeys(by))
    grain = grain_for(groups, filters)
    rows, params = parts_sql(routes(source_spans(con), first, last, today), filters, grain)
    sums = ", ".join(f"CAST(sum({m}) AS DOUBLE) AS {m}" for m in METRICS)
    keys = ", ".join(groups)
    select = f"{keys}, " if groups else ""
    tail = f" GROUP BY {keys} ORDER BY {keys}" if groups else ""
    query = f"""SELECT {select}{sums},
               CAST(coalesce(sum(spend) FILTER (WHERE share >= 1.0), 0) AS DOUBLE) AS exact_spend
        FROM ({rows}) parts{tail}"""  # noqa: S608 -- allowlisted names and constants
    return _frame(con, query, params)


def unfilterable(filters: Filters) -> tuple[Dim, ...]:
    """The filters the allocation cannot apply: a part knows its key, model and (on the days ``/activity``
    holds) provider, not its app nor the member analytics name for it."""
    return tuple(d for d in (Dim.APP, Dim.MEMBER) if filters.own(d))


# The routed question the allocation's numbers rest on (spend per key × model): a page asks it for the notes it
# shows (days not stored, filters no stored table can meet), with ``route_filters``.
ROUTE_DIMS = (Dim.KEY, Dim.MODEL)


def route_filters(filters: Filters) -> Filters:
    """The filters as the routed question sees them: the workspace and the teams are applied by the
    allocation itself (through the workspace's keys; a team is its lines), so the question drops them."""
    return replace(filters, workspace=None, teams=(), team=None)


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
    """The teams the allocation applies, as the last alerts check stored them: ``team``, ``kind`` (key | app |
    member) and how many keys, apps or members each holds (``members``), plus ``overlaps``: values also
    claimed by a team earlier in name order, which go to that one. Teams of tags are ``tag_teams``."""
    return _frame(
        con,
        """WITH firsts AS (SELECT kind, value, min(team) AS first FROM cost_centres GROUP BY ALL)
           SELECT c.team, c.kind, count(*) AS members,
                  count(*) FILTER (WHERE f.first <> c.team) AS overlaps
           FROM cost_centres c JOIN firsts f USING (kind, value)
           WHERE list_contains(?::VARCHAR[], c.kind) GROUP BY ALL ORDER BY c.team""",
        [list(ALLOCATED_KINDS)],
    )


def tag_teams(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The teams of tags (``cost_centres`` kind ``tag``), which the allocation leaves out (``tags_left_out``)."""
    found = con.sql("SELECT DISTINCT team FROM cost_centres WHERE kind = 'tag' ORDER BY team").fetchall()
    return tuple(str(row[0]) for row in found)


def tags_left_out(teams: Sequence[str]) -> str:
    """The one line the Teams page and the chargeback report say when teams of tags exist."""
    named = ", ".join(teams)
    return (
        f"Teams of tags ({named}) are not in the allocation: tags are known only from per-generation records, "
        "which may be sampled or incomplete, so their spend stays on the lines of its keys, apps or members "
        "(their budgets still count it; docs/focus.md#teams)."
    )


def teams_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the last alerts check stored the teams, as far as the store tells (it stamps budgets, not teams:
    None when no budget was evaluated)."""
    found = con.sql("SELECT max(evaluated_at) FROM budget_status").fetchall()
    value = found[0][0] if found else None
    return value if isinstance(value, datetime) else None
