"""The SQL budgets and alerts need: spend per day and period for a scope, from the stored facts.

Sources, so that no day is ever counted twice (docs/definitions.md):

* a completed day comes from ``activity`` (or ``activity_by_key`` for keys) when that source covers it
  (a ``coverage`` record, or stored rows), otherwise from ``analytics_daily`` in the one grouping that
  matches the scope; apps and members exist only in analytics;
* today comes from the newest ``api_key_snapshots`` fetch of the day (``usage_daily``, plus
  ``byok_usage_daily`` when BYOK counts), per key, for scopes made of keys (the account, keys, workspaces,
  teams of keys); for models, providers, apps and members from the provisional ``analytics_hourly``
  (``queries.hourly``: today's hours as the last ingest fetched them, settling within 6 hours);
* a tag (``KEY=VALUE``, the request's trace metadata that OpenRouter Broadcast delivers) exists only on
  per-generation records: its spend, today's included, is that of the stored generations carrying it, so
  it is only as complete as the records are (docs/broadcast.md).

Scope values are bound parameters (``VARCHAR[]``); the only text put into a statement comes from this
module's constants. The Budgets page reads what the last alerts run stored (``budget_overview``,
``budget_forecast``, ``alert_history``, ``failed_deliveries``) and each team's scope spend (``spend_by_team``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb

from queries import hourly
from queries.accounts import CHOSEN, NEWEST_KEY_SNAPSHOTS, keys_today

if TYPE_CHECKING:  # pandas is imported by the page reads only: the alerts run does without it
    import pandas as pd

ACCOUNT = "account"
MODELS = "models"
PROVIDERS = "providers"
KEYS = "keys"
APPS = "apps"
MEMBERS = "members"
TAGS = "tags"
SCOPE_KINDS = (ACCOUNT, MODELS, PROVIDERS, KEYS, APPS, MEMBERS, TAGS)


def _first(rows: list[Any]) -> Any:
    """The first row or None; fetching everything leaves no unfinished result on the connection."""
    return rows[0] if rows else None


@dataclass(frozen=True)
class Scope:
    """What a budget counts. ``values``: permaslugs (models), provider names, key hashes, app names,
    member names/e-mails, tags (``KEY=VALUE``), or account names (``queries.accounts``); empty for every
    account."""

    kind: str
    values: tuple[str, ...] = ()

    @property
    def from_keys(self) -> bool:
        """Whether today's spend so far comes per key from ``/keys`` (the account, keys; tags from the
        records; the others from the hourly analytics)."""
        return self.kind in (ACCOUNT, KEYS)


@dataclass(frozen=True)
class _Source:
    act_table: str | None  # activity table, or None when the scope exists only in analytics
    act_filter: str  # SQL over the activity table's columns; ``?`` is the scope's values
    act_unit: str  # the column coverage is recorded per ('' account-wide, else the key hash)
    dimensions: str  # the analytics grouping that holds the scope
    an_filter: str
    an_unit: str


_TRUE = "(?::VARCHAR[] IS NOT NULL)"  # binds the (unused) values so every source takes the same parameters


def _in(column: str) -> str:
    return f"list_contains(?::VARCHAR[], {column})"


_SOURCES = {
    ACCOUNT: _Source("activity", CHOSEN, "''", "model", CHOSEN, "''"),  # CHOSEN: every account when none is named
    MODELS: _Source("activity", _in("model_permaslug"), "''", "model", _in("model"), "''"),
    PROVIDERS: _Source("activity", _in("provider_name"), "''", "model,provider", _in("provider"), "''"),
    KEYS: _Source(
        "activity_by_key",
        _in("api_key_hash"),
        "api_key_hash",
        "api_key_hash,model",
        _in("api_key_hash"),
        "api_key_hash",
    ),
    APPS: _Source(None, "", "", "model,app", _in("app"), "''"),
    MEMBERS: _Source(None, "", "", "user", _in('"user"') + " OR " + _in("user_email"), "''"),
}


def _daily_sql(source: _Source) -> tuple[str, int]:
    """The statement for one source, and how many times the scope's values are bound in it."""
    days = "SELECT CAST(unnest(generate_series(?::DATE, ?::DATE, INTERVAL 1 DAY)) AS DATE) AS date"
    analytics = (
        f"SELECT date, {source.an_unit} AS unit, "  # noqa: S608 -- identifiers from _SOURCES
        "sum(coalesce(total_usage, 0) - CASE WHEN ? THEN 0 ELSE coalesce(byok_usage, 0) END) AS spend "
        f"FROM analytics_daily WHERE dimensions = ? AND date BETWEEN ? AND ? AND ({source.an_filter}) "
        "GROUP BY ALL"
    )
    an_binds = source.an_filter.count("?")
    if source.act_table is None:
        sql = (
            f"WITH days AS ({days}), an AS ({analytics}) "  # noqa: S608 -- constants
            "SELECT days.date, CAST(coalesce(sum(an.spend), 0) AS DOUBLE) FROM days "
            "LEFT JOIN an USING (date) GROUP BY days.date ORDER BY days.date"
        )
        return sql, an_binds
    act_scope = "c.scope = ''" if source.act_unit == "''" else _in("c.scope")
    sql = (
        f"WITH days AS ({days}), "  # noqa: S608 -- constants
        f"act AS (SELECT date, {source.act_unit} AS unit, "
        "sum(usage + CASE WHEN ? THEN byok_usage_inference ELSE 0 END) AS spend "
        f"FROM {source.act_table} WHERE date BETWEEN ? AND ? AND ({source.act_filter}) GROUP BY ALL), "
        "covered AS (SELECT DISTINCT days.date, c.scope AS unit FROM days JOIN coverage c "
        f"ON c.source = 'activity' AND days.date BETWEEN c.first_day AND c.last_day WHERE {act_scope} "
        "UNION SELECT date, unit FROM act), "
        f"an AS ({analytics}), "
        "merged AS (SELECT date, spend FROM act UNION ALL "
        "SELECT an.date, an.spend FROM an ANTI JOIN covered USING (date, unit)) "
        "SELECT days.date, CAST(coalesce(sum(merged.spend), 0) AS DOUBLE) FROM days "
        "LEFT JOIN merged USING (date) GROUP BY days.date ORDER BY days.date"
    )
    return sql, an_binds


