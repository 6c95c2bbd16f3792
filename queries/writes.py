"""Named writes: the only SQL that changes the store. Rows come in as dicts keyed by column name.

Every write is idempotent: replaying the same input leaves the same rows. Units are replaced whole
(delete the unit's rows, insert the new ones) inside the caller's transaction, so a crash never leaves
half a unit and a re-run never doubles one. Writes of daily facts and coverage also refresh what
``queries.rollups`` derives from them, in that same transaction. Rows are the connection's current account's
(``queries.accounts``): a unit replaced is replaced for that account only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from queries import rollups
from queries.accounts import CURRENT

Row = Mapping[str, Any]

ACTIVITY_COLUMNS = (
    "date",
    "model",
    "model_permaslug",
    "endpoint_id",
    "provider_name",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "usage",
    "byok_usage_inference",
)

API_KEY_COLUMNS = (
    "hash",
    "name",
    "label",
    "disabled",
    "limit",
    "limit_remaining",
    "limit_reset",
    "include_byok_in_limit",
    "usage",
    "usage_daily",
    "usage_weekly",
    "usage_monthly",
    "byok_usage",
    "byok_usage_daily",
    "byok_usage_weekly",
    "byok_usage_monthly",
    "created_at",
    "updated_at",
    "expires_at",
    "creator_user_id",
    "workspace_id",
    "last_used_at",
)

SNAPSHOT_KEY_COLUMNS = (
    "hash",
    "name",
    "label",
    "disabled",
    "limit",
    "limit_remaining",
    "usage",
    "usage_daily",
    "usage_weekly",
    "usage_monthly",
    "byok_usage",
    "byok_usage_daily",
    "byok_usage_weekly",
    "byok_usage_monthly",
)

WORKSPACE_COLUMNS = ("id", "name", "slug", "created_at", "updated_at")

# The columns whose change starts a new row in `models` (the model's "state").
MODEL_STATE_COLUMNS = (
    "id",
    "name",
    "context_length",
    "pricing_prompt",
    "pricing_completion",
    "pricing_request",
    "pricing_image",
    "pricing_web_search",
    "pricing_internal_reasoning",
    "pricing_input_cache_read",
    "pricing_input_cache_write",
    "pricing_input_cache_write_1h",
    "pricing_discount",
    "pricing_overrides",
    "expiration_date",
    "output_modalities",
)
MODEL_COLUMNS = ("canonical_slug", "created", "description", *MODEL_STATE_COLUMNS)


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _stage(con: duckdb.DuckDBPyConnection, name: str, rows: Sequence[Row], columns: Sequence[str]) -> None:
    """Register ``rows`` as a temporary Arrow view (bulk, never row by row)."""
    table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows])
    con.register(name, table)


def replace_activity_day(con: duckdb.DuckDBPyConnection, day: date, rows: Sequence[Row], ingested_at: datetime) -> int:
    """Make the account-wide activity of ``day`` exactly ``rows``."""
    con.execute(f"DELETE FROM activity WHERE date = ? AND account = {CURRENT}", [day])
    if rows:
        _stage(con, "incoming_activity", rows, ACTIVITY_COLUMNS)
        con.execute(
            f"INSERT INTO activity ({_quoted(ACTIVITY_COLUMNS)}, ingested_at) "
            f"SELECT {_quoted(ACTIVITY_COLUMNS)}, ? FROM incoming_activity",
            [ingested_at],
        )
        con.unregister("incoming_activity")
    rollups.activity_changed(con, sorted({day} | {row["date"] for row in rows}))
    return len(rows)


def replace_activity_for_key(
    con: duckdb.DuckDBPyConnection,
    api_key_hash: str,
    days: Sequence[date],
    rows: Sequence[Row],
    ingested_at: datetime,
) -> int:
    """Make one key's activity on each of ``days`` exactly ``rows`` (other days are kept)."""
    if not days:
        return 0
    con.execute(
        f"DELETE FROM activity_by_key WHERE api_key_hash = ? AND list_contains(?, date) AND account = {CURRENT}",
        [api_key_hash, list(days)],
    )
    if rows:
        _stage(con, "incoming_key_activity", rows, ACTIVITY_COLUMNS)
        con.execute(
            f"INSERT INTO activity_by_key (api_key_hash, {_quoted(ACTIVITY_COLUMNS)}, ingested_at) "
            f"SELECT ?, {_quoted(ACTIVITY_COLUMNS)}, ? FROM incoming_key_activity",
            [api_key_hash, ingested_at],
        )
        con.unregister("incoming_key_activity")
    # Rows may fall outside ``days``; every day the key now has or had rows on is refreshed.
    written = {row["date"] for row in rows} | set(days)
    rollups.key_activity_changed(con, api_key_hash, sorted(written))
    return len(rows)


