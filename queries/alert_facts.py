"""Facts the alert rules read besides spend: names in a config resolved to what the store holds, and the
account-wide state (key limits, credits, the last good ingest, models in use and their price history).
Parameters are bound; the only text put into a statement comes from this module's constants."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from queries.budgets import ACCOUNT, APPS, MEMBERS, MODELS, PROVIDERS, TAGS, Scope, daily_spend_by_value
from queries.generations import has_broadcast


def _first(rows: list[Any]) -> Any:
    """The first row or None; fetching everything leaves no unfinished result on the connection."""
    return rows[0] if rows else None


# ---- resolving names in a config to what the facts store -----------------------------------------------


def key_hashes(con: duckdb.DuckDBPyConnection, name_or_hash: str) -> list[str]:
    """Hashes of the keys with this hash, name or label (deleted keys included: their history counts)."""
    rows = con.execute(
        "SELECT hash FROM api_keys WHERE hash = ? OR name = ? OR label = ? ORDER BY hash",
        [name_or_hash, name_or_hash, name_or_hash],
    ).fetchall()
    return [str(r[0]) for r in rows]


def workspace_key_hashes(con: duckdb.DuckDBPyConnection, workspace: str) -> list[str] | None:
    """Hashes of the keys in the workspace with this id, name or slug; None when no such workspace."""
    found = con.execute(
        "SELECT id FROM workspaces WHERE id = ? OR name = ? OR slug = ?", [workspace, workspace, workspace]
    ).fetchall()
    if not found:
        return None
    rows = con.execute(
        "SELECT hash FROM api_keys WHERE list_contains(?::VARCHAR[], workspace_id) ORDER BY hash",
        [[r[0] for r in found]],
    ).fetchall()
    return [str(r[0]) for r in rows]


def matching_models(con: duckdb.DuckDBPyConnection, globs: Sequence[str]) -> list[str]:
    """Permaslugs whose permaslug or slug matches any of the globs (``*``, ``?``, ``[...]``)."""
    rows = con.execute(
        """WITH known AS (
               SELECT model_permaslug AS permaslug, model AS slug FROM activity
               UNION SELECT model, model FROM analytics_daily WHERE dimensions = 'model' AND model IS NOT NULL
               UNION SELECT canonical_slug, id FROM models)
           SELECT DISTINCT permaslug FROM known, (SELECT unnest(?::VARCHAR[]) AS pattern) p
           WHERE permaslug GLOB p.pattern OR slug GLOB p.pattern ORDER BY 1""",
        [list(globs)],
    ).fetchall()
    return [str(r[0]) for r in rows]


def seen_values(con: duckdb.DuckDBPyConnection, kind: str) -> set[str]:
    """Provider, app or member values with stored traffic (to warn about a name that matches nothing)."""
    if kind == PROVIDERS:
        sql = """SELECT DISTINCT provider_name FROM activity
                 UNION SELECT DISTINCT provider FROM analytics_daily WHERE dimensions = 'model,provider'"""
    elif kind == APPS:
        sql = "SELECT DISTINCT app FROM analytics_daily WHERE dimensions = 'model,app'"
    elif kind == MEMBERS:
        sql = """SELECT DISTINCT "user" FROM analytics_daily WHERE dimensions = 'user'
                 UNION SELECT DISTINCT user_email FROM analytics_daily WHERE dimensions = 'user'
                 UNION SELECT email FROM organization_members"""
    elif kind == TAGS:
        if not has_broadcast(con):
            return set()
        sql = "SELECT DISTINCT key || '=' || value FROM generation_tags"
    else:
        raise ValueError(kind)
    return {str(r[0]) for r in con.execute(sql).fetchall() if r[0] is not None}


# ---- account-wide facts the rules need -----------------------------------------------------------------


@dataclass(frozen=True)
class KeyLimit:
    """A limit OpenRouter enforces on a key (``limit_reset`` None: it never resets)."""

    hash: str
    name: str
    limit: float
    limit_reset: str | None
    include_byok: bool
    lifetime_usage: float  # usage (+ BYOK when it counts) since the key was created, at the last fetch


def key_limits(con: duckdb.DuckDBPyConnection) -> list[KeyLimit]:
    """Keys listed at the last fetch, enabled, with a limit."""
    rows = con.execute(
        """SELECT hash, name, "limit", limit_reset, coalesce(include_byok_in_limit, false),
                  coalesce(usage, 0) + CASE WHEN include_byok_in_limit THEN coalesce(byok_usage, 0) ELSE 0 END
           FROM api_keys WHERE deleted_at IS NULL AND NOT disabled AND "limit" IS NOT NULL
           ORDER BY name, hash"""
    ).fetchall()
    return [KeyLimit(r[0], r[1], float(r[2]), r[3], bool(r[4]), float(r[5])) for r in rows]


def last_good_ingest(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the newest successful ingest finished (None: never)."""
    row = _first(
        con.execute(
            "SELECT max(finished_at) FROM ingest_runs WHERE status = 'ok' AND command LIKE 'ingest%'"
        ).fetchall()
    )
    return row[0] if row else None