# A generation's spend (as queries.generations_reads counts it), BYOK inference when the first ? is true.
_TAG_SPEND = "coalesce(g.usage, g.total_cost, 0) + CASE WHEN ? THEN coalesce(g.byok_usage_inference, 0) ELSE 0 END"
_TAGGED = "g.id IN (SELECT t.id FROM generation_tags t WHERE list_contains(?::VARCHAR[], t.key || '=' || t.value))"


def _tag_spend(
    con: duckdb.DuckDBPyConnection, tags: tuple[str, ...], first: date, last: date, include_byok: bool
) -> dict[date, float]:
    """Per day ``first..last``, the spend of the stored generations carrying any of ``tags``."""
    if not _has(con, "generation_tags"):
        return {first + timedelta(days=i): 0.0 for i in range((last - first).days + 1)}
    rows = con.execute(
        f"""WITH days AS (SELECT CAST(unnest(generate_series(?::DATE, ?::DATE, INTERVAL 1 DAY)) AS DATE) AS date),
                 t AS (SELECT CAST(g.created_at AS DATE) AS date, sum({_TAG_SPEND}) AS spend FROM generations g
                       WHERE g.created_at >= ?::DATE AND g.created_at < ?::DATE + INTERVAL 1 DAY AND {_TAGGED}
                       GROUP BY ALL)
            SELECT days.date, CAST(coalesce(t.spend, 0) AS DOUBLE) FROM days LEFT JOIN t USING (date)
            ORDER BY days.date""",  # noqa: S608 -- constants
        [first, last, include_byok, first, last, list(tags)],
    ).fetchall()
    return {row[0]: float(row[1]) for row in rows}


def daily_spend(
    con: duckdb.DuckDBPyConnection, scope: Scope, first_day: date, last_day: date, include_byok: bool = True
) -> dict[date, float]:
    """Spend of ``scope`` on every completed day ``first_day..last_day`` (0 where nothing is stored)."""
    if last_day < first_day:
        return {}
    if scope.kind == TAGS:
        return _tag_spend(con, scope.values, first_day, last_day, include_byok)
    source = _SOURCES[scope.kind]
    sql, an_binds = _daily_sql(source)
    values = list(scope.values)
    params: list[Any] = [first_day, last_day]
    if source.act_table is not None:
        params += [include_byok, first_day, last_day, values]
        if source.act_unit != "''":
            params.append(values)
    params += [include_byok, source.dimensions, first_day, last_day, *([values] * an_binds)]
    rows = con.execute(sql, params).fetchall()
    return {row[0]: float(row[1]) for row in rows}