def upsert_api_keys(con: duckdb.DuckDBPyConnection, keys: Sequence[Row], fetched_at: datetime, complete: bool) -> int:
    """Upsert the keys seen now and snapshot their usage counters.

    With ``complete`` (the listing covered every workspace, disabled keys included), keys no longer
    listed are marked deleted; their rows and history stay.
    """
    if keys:
        _stage(con, "incoming_keys", keys, API_KEY_COLUMNS)
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in API_KEY_COLUMNS if c != "hash")
        con.execute(
            f"INSERT INTO api_keys ({_quoted(API_KEY_COLUMNS)}, first_seen_at, last_seen_at, deleted_at) "
            f"SELECT {_quoted(API_KEY_COLUMNS)}, ?, ?, NULL FROM incoming_keys "
            f"ON CONFLICT (account, hash) DO UPDATE SET {updates}, last_seen_at = excluded.last_seen_at, "
            f"deleted_at = NULL",
            [fetched_at, fetched_at],
        )
        con.execute(
            f"INSERT OR REPLACE INTO api_key_snapshots (fetched_at, {_quoted(SNAPSHOT_KEY_COLUMNS)}) "
            f"SELECT ?, {_quoted(SNAPSHOT_KEY_COLUMNS)} FROM incoming_keys",
            [fetched_at],
        )
        con.unregister("incoming_keys")
    if complete:
        con.execute(
            f"UPDATE api_keys SET deleted_at = ? WHERE deleted_at IS NULL AND last_seen_at < ? AND account = {CURRENT}",
            [fetched_at, fetched_at],
        )
    return len(keys)


def upsert_workspaces(con: duckdb.DuckDBPyConnection, workspaces: Sequence[Row], fetched_at: datetime) -> int:
    if not workspaces:
        return 0
    _stage(con, "incoming_workspaces", workspaces, WORKSPACE_COLUMNS)
    con.execute(
        f"INSERT INTO workspaces ({_quoted(WORKSPACE_COLUMNS)}, first_seen_at, last_seen_at) "
        f"SELECT {_quoted(WORKSPACE_COLUMNS)}, ?, ? FROM incoming_workspaces "
        "ON CONFLICT (account, id) DO UPDATE SET name = excluded.name, slug = excluded.slug, "
        "updated_at = excluded.updated_at, last_seen_at = excluded.last_seen_at",
        [fetched_at, fetched_at],
    )
    con.unregister("incoming_workspaces")
    return len(workspaces)


def insert_credits(
    con: duckdb.DuckDBPyConnection, fetched_at: datetime, total_credits: float, total_usage: float
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO credits (fetched_at, total_credits, total_usage) VALUES (?, ?, ?)",
        [fetched_at, total_credits, total_usage],
    )


def upsert_models(con: duckdb.DuckDBPyConnection, models: Sequence[Row], fetched_at: datetime) -> int:
    """Record the models' current state; a changed price or expiration starts a new row (a changed
    description only updates the newest one).

    Returns how many new states were recorded.
    """
    if not models:
        return 0
    _stage(con, "incoming_models", models, MODEL_COLUMNS)
    same_state = " AND ".join(f'cur."{c}" IS NOT DISTINCT FROM inc."{c}"' for c in MODEL_STATE_COLUMNS)
    con.execute(
        f"""UPDATE models SET last_seen_at = ?, description = coalesce(inc.description, models.description)
            FROM incoming_models inc, models_current cur
            WHERE models.canonical_slug = inc.canonical_slug
              AND cur.canonical_slug = inc.canonical_slug
              AND models.valid_from = cur.valid_from
              AND {same_state}""",
        [fetched_at],
    )
    new_states = con.execute(
        f"""INSERT INTO models (valid_from, last_seen_at, {_quoted(MODEL_COLUMNS)})
            SELECT ?, ?, {", ".join(f'inc."{c}"' for c in MODEL_COLUMNS)}
            FROM incoming_models inc
            LEFT JOIN models_current cur ON cur.canonical_slug = inc.canonical_slug AND {same_state}
            WHERE cur.canonical_slug IS NULL
            ON CONFLICT DO NOTHING""",
        [fetched_at, fetched_at],
    ).fetchone()
    con.unregister("incoming_models")
    return int(new_states[0]) if new_states else 0


def start_run(con: duckdb.DuckDBPyConnection, command: str, started_at: datetime) -> int:
    row = con.execute(
        "INSERT INTO ingest_runs (command, started_at, status, duckdb_version) "
        "VALUES (?, ?, 'running', ?) RETURNING run_id",
        [command, started_at, duckdb.__version__],
    ).fetchone()
    assert row is not None
    return int(row[0])


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    status: str,
    finished_at: datetime,
    units_done: int,
    rows_written: int,
    message: str | None = None,
) -> None:
    con.execute(
        "UPDATE ingest_runs SET status = ?, finished_at = ?, units_done = ?, rows_written = ?, message = ? "
        "WHERE run_id = ?",
        [status, finished_at, units_done, rows_written, message, run_id],
    )


