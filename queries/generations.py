"""Named writes and reads for per-generation records: `generations`, `app_labels` and their coverage.

One row per generation id, whichever sources have it. The merge rule, per field: /generation over the
website CSV (the "export") over Broadcast (docs/history-and-generations.md, docs/broadcast.md):

* **API fields win.** A /generation answer sets every column it has; where it has no value, a value an
  export (or Broadcast) brought earlier stays.
* **The export fills in.** An export row sets its export-only columns (``app_name``, ``api_key_name``, …)
  and fills the columns it shares with the API only where they are still empty, or hold a value Broadcast
  alone brought.
* **Broadcast fills last** (``queries.broadcast``): only columns still empty, each listed in
  ``broadcast_filled`` so that a value either other source brings later replaces it.
* ``source`` says which of /generation and the export contributed: ``api``, ``export`` or ``api+export``;
  ``broadcast`` for a record only Broadcast has. ``received_at`` says whether (and when) Broadcast did.

Rows are never written one by one: a batch arrives as an Arrow table or a staged CSV, and is merged with
what is stored in one statement, then its ids are deleted and re-inserted (no VARCHAR primary key: its
index makes bulk loads several times slower, verified-here.md). A batch of /generation answers finds its
stored rows by the id column alone, then reads only those rows whole. All of it runs in the caller's
transaction, so a batch is stored whole or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from core.limits import FIRST_DAY, MAX_COUNT, MAX_MONEY, NEGATIVE_ALLOWED

Row = Mapping[str, Any]

# Every column a /generation answer fills (some derived from it: see ingest.generations.transform).
API_COLUMNS: dict[str, str] = {
    "created_at": "TIMESTAMP",
    "model": "VARCHAR",
    "model_permaslug": "VARCHAR",
    "provider_name": "VARCHAR",
    "endpoint_id": "VARCHAR",
    "workspace_id": "VARCHAR",
    "app_id": "BIGINT",
    "origin": "VARCHAR",
    "http_referer": "VARCHAR",
    "external_user": "VARCHAR",
    "user_agent": "VARCHAR",
    "api_type": "VARCHAR",
    "router": "VARCHAR",
    "preset_id": "VARCHAR",
    "service_tier": "VARCHAR",
    "data_region": "VARCHAR",
    "web_search_engine": "VARCHAR",
    "upstream_id": "VARCHAR",
    "request_id": "VARCHAR",
    "session_id": "VARCHAR",
    "response_cache_source_id": "VARCHAR",
    "tokens_prompt": "BIGINT",
    "tokens_completion": "BIGINT",
    "native_tokens_prompt": "BIGINT",
    "native_tokens_completion": "BIGINT",
    "native_tokens_completion_images": "BIGINT",
    "native_tokens_reasoning": "BIGINT",
    "native_tokens_cached": "BIGINT",
    "num_media_prompt": "BIGINT",
    "num_input_audio_prompt": "BIGINT",
    "num_media_completion": "BIGINT",
    "num_search_results": "BIGINT",
    "num_fetches": "BIGINT",
    "usage": "DOUBLE",
    "total_cost": "DOUBLE",
    "cache_discount": "DOUBLE",
    "upstream_inference_cost": "DOUBLE",
    "byok_usage_inference": "DOUBLE",
    "is_byok": "BOOLEAN",
    "latency": "DOUBLE",
    "generation_time": "DOUBLE",
    "moderation_latency": "DOUBLE",
    "finish_reason": "VARCHAR",
    "native_finish_reason": "VARCHAR",
    "streamed": "BOOLEAN",
    "cancelled": "BOOLEAN",
    "provider_responses": "VARCHAR",
}
# Columns only the website export has.
EXPORT_ONLY_COLUMNS: dict[str, str] = {
    "app_name": "VARCHAR",
    "api_key_name": "VARCHAR",
    "api_key_disabled": "BOOLEAN",
    "variant": "VARCHAR",
    "time_to_first_token_ms": "DOUBLE",
    "cost_web_search": "DOUBLE",
    "cost_cache": "DOUBLE",
    "cost_file_processing": "DOUBLE",
}
ALL_COLUMNS: dict[str, str] = {"id": "VARCHAR", **API_COLUMNS, "api_key_hash": "VARCHAR", **EXPORT_ONLY_COLUMNS}
# The columns a Broadcast delivery may fill (docs/broadcast.md, "The allowlist"): /generation's own but the
# time (the record's, never overwritten) and the provider tries, and the key's name (as the export gives it).
BROADCAST_COLUMNS: dict[str, str] = {
    **{c: t for c, t in API_COLUMNS.items() if c not in ("created_at", "provider_responses")},
    "api_key_name": "VARCHAR",
}

API = "api"
EXPORT = "export"
BOTH = "api+export"
BROADCAST = "broadcast"  # a record only Broadcast has (``received_at`` marks Broadcast's part in any record)
WITH_API = (API, BOTH)

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str) -> str:
    """A column name from this module's constants (or a caller's, checked): safe to put into SQL."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a column name: {name!r}")
    return f'"{name}"'