# scope kind → (the activity column, the analytics column) naming each value
_VALUE_COLUMNS = {
    MODELS: ("model_permaslug", "model"),
    PROVIDERS: ("provider_name", "provider"),
    KEYS: ("api_key_hash", "api_key_hash"),
    APPS: (None, "app"),
}


@dataclass(frozen=True)
class DayFigures:
    spend: float
    requests: int


def daily_spend_by_value(
    con: duckdb.DuckDBPyConnection, kind: str, first_day: date, last_day: date, include_byok: bool = True
) -> dict[str, dict[date, DayFigures]]:
    """Every model (permaslug), provider, key (hash) or app's spend and requests per completed day
    ``first_day..last_day``, each day from one source exactly as ``daily_spend`` counts it (so a value's
    series here is its scope's series there). Days without traffic are absent."""
    if last_day < first_day:
        return {}
    source = _SOURCES[kind]
    act_value, an_value = _VALUE_COLUMNS[kind]
    spend = "sum(coalesce(total_usage, 0) - CASE WHEN ? THEN 0 ELSE coalesce(byok_usage, 0) END)"
    analytics = (
        f"SELECT date, {source.an_unit} AS unit, {an_value} AS value, {spend} AS spend, "  # noqa: S608 -- constants
        "sum(coalesce(request_count, 0)) AS requests FROM analytics_daily "
        "WHERE dimensions = ? AND date BETWEEN ? AND ? GROUP BY ALL"
    )
    params: list[Any] = []
    if source.act_table is None:
        sql = f"WITH merged AS ({analytics}) "
        params += [include_byok, source.dimensions, first_day, last_day]
    else:
        days = "SELECT CAST(unnest(generate_series(?::DATE, ?::DATE, INTERVAL 1 DAY)) AS DATE) AS date"
        act_scope = "c.scope = ''" if source.act_unit == "''" else "c.scope <> ''"
        sql = (
            f"WITH days AS ({days}), "  # noqa: S608 -- constants
            f"act AS (SELECT date, {source.act_unit} AS unit, {act_value} AS value, "
            "sum(usage + CASE WHEN ? THEN byok_usage_inference ELSE 0 END) AS spend, sum(requests) AS requests "
            f"FROM {source.act_table} WHERE date BETWEEN ? AND ? GROUP BY ALL), "
            "covered AS (SELECT DISTINCT days.date, c.scope AS unit FROM days JOIN coverage c "
            f"ON c.source = 'activity' AND days.date BETWEEN c.first_day AND c.last_day WHERE {act_scope} "
            "UNION SELECT date, unit FROM act), "
            f"an AS ({analytics}), "
            "merged AS (SELECT date, value, spend, requests FROM act UNION ALL "
            "SELECT an.date, an.value, an.spend, an.requests FROM an ANTI JOIN covered USING (date, unit)) "
        )
        params += [first_day, last_day, include_byok, first_day, last_day]
        params += [include_byok, source.dimensions, first_day, last_day]
    sql += (
        "SELECT value, date, CAST(sum(spend) AS DOUBLE), CAST(sum(requests) AS BIGINT) FROM merged "
        "WHERE value IS NOT NULL GROUP BY ALL ORDER BY 1, 2"
    )
    out: dict[str, dict[date, DayFigures]] = {}
    for value, day, day_spend, requests in con.execute(sql, params).fetchall():
        out.setdefault(str(value), {})[day] = DayFigures(float(day_spend), int(requests or 0))
    return out


@dataclass(frozen=True)
class TodaySoFar:
    usd: float
    as_of: datetime


