"""Key hygiene: the API keys that need a look, for the API keys page and the alerts (one definition).

* **near its limit**: the usage counted against the limit (its reset period's, or the key's whole life when
  it never resets) has reached ``limit_percent`` of it, or the key's daily spend (``core.forecast``) is
  projected to reach it before the limit resets; the projected run-out day is given;
* **expiring**: ``expires_at`` within ``expiry_days``;
* **unused**: no use for ``unused_days``: ``last_used_at`` when ``/keys`` sends it (OpenRouter added it
  after the spec this project holds), else the last day with requests or spend in the key's activity or
  analytics, or a rise of its usage counter between two ``/keys`` snapshots; since its creation if never;
* **no limit**: a key that spent in the last 30 days with no limit at all.

Only keys listed at the last fetch, enabled and not expired, are looked at. ``key_facts`` reads; ``issues``
is a pure function of what it read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from core import fmt
from core.forecast import MAX_HISTORY_DAYS, project
from queries import budgets as q
from queries.reads_keys import PERIOD_USAGE

NEAR_LIMIT = "near_limit"
EXPIRING = "expiring"
UNUSED = "unused"
NO_LIMIT = "no_limit"
RECENT_DAYS = 30


@dataclass(frozen=True)
class KeyFacts:
    hash: str
    name: str
    workspace: str | None
    limit: float | None
    limit_reset: str | None  # daily | weekly | monthly | None (never)
    used: float  # counted against the limit: its period's usage, or the lifetime's
    created_at: datetime | None
    expires_at: datetime | None
    last_used: datetime | None
    last_used_source: str  # 'last_used_at' | 'activity' | 'never'
    spent_recently: float  # spend in the last RECENT_DAYS completed days and today
    period_end: datetime | None  # when the limit resets (None: never)
    runs_out: datetime | None  # projected moment the limit is reached before it resets (None: not projected to)


@dataclass(frozen=True)
class KeyIssue:
    hash: str
    name: str
    kind: str  # near_limit | expiring | unused | no_limit
    text: str
    when: date | None  # run-out day, expiry day, or the day of last use
    period: str  # what makes this occurrence itself: the limit period, the expiry day, the last use


def _period_end(reset: str | None, now: datetime) -> datetime | None:
    today = now.date()
    if reset == "daily":
        end = today + timedelta(days=1)
    elif reset == "weekly":
        end = today - timedelta(days=today.weekday()) + timedelta(days=7)
    elif reset == "monthly":
        end = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    else:
        return None
    return datetime.combine(end, datetime.min.time())


class _KeySpend:
    """Every key's daily spend, read once for all keys (``budgets.daily_spend_by_value``: per key, the same
    series as ``budgets.daily_spend`` of that key's scope) rather than once or twice per key."""

    def __init__(self, con: duckdb.DuckDBPyConnection, first: date, last: date) -> None:
        self._con, self.first, self.last = con, first, last
        self._read: dict[bool, dict[str, dict[date, q.DayFigures]]] = {}

    def daily(self, key_hash: str, include_byok: bool = True) -> dict[date, float]:
        """The key's spend on every day ``first..last`` (0 where nothing is stored), in day order."""
        if include_byok not in self._read:
            self._read[include_byok] = q.daily_spend_by_value(self._con, q.KEYS, self.first, self.last, include_byok)
        found = self._read[include_byok].get(key_hash, {})
        days = (self.last - self.first).days + 1
        return {d: found[d].spend if d in found else 0.0 for d in (self.first + timedelta(days=i) for i in range(days))}


def _runs_out(
    spends: _KeySpend | None, key_hash: str, limit: float, used: float, end: datetime | None, now: datetime,
    include_byok: bool,
) -> datetime | None:  # fmt: skip
    """When the key's projected spend reaches its limit before ``end`` (a year for a limit that never
    resets); None when it is not projected to. ``spends``: the days of history (None: no day is known)."""
    if used >= limit:
        return now
    if spends is None:
        return None
    today = now.date()
    horizon = end.date() if end is not None else today + timedelta(days=365)
    history = spends.daily(key_hash, include_byok)
    midnight = datetime.combine(today, datetime.min.time())
    forecast = project(
        history,
        today=today,
        end=max(horizon, today + timedelta(days=1)),
        spent=used,
        today_known=True,
        day_fraction=(now - midnight).total_seconds() / 86400,
    )
    if forecast is None:
        return None
    previous, start = used, now
    for day in forecast.days:
        day_end = datetime.combine(day.date + timedelta(days=1), datetime.min.time())
        if day.expected >= limit:
            within = (limit - previous) / (day.expected - previous) if day.expected > previous else 0.0
            return start + (day_end - start) * within
        previous, start = day.expected, day_end
    return None