def quoted(value: str) -> str:
    """A column name as an SQL string literal (checked like ``ident``)."""
    ident(value)
    return f"'{value}'"


def still_broadcast(filled: str, replaced: Mapping[str, str]) -> str:
    """SQL for what remains of ``filled`` (a ``broadcast_filled`` list) once another source has set some
    columns: ``replaced`` maps a column to the SQL condition under which that source set it (a column not in
    it stays listed). NULL when nothing remains."""
    parts = [
        f"CASE WHEN list_contains({filled}, {quoted(c)}) AND NOT coalesce({replaced[c]}, false) THEN {quoted(c)} END"
        if c in replaced
        else f"CASE WHEN list_contains({filled}, {quoted(c)}) THEN {quoted(c)} END"
        for c in BROADCAST_COLUMNS
    ]
    kept = f"list_filter([{', '.join(parts)}], lambda x: x IS NOT NULL)"
    return f"CASE WHEN {filled} IS NULL THEN NULL ELSE nullif({kept}, []::VARCHAR[]) END"


# ---- values that cannot be (core.limits) -------------------------------------------------------------------

MONEY_COLUMNS = ("usage", "total_cost", "cache_discount", "upstream_inference_cost", "byok_usage_inference")
MEASURE_COLUMNS = ("latency", "generation_time", "moderation_latency")
COUNT_COLUMNS = tuple(c for c, t in API_COLUMNS.items() if t == "BIGINT")


def possible(column: str, alias: str = "g") -> str:
    """SQL that is true when ``alias.column`` holds a value a /generation answer may have (NULL included)."""
    c = f"{alias}.{ident(column)}"
    if column in MONEY_COLUMNS:
        low = -MAX_MONEY if column in NEGATIVE_ALLOWED else 0.0
        return f"({c} IS NULL OR (isfinite({c}) AND {c} BETWEEN {low!r} AND {MAX_MONEY!r}))"
    if column in MEASURE_COLUMNS:
        return f"({c} IS NULL OR (isfinite({c}) AND {c} >= 0))"
    if column in COUNT_COLUMNS:
        return f"({c} IS NULL OR {c} BETWEEN 0 AND {MAX_COUNT - 1})"
    if column == "created_at":
        return f"({c} >= DATE '{FIRST_DAY.isoformat()}' AND {c} < $today::DATE + 2)"
    return "true"


def _all_possible(alias: str = "g") -> str:
    checked = (*MONEY_COLUMNS, *MEASURE_COLUMNS, *COUNT_COLUMNS, "created_at")
    return " AND ".join(possible(c, alias) for c in checked)


# ---- /generation batches ---------------------------------------------------------------------------------