def today_so_far(
    con: duckdb.DuckDBPyConnection, scope: Scope, today: date, include_byok: bool = True
) -> TodaySoFar | None:
    """Today's spend so far: from the newest ``/keys`` fetch made today for scopes of keys, from the stored
    records for tags, from today's hours in ``analytics_hourly`` for the others; None when no such fetch
    happened today yet."""
    if scope.kind == TAGS:
        # Known as of the last record received today (Broadcast), else as of today's /keys fetch.
        received = (
            _first(con.execute("SELECT max(received_at) FROM generations WHERE CAST(received_at AS DATE) = ?",
                               [today]).fetchall())
            if _has(con, "generation_tags")
            else None
        )  # fmt: skip
        as_of = (received and received[0]) or _keys_fetched_at(con, today)
        if as_of is None:
            return None
        return TodaySoFar(_tag_spend(con, scope.values, today, today, include_byok)[today], as_of)
    if not scope.from_keys:
        return _today_from_hours(con, scope, today, include_byok)
    if scope.kind == ACCOUNT:
        got = keys_today(con, today, accounts=scope.values)
    else:
        got = keys_today(con, today, hashes=scope.values)
    if got is None:
        # A fetch today that lists none of the scope's keys: they spent nothing today.
        fetched = _keys_fetched_at(con, today)
        return TodaySoFar(0.0, fetched) if fetched is not None else None
    return TodaySoFar(got.usage + (got.byok if include_byok else 0.0), got.as_of)


def _keys_fetched_at(con: duckdb.DuckDBPyConnection, today: date) -> datetime | None:
    """The newest ``/keys`` fetch made today, of any account; None before the first."""
    row = _first(
        con.execute(
            "SELECT max(fetched_at) FROM api_key_snapshots WHERE CAST(fetched_at AS DATE) = ?", [today]
        ).fetchall()
    )
    return row[0] if row else None


def keys_today_so_far(
    con: duckdb.DuckDBPyConnection, today: date, include_byok: bool = True
) -> dict[str, float] | None:
    """``today_so_far`` of every key's own scope at once: the spend per key hash at each account's newest
    ``/keys`` fetch made today (a key that fetch does not list spent nothing); None when no fetch happened
    today."""
    if _keys_fetched_at(con, today) is None:
        return None
    rows = con.execute(
        f"""SELECT hash, CAST(sum(coalesce(usage_daily, 0)
                                + CASE WHEN ? THEN coalesce(byok_usage_daily, 0) ELSE 0 END) AS DOUBLE)
           FROM ({NEWEST_KEY_SNAPSHOTS}) GROUP BY hash""",  # noqa: S608 -- constants
        [include_byok, today],
    ).fetchall()
    return {str(row[0]): float(row[1]) for row in rows}


# scope kind → (the hourly grouping that holds it, the filter on its columns)
_HOURLY = {
    MODELS: ("model", _in("model")),
    PROVIDERS: ("model,provider", _in("provider")),
    APPS: ("model,app", _in("app")),
    MEMBERS: ("user", _in('"user"') + " OR " + _in("user_email")),
}


def _today_from_hours(
    con: duckdb.DuckDBPyConnection, scope: Scope, today: date, include_byok: bool
) -> TodaySoFar | None:
    grouping, where = _HOURLY[scope.kind]
    fetched = hourly.fetched_today(con, grouping, today)
    if fetched is None:
        return None
    start = datetime.combine(today, datetime.min.time())
    spend = "coalesce(total_usage, 0) - CASE WHEN ? THEN 0 ELSE coalesce(byok_usage, 0) END"
    sql = f"""SELECT CAST(coalesce(sum({spend}), 0) AS DOUBLE) FROM analytics_hourly
              WHERE dimensions = ? AND hour >= ? AND hour < ? AND ({where})"""  # noqa: S608 -- constants
    params = [include_byok, grouping, start, start + timedelta(days=1), *([list(scope.values)] * where.count("?"))]
    row = _first(con.execute(sql, params).fetchall())
    return TodaySoFar(float(row[0]) if row else 0.0, fetched)


def known_from(con: duckdb.DuckDBPyConnection) -> date | None:
    """The first day any stored source covers: days before it are unknown, not idle."""
    row = _first(
        con.execute(
            """SELECT min(d) FROM (SELECT min(first_day) AS d FROM coverage
                               UNION ALL SELECT min(date) FROM activity
                               UNION ALL SELECT min(date) FROM analytics_daily)"""
        ).fetchall()
    )
    return row[0] if row else None