def key_facts(con: duckdb.DuckDBPyConnection, now: datetime) -> list[KeyFacts]:
    """Every key listed at the newest ``/keys`` fetch, enabled and not expired, with what hygiene needs."""
    today = now.date()
    rows = con.sql(
        f"""WITH used AS (
                SELECT api_key_hash AS hash, max(date) AS day FROM activity_by_key
                WHERE requests > 0 OR usage + byok_usage_inference > 0 GROUP BY 1
                UNION ALL SELECT api_key_hash, max(date) FROM analytics_daily
                WHERE dimensions = 'api_key_hash,model' AND (request_count > 0 OR total_usage > 0) GROUP BY 1
                UNION ALL SELECT hash, max(CAST(fetched_at AS DATE)) FROM (
                    SELECT hash, fetched_at, usage > lag(usage) OVER (PARTITION BY hash ORDER BY fetched_at) AS rose
                    FROM api_key_snapshots) WHERE rose GROUP BY 1)
            SELECT k.hash, k.name, w.name, k."limit", k.limit_reset, CAST({PERIOD_USAGE} AS DOUBLE),
                   k.created_at, k.expires_at, k.last_used_at, (SELECT max(day) FROM used u WHERE u.hash = k.hash),
                   coalesce(k.include_byok_in_limit, false)
            FROM api_keys k LEFT JOIN workspaces w ON w.id = k.workspace_id AND w.account = k.account
            WHERE k.deleted_at IS NULL AND NOT k.disabled AND (k.expires_at IS NULL OR k.expires_at > ?)
            ORDER BY k.name, k.hash""",  # noqa: S608 -- constants
        params=[now],
    ).fetchall()
    first_known = q.known_from(con)
    yesterday = today - timedelta(days=1)
    recent = _KeySpend(con, today - timedelta(days=RECENT_DAYS), yesterday)
    history = (
        _KeySpend(con, max(first_known, today - timedelta(days=MAX_HISTORY_DAYS)), yesterday)
        if first_known is not None
        else None
    )
    so_far = q.keys_today_so_far(con, today)
    out = []
    for r in rows:
        key_hash, limit, reset, used = str(r[0]), r[3], r[4], float(r[5] or 0.0)
        spent = sum(recent.daily(key_hash).values()) + (so_far.get(key_hash, 0.0) if so_far is not None else 0.0)
        if r[8] is not None:
            last, source = r[8], "last_used_at"
        elif r[9] is not None:
            last, source = datetime.combine(r[9], datetime.min.time()), "activity"
        else:
            last, source = None, "never"
        end = _period_end(reset, now)
        runs_out = (
            _runs_out(history, key_hash, float(limit), used, end, now, bool(r[10]))
            if limit is not None and float(limit) > 0
            else None
        )
        out.append(
            KeyFacts(
                key_hash,
                str(r[1]),
                r[2],
                None if limit is None else float(limit),
                reset,
                used,
                r[6],
                r[7],
                last,
                source,
                spent,
                end,
                runs_out,
            )
        )
    return out


def _limit_period(k: KeyFacts) -> str:
    """The limit's current period, e.g. 'weekly:2026-11-16' ('total' for a limit that never resets)."""
    if k.period_end is None:
        return "total"
    end = k.period_end.date()
    start = {"daily": end - timedelta(days=1), "weekly": end - timedelta(days=7)}.get(k.limit_reset or "")
    return f"{k.limit_reset}:{(start or (end - timedelta(days=1)).replace(day=1)).isoformat()}"


def issues(
    keys: Sequence[KeyFacts],
    now: datetime,
    *,
    limit_percent: float = 80.0,
    expiry_days: int = 14,
    unused_days: int = 30,
    no_limit: bool = True,
) -> list[KeyIssue]:
    """What needs a look, key by key (0 / False turns a check off)."""
    out: list[KeyIssue] = []
    for k in keys:
        if k.limit is not None and k.limit > 0 and limit_percent > 0:
            share = k.used / k.limit
            resets = "never resets" if k.period_end is None else fmt.resets_in(k.period_end, now)
            if share >= limit_percent / 100 or k.runs_out is not None:
                when = f"; projected to reach it around {fmt.utc_time(k.runs_out)}" if k.runs_out and share < 1 else ""
                reached = "has reached" if share >= 1 else f"is at {share:.0%} of"
                out.append(
                    KeyIssue(
                        k.hash,
                        k.name,
                        NEAR_LIMIT,
                        f"key {k.name!r} {reached} its {fmt.usd(k.limit)} {k.limit_reset or 'lifetime'} limit "
                        f"({fmt.usd(k.used)} used{when}); the limit {resets}",
                        k.runs_out.date() if k.runs_out else None,
                        _limit_period(k),
                    )
                )
        if k.expires_at is not None and expiry_days > 0 and k.expires_at <= now + timedelta(days=expiry_days):
            left = fmt.duration(k.expires_at - now)
            out.append(
                KeyIssue(
                    k.hash,
                    k.name,
                    EXPIRING,
                    f"key {k.name!r} expires {fmt.utc_time(k.expires_at)} (in {left}); requests with it fail then",
                    k.expires_at.date(),
                    k.expires_at.date().isoformat(),
                )
            )
        if unused_days > 0:
            since = k.last_used or k.created_at
            if since is not None and now - since >= timedelta(days=unused_days):
                how = {"last_used_at": "last used", "activity": "last request or spend"}.get(k.last_used_source)
                said = f"{how} {since:%Y-%m-%d}" if how else f"never used since it was created {since:%Y-%m-%d}"
                out.append(
                    KeyIssue(
                        k.hash,
                        k.name,
                        UNUSED,
                        f"key {k.name!r} unused for {(now - since).days} days ({said}); disable or delete it if "
                        "nobody needs it",
                        since.date(),
                        since.date().isoformat(),
                    )
                )
        if no_limit and k.limit is None and k.spent_recently > 0:
            out.append(
                KeyIssue(
                    k.hash,
                    k.name,
                    NO_LIMIT,
                    f"key {k.name!r} has no spending limit and spent {fmt.usd(k.spent_recently)} in the last "
                    f"{RECENT_DAYS} days; a leaked key could spend the account's credits",
                    None,
                    "",
                )
            )
    return out