def merge_api_rows(con: duckdb.DuckDBPyConnection, rows: Sequence[Row], fetched_at: datetime) -> int:
    """Store /generation answers (dicts keyed by ``API_COLUMNS`` plus ``id``, ``api_key_hash``)."""
    if not rows:
        return 0
    names = ["id", *API_COLUMNS, "api_key_hash"]
    table = pa.Table.from_pylist([{c: row.get(c) for c in names} for row in rows])
    con.register("incoming_api", table)
    typed = ", ".join(f"CAST(i.{ident(c)} AS {ALL_COLUMNS[c]}) AS {ident(c)}" for c in names)
    con.execute(f"CREATE TEMP TABLE typed_api AS SELECT DISTINCT ON (id) {typed} FROM incoming_api i")  # noqa: S608
    con.unregister("incoming_api")
    # The stored rows of these ids, found by reading the id column alone: joining the batch with the whole
    # table would read all 60 columns of every row (2 s and 1 GB at 10 M rows, for each batch of 250).
    found = con.execute("SELECT g.rowid FROM generations g SEMI JOIN typed_api i ON i.id = g.id").fetchall()
    stored = [r[0] for r in found]
    # API wins; where it has nothing, keep what an export brought (but not a stored value that cannot be:
    # that is what the answer is repairing). Export-only columns stay as they are.
    api = ", ".join(
        f"coalesce(i.{ident(c)}, CASE WHEN {possible(c)} THEN g.{ident(c)} END) AS {ident(c)}"
        if c != "created_at"
        else f"i.{ident(c)}"
        for c in (*API_COLUMNS, "api_key_hash")
    )
    kept = ", ".join(f"g.{ident(c)}" for c in EXPORT_ONLY_COLUMNS)
    # A Broadcast value the answer now has a value for is the answer's from here on.
    replaced = {c: f"i.{ident(c)} IS NOT NULL" for c in BROADCAST_COLUMNS if c in API_COLUMNS}
    con.execute(
        f"""CREATE TEMP TABLE merged_api AS
            SELECT i.id, {api}, {kept},
                   CASE WHEN g.source IN ('{EXPORT}', '{BOTH}') THEN '{BOTH}' ELSE '{API}' END AS source,
                   CAST($fetched_at AS TIMESTAMP) AS fetched_at, g.imported_at, g.received_at,
                   {still_broadcast("g.broadcast_filled", replaced)} AS broadcast_filled
            FROM typed_api i
            LEFT JOIN (SELECT * FROM generations WHERE rowid = ANY($stored::BIGINT[])) g ON g.id = i.id""",  # noqa: S608
        {"fetched_at": fetched_at, "stored": stored},
    )
    if stored:
        con.execute("DELETE FROM generations WHERE rowid = ANY($stored::BIGINT[])", {"stored": stored})
    con.execute("INSERT INTO generations BY NAME SELECT * FROM merged_api")
    con.execute("DROP TABLE merged_api")
    con.execute("DROP TABLE typed_api")
    return len(rows)


def stored_api_ids(con: duckdb.DuckDBPyConnection, ids: Sequence[str], today: date) -> set[str]:
    """Which of ``ids`` already have a /generation answer stored (those are never fetched again), leaving
    out rows holding a value that cannot be (stored before such values were refused): those are asked for
    again, and the answer replaces them. ``today``: the run's UTC day."""
    if not ids:
        return set()
    con.register("wanted_ids", pa.table({"id": pa.array(list(ids), pa.string())}))
    try:
        rows = con.execute(
            f"""SELECT g.id FROM generations g SEMI JOIN wanted_ids w ON w.id = g.id
                WHERE g.source IN {WITH_API} AND {_all_possible()}""",  # noqa: S608 - identifiers from the constants
            {"today": today},
        ).fetchall()
    finally:
        con.unregister("wanted_ids")
    return {r[0] for r in rows}


# ---- identity links ----------------------------------------------------------------------------------------


def upsert_app_labels(con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[int, str, datetime]], source: str) -> int:
    """Remember (app_id, label, seen at) pairs; per app, the label of the newest generation wins."""
    if not pairs:
        return 0
    con.register(
        "incoming_labels",
        pa.table(
            {
                "app_id": pa.array([p[0] for p in pairs], pa.int64()),
                "label": pa.array([p[1] for p in pairs], pa.string()),
                "seen_at": pa.array([p[2] for p in pairs], pa.timestamp("us")),
            }
        ),
    )
    _upsert_labels(con, "SELECT app_id, label, seen_at FROM incoming_labels", source)
    con.unregister("incoming_labels")
    return len(pairs)