def period_spend(
    con: duckdb.DuckDBPyConnection, scope: Scope, start: date, today: date, include_byok: bool = True
) -> tuple[float, TodaySoFar | None]:
    """(completed days ``start..today-1``, today so far): a budget period's spend as the rules see it."""
    days = daily_spend(con, scope, start, today - timedelta(days=1), include_byok)
    return sum(days.values()), today_so_far(con, scope, today, include_byok)


# ---- the Budgets page: what the last alerts run evaluated and recorded ----------------------------------


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = _first(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = current_database()", [table]
        ).fetchall()
    )
    return bool(row and row[0])


def _frame(con: duckdb.DuckDBPyConnection, table: str, sql: str, params: list[Any], columns: list[str]) -> pd.DataFrame:
    """The query's rows, or an empty frame with the same columns on a store from before migration 0004."""
    import pandas as pd

    if not _has(con, table):
        return pd.DataFrame(columns=columns)
    frame: pd.DataFrame = con.sql(sql, params=params).to_arrow_table().to_pandas()
    return frame


_OVERVIEW = [
    "budget", "scope", "mirrored", "period", "period_label", "period_start", "period_end", "limit_usd",
    "spend_usd", "used_share", "remaining_usd", "today_usd", "today_as_of", "include_byok", "thresholds",
    "forecast_usd", "forecast_low", "forecast_high", "forecast_cross", "over_since", "resets_at",
    "resets_in_hours", "open_alerts", "note", "evaluated_at",
]  # fmt: skip


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    row = _first(
        con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = ? "
            "AND database_name = current_database()",
            [table, column],
        ).fetchall()
    )
    return bool(row and row[0])


def budget_overview(con: duckdb.DuckDBPyConnection, now: datetime) -> pd.DataFrame:
    """One row per budget as the last alerts run evaluated it: spend vs limit (``used_share`` 0..1+,
    ``remaining_usd``), today so far (NULL: not knowable for the scope), the forecast at the period's end
    and its 80 % band, the day the projection crosses the limit, when the period resets (``resets_at``,
    ``resets_in_hours`` from ``now``; NULL for a key limit that never resets), how many of its alerts are
    still active, and the note on what the numbers include; ``over_since``: the day the spend passed the
    limit (NULL: it has not). Fullest budgets first."""
    over_since = (
        "s.over_since"
        if _has(con, "budget_status") and _has_column(con, "budget_status", "over_since")
        else ("CAST(NULL AS DATE)")
    )
    return _frame(
        con,
        "budget_status",
        f"""SELECT s.budget, s.scope, s.mirrored, s.period, s.period_label, s.period_start, s.period_end,
                  s.limit_usd, s.spend_usd, s.spend_usd / s.limit_usd AS used_share,
                  s.limit_usd - s.spend_usd AS remaining_usd, s.today_usd, s.today_as_of, s.include_byok,
                  s.thresholds, s.forecast_usd, s.forecast_low, s.forecast_high, s.forecast_cross,
                  {over_since} AS over_since,
                  CAST(s.period_end AS TIMESTAMP) AS resets_at,
                  date_diff('second', ?::TIMESTAMP, CAST(s.period_end AS TIMESTAMP)) / 3600.0 AS resets_in_hours,
                  (SELECT count(*) FROM alerts a WHERE a.budget = s.budget AND a.status = 'active'
                     AND a.period = s.period_label) AS open_alerts,
                  s.note, s.evaluated_at
           FROM budget_status s ORDER BY used_share DESC, s.budget""",  # noqa: S608 -- constants
        [now],
        _OVERVIEW,
    )


def budget_forecast(con: duckdb.DuckDBPyConnection, budget: str) -> pd.DataFrame:
    """The budget's current period day by day, cumulative: ``actual_usd`` for days passed (today so far on
    today), ``forecast_usd`` with ``low_usd``..``high_usd`` (the 80 % band) from today on, and the limit."""
    return _frame(
        con,
        "budget_forecast",
        """SELECT f.date, f.actual_usd, f.forecast_usd, f.low_usd, f.high_usd, s.limit_usd
           FROM budget_forecast f JOIN budget_status s USING (budget) WHERE f.budget = ? ORDER BY f.date""",
        [budget],
        ["date", "actual_usd", "forecast_usd", "low_usd", "high_usd", "limit_usd"],
    )