def rescrub_messages(con: duckdb.DuckDBPyConnection, scrub: Callable[[str], str]) -> int:
    """Pass every stored run message and delivery error through ``scrub`` again, rewriting those it changes:
    a store written before peers' words were scrubbed (or before a secret was set) is cleaned by the next
    writer that knows the secrets. Returns how many were rewritten."""
    changed = 0
    for table, key, column in (("ingest_runs", "run_id", "message"), ("alert_deliveries", "delivery_id", "error")):
        exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [table]
        ).fetchone()
        if not exists or not exists[0]:
            continue
        rows = con.execute(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()
        for row_id, text in rows:
            clean = scrub(text)
            if clean != text:
                con.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", [clean, row_id])
                changed += 1
    return changed


ANALYTICS_DIMENSION_COLUMNS = (
    "model",
    "app",
    "api_key_hash",
    "provider",
    "workspace",
    "user",
    "user_email",
    "external_user",
)


def upsert_analytics(
    con: duckdb.DuckDBPyConnection, rows: Sequence[Row], metrics: Sequence[str], ingested_at: datetime
) -> int:
    """Insert or update analytics rows; only the given metric columns are written, so the 365-day and
    the 31-day metric sets of one row can arrive in separate queries."""
    if not rows:
        return 0
    columns = ("date", "dimensions", "dim_key", *ANALYTICS_DIMENSION_COLUMNS, *metrics)
    _stage(con, "incoming_analytics", rows, columns)
    updates = ", ".join(f'"{m}" = excluded."{m}"' for m in metrics)
    con.execute(
        f"INSERT INTO analytics_daily ({_quoted(columns)}, ingested_at) "
        f"SELECT {_quoted(columns)}, ? FROM incoming_analytics "
        f"ON CONFLICT (account, dimensions, date, dim_key) DO UPDATE SET {updates}, ingested_at = excluded.ingested_at",
        [ingested_at],
    )
    touched = con.execute(
        "SELECT dimensions, list(DISTINCT date) FROM incoming_analytics GROUP BY dimensions"
    ).fetchall()
    con.unregister("incoming_analytics")
    for grouping, days in touched:
        rollups.analytics_changed(con, str(grouping), list(days))
    return len(rows)


def record_coverage(
    con: duckdb.DuckDBPyConnection,
    *,
    source: str,
    dimensions: str,
    scope: str,
    metrics: str,
    first_day: date,
    last_day: date,
    fetched_at: datetime,
    rows_received: int,
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO coverage (source, dimensions, scope, metrics, first_day, last_day, fetched_at, "
        "rows_received) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [source, dimensions, scope, metrics, first_day, last_day, fetched_at, rows_received],
    )
    if source in ("activity", "analytics"):
        rollups.coverage_changed(con)


MEMBER_COLUMNS = ("id", "first_name", "last_name", "email", "role")


def upsert_members(con: duckdb.DuckDBPyConnection, members: Sequence[Row], fetched_at: datetime) -> int:
    if not members:
        return 0
    _stage(con, "incoming_members", members, MEMBER_COLUMNS)
    con.execute(
        f"INSERT INTO organization_members ({_quoted(MEMBER_COLUMNS)}, first_seen_at, last_seen_at) "
        f"SELECT {_quoted(MEMBER_COLUMNS)}, ?, ? FROM incoming_members "
        "ON CONFLICT (account, id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name, "
        "email = excluded.email, role = excluded.role, last_seen_at = excluded.last_seen_at",
        [fetched_at, fetched_at],
    )
    con.unregister("incoming_members")
    return len(members)


ENDPOINT_COLUMNS = (
    "model_permaslug",
    "model_id",
    "provider_name",
    "tag",
    "name",
    "status",
    "quantization",
    "context_length",
    "max_completion_tokens",
    "uptime_last_5m",
    "uptime_last_30m",
    "uptime_last_1d",
    "latency_p50",
    "latency_p75",
    "latency_p90",
    "latency_p99",
    "throughput_p50",
    "throughput_p75",
    "throughput_p90",
    "throughput_p99",
    "pricing_prompt",
    "pricing_completion",
    "pricing_request",
    "pricing_input_cache_read",
    "pricing_internal_reasoning",
    "pricing_input_cache_write",
    "pricing_input_cache_write_1h",
    "pricing_web_search",
    "pricing_discount",
    "pricing_overrides",
)


def insert_model_endpoints(con: duckdb.DuckDBPyConnection, rows: Sequence[Row], fetched_at: datetime) -> int:
    if not rows:
        return 0
    _stage(con, "incoming_endpoints", rows, ENDPOINT_COLUMNS)
    con.execute(
        f"INSERT OR REPLACE INTO model_endpoints (fetched_at, {_quoted(ENDPOINT_COLUMNS)}) "
        f"SELECT ?, {_quoted(ENDPOINT_COLUMNS)} FROM incoming_endpoints",
        [fetched_at],
    )
    con.unregister("incoming_endpoints")
    return len(rows)