def _upsert_labels(con: duckdb.DuckDBPyConnection, pairs_sql: str, source: str) -> None:
    con.execute(
        f"""INSERT INTO app_labels
            SELECT app_id, arg_max(label, seen_at), ?, max(seen_at) FROM ({pairs_sql}) GROUP BY app_id
            ON CONFLICT (app_id) DO UPDATE SET label = excluded.label, learned_from = excluded.learned_from,
                seen_at = excluded.seen_at
            WHERE excluded.seen_at >= app_labels.seen_at""",  # noqa: S608 - pairs_sql is this module's own
        [source],
    )


@dataclass(frozen=True)
class Links:
    keys: int  # rows given a key hash now
    apps: int  # rows given an app id now


def link_identities(con: duckdb.DuckDBPyConnection) -> Links:
    """Learn what the sources allow, so per-app and per-key figures agree across sources:

    * app id ↔ label from rows that have both (an API answer merged with an export row);
    * export rows get the app id of their ``app_name`` when exactly one app has that label;
    * export rows get the key hash of their ``api_key_name`` when exactly one key of their account (deleted
      ones included) has that name: a shared name stays unattributed rather than guessed.
    """
    _upsert_labels(
        con,
        f"""SELECT app_id, app_name AS label, created_at AS seen_at FROM generations
            WHERE source = '{BOTH}' AND app_id IS NOT NULL AND coalesce(app_name, '') <> ''""",  # noqa: S608
        EXPORT,
    )
    apps = con.execute(
        """UPDATE generations SET app_id = l.app_id
           FROM (SELECT label, any_value(app_id) AS app_id FROM app_labels GROUP BY label HAVING count(*) = 1) l
           WHERE generations.app_id IS NULL AND generations.app_name = l.label"""
    ).fetchone()
    keys = con.execute(
        """UPDATE generations SET api_key_hash = k.hash
           FROM (SELECT account, name, any_value(hash) AS hash FROM api_keys GROUP BY account, name
                 HAVING count(*) = 1) k
           WHERE generations.api_key_hash IS NULL AND generations.api_key_name = k.name
             AND generations.account = k.account"""
    ).fetchone()
    return Links(keys=int(keys[0]) if keys else 0, apps=int(apps[0]) if apps else 0)


def key_hashes_by_name(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every name or label a key is known by → the hashes of the keys carrying it (deleted keys included)."""
    rows = con.execute(
        """SELECT n, list(DISTINCT hash ORDER BY hash) FROM (
               SELECT name AS n, hash FROM api_keys UNION ALL SELECT label, hash FROM api_keys WHERE label <> ''
           ) GROUP BY n"""
    ).fetchall()
    return {r[0]: list(r[1]) for r in rows}


# ---- reads -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationFacts:
    rows: int
    api: int
    export: int
    both: int
    first: datetime | None
    last: datetime | None
    with_key: int
    with_app: int
    app_labels: int
    broadcast_only: int = 0  # records only Broadcast has
    received: int = 0  # records Broadcast delivered (whatever else has them)


def has_generations(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the file has this module's tables (a snapshot written before migration 0003 has not)."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('generations', 'app_labels', 'reconciliation')"
    ).fetchone()
    return bool(row and row[0] == 3)


def has_broadcast(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the file has migration 0006's tables (a snapshot published before it has not)."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'broadcast_receipts' AND NOT temporary"
    ).fetchall()[0]
    return bool(row and row[0])


def generation_facts(con: duckdb.DuckDBPyConnection) -> GenerationFacts:
    received = f"count(*) FILTER (WHERE source = '{BROADCAST}'), count(received_at)" if has_broadcast(con) else "0, 0"
    row = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE source = '{API}'), count(*) FILTER (WHERE source = '{EXPORT}'),
                   count(*) FILTER (WHERE source = '{BOTH}'), min(created_at), max(created_at),
                   count(api_key_hash), count(app_id), (SELECT count(*) FROM app_labels), {received}
            FROM generations"""  # noqa: S608
    ).fetchone()
    assert row is not None
    return GenerationFacts(*row)


def model_permaslugs(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Model slug → permaslug, for answers that do not say which endpoint served them."""
    return {r[0]: r[1] for r in con.execute("SELECT id, canonical_slug FROM models_current").fetchall()}