def models_in_use(con: duckdb.DuckDBPyConnection, since: date) -> list[str]:
    """Permaslugs with traffic since ``since`` (activity or analytics)."""
    rows = con.execute(
        """SELECT model_permaslug FROM activity WHERE date >= ?
           UNION SELECT model FROM analytics_daily WHERE dimensions = 'model' AND date >= ? AND model IS NOT NULL
           ORDER BY 1""",
        [since, since],
    ).fetchall()
    return [str(r[0]) for r in rows]


PRICE_COLUMNS = (
    "pricing_prompt",
    "pricing_completion",
    "pricing_request",
    "pricing_image",
    "pricing_web_search",
    "pricing_internal_reasoning",
    "pricing_input_cache_read",
    "pricing_input_cache_write",
    "pricing_discount",
)


@dataclass(frozen=True)
class ModelState:
    """One row of ``models``: a model's prices and expiration from ``valid_from`` on."""

    permaslug: str
    slug: str
    valid_from: datetime
    prices: tuple[tuple[str, float | None], ...]  # (column, USD per token) in PRICE_COLUMNS order
    expiration_date: str | None


def model_states(con: duckdb.DuckDBPyConnection, permaslugs: Sequence[str]) -> list[ModelState]:
    """Every stored state of these models, oldest first per model."""
    columns = ", ".join(PRICE_COLUMNS)
    rows = con.execute(
        f"SELECT canonical_slug, id, valid_from, expiration_date, {columns} FROM models "  # noqa: S608 -- constants
        "WHERE list_contains(?::VARCHAR[], canonical_slug) ORDER BY canonical_slug, valid_from",
        [list(permaslugs)],
    ).fetchall()
    return [
        ModelState(
            r[0],
            r[1],
            r[2],
            tuple((c, None if v is None else float(v)) for c, v in zip(PRICE_COLUMNS, r[4:], strict=True)),
            r[3],
        )
        for r in rows
    ]


def expirations(con: duckdb.DuckDBPyConnection) -> dict[str, date]:
    """Each model's ``expiration_date`` as its newest state says (models without one are left out)."""
    rows = con.execute(
        """SELECT canonical_slug, expiration_date FROM models
           QUALIFY row_number() OVER (PARTITION BY canonical_slug ORDER BY valid_from DESC) = 1"""
    ).fetchall()
    out: dict[str, date] = {}
    for slug, text in rows:
        if text:
            try:
                out[str(slug)] = date.fromisoformat(str(text).strip()[:10])
            except ValueError:
                continue
    return out


def expiry_scale(
    con: duckdb.DuckDBPyConnection, scope: Scope, today: date, end: date | None
) -> Callable[[date], float] | None:
    """For the account and model scopes: the share of the pace still spent on a day, once the models that
    expire before the period ends are gone (each model's share from the last 28 days' spend). None when no
    model of the scope expires before ``end``, or for other scopes (their spend is not split by model)."""
    if end is None or scope.kind not in (ACCOUNT, MODELS):
        return None
    expiring = {m: d for m, d in expirations(con).items() if d < end}
    if scope.kind == MODELS:
        expiring = {m: d for m, d in expiring.items() if m in scope.values}
    if not expiring:
        return None
    recent = daily_spend_by_value(con, MODELS, today - timedelta(days=28), today - timedelta(days=1))
    spend = {m: sum(f.spend for f in days.values()) for m, days in recent.items()}
    if scope.kind == MODELS:
        spend = {m: v for m, v in spend.items() if m in scope.values}
    total = sum(spend.values())
    if total <= 0:
        return None
    gone = sorted((d, spend.get(m, 0.0) / total) for m, d in expiring.items())
    return lambda day: 1.0 - sum(share for expires, share in gone if expires <= day)