def alert_history(
    con: duckdb.DuckDBPyConnection, budget: str | None = None, since: datetime | None = None, limit: int = 500
) -> pd.DataFrame:
    """Alerts raised, newest first (``budget`` '' is the account-wide rules'): kind, period, threshold,
    status (``active``, ``suppressed``: crossed with a higher threshold in the same run, never sent,
    ``cleared``), the numbers at the time, the message, and per channel whether it was delivered."""
    return _frame(
        con,
        "alerts",
        """SELECT a.alert_id, a.raised_at, a.budget, a.kind, a.subject, a.period, a.threshold, a.status,
                  a.cleared_at, a.limit_usd, a.spend_usd, a.title, a.message,
                  string_agg(DISTINCT d.channel, ', ' ORDER BY d.channel) FILTER (WHERE d.status = 'sent')
                      AS delivered_to,
                  string_agg(DISTINCT d.channel, ', ' ORDER BY d.channel) FILTER (WHERE d.status <> 'sent')
                      AS undelivered_to
           FROM alerts a LEFT JOIN alert_deliveries d USING (alert_id)
           WHERE (?::VARCHAR IS NULL OR a.budget = ?) AND (?::TIMESTAMP IS NULL OR a.raised_at >= ?)
           GROUP BY ALL ORDER BY a.raised_at DESC, a.alert_id DESC LIMIT ?""",
        [budget, budget, since, since, limit],
        ["alert_id", "raised_at", "budget", "kind", "subject", "period", "threshold", "status", "cleared_at",
         "limit_usd", "spend_usd", "title", "message", "delivered_to", "undelivered_to"],
    )  # fmt: skip


def channel_health(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each delivery channel's health (``queries.alert_channels.channel_health``): failures in a row, when it
    was disabled (NULL: enabled), its last error and success, and how many messages it still owes."""
    import pandas as pd

    from queries import alert_channels

    columns = ["channel", "failures_in_a_row", "disabled_at", "last_error", "last_failure_at", "last_success_at",
               "held"]  # fmt: skip
    rows = alert_channels.channel_health(con)
    return pd.DataFrame([[getattr(r, c) for c in columns] for r in rows], columns=columns)


def failed_deliveries(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Messages not delivered yet, oldest first: ``pending`` (not tried) or ``failed`` (tried ``attempts``
    times; ``error`` is the last failure's one line). They are retried at every alerts run."""
    return _frame(
        con,
        "alert_deliveries",
        """SELECT d.delivery_id, d.created_at, a.budget, a.kind, d.event, d.channel, d.status, d.attempts,
                  d.error, d.last_attempt_at, d.title
           FROM alert_deliveries d JOIN alerts a USING (alert_id)
           WHERE d.status <> 'sent' ORDER BY d.created_at, d.delivery_id""",
        [],
        ["delivery_id", "created_at", "budget", "kind", "event", "channel", "status", "attempts", "error",
         "last_attempt_at", "title"],
    )  # fmt: skip


_TEAM_KINDS = {"key": KEYS, "app": APPS, "member": MEMBERS, "tag": TAGS}


def spend_by_team(
    con: duckdb.DuckDBPyConnection, first_day: date, last_day: date, include_byok: bool = True
) -> pd.DataFrame:
    """Each cost centre's scope spend over completed days ``first_day..last_day`` as its budgets count it, from
    the teams as the last alerts run resolved them (``members``: how many keys, apps or members the team
    holds). Teams may overlap here; chargeback, where each dollar goes to one team, is ``queries.allocation``."""
    import pandas as pd

    columns = ["team", "kind", "members", "spend_usd"]
    if not _has(con, "cost_centres"):
        return pd.DataFrame(columns=columns)
    rows = con.execute("SELECT team, kind, list(value ORDER BY value) FROM cost_centres GROUP BY ALL").fetchall()
    out = []
    for team, kind, values in sorted(rows):
        spend = daily_spend(con, Scope(_TEAM_KINDS[kind], tuple(values)), first_day, last_day, include_byok)
        out.append((team, kind, len(values), sum(spend.values())))
    return pd.DataFrame(out, columns=columns).sort_values(["spend_usd", "team"], ascending=[False, True])
