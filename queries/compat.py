"""Snapshots published before a migration, read with today's statements: the columns a migration added
appear on them as NULL, through temporary views over their tables (a read-only snapshot cannot be altered,
and is replaced at the next ingest). One place, called where a snapshot is opened."""

from __future__ import annotations

import weakref

import duckdb

# The migration (by name: numbers are assigned when branches merge) and the columns it added, per table: (column,
# type) shows as NULL; (column, type, SQL) as that constant.
_ACCOUNT = ("account", "VARCHAR", "'default'")  # a store from before accounts held one: `default`
ADDED: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {
    "billing": {
        "models": (("pricing_input_cache_write_1h", "DOUBLE"), ("pricing_overrides", "VARCHAR")),
        "model_endpoints": (
            ("pricing_internal_reasoning", "DOUBLE"),
            ("pricing_input_cache_write", "DOUBLE"),
            ("pricing_input_cache_write_1h", "DOUBLE"),
            ("pricing_web_search", "DOUBLE"),
            ("pricing_discount", "DOUBLE"),
            ("pricing_overrides", "VARCHAR"),
        ),
    },
    "accounts": {
        table: (_ACCOUNT,)
        for table in (
            "activity",
            "activity_by_key",
            "analytics_daily",
            "analytics_hourly",
            "analytics_hourly_fetches",
            "api_key_snapshots",
            "api_keys",
            "workspaces",
            "credits",
            "coverage",
            "organization_members",
            "imported_files",
            "broadcast_destinations",
            "generations",
            "ingest_runs",
        )
    },
}
# Tables a migration created, as an empty temporary table on a snapshot that predates it.
CREATED: dict[str, dict[str, str]] = {"accounts": {"accounts": "name VARCHAR, first_seen_at TIMESTAMP"}}

_READY: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, bool] = weakref.WeakKeyDictionary()


def missing(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The migrations of ``ADDED`` the store predates."""
    applied = {str(r[0]) for r in con.sql("SELECT name FROM schema_migrations").fetchall()}
    return [name for name in ADDED if name not in applied]


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Give a snapshot the columns of the migrations it predates (once per connection: temporary views belong
    to one connection, and each cursor is a connection of its own)."""
    if _READY.get(con):
        return
    predated = missing(con)
    if predated:
        catalog = str(con.sql("SELECT current_database()").fetchall()[0][0]).replace('"', '""')
        present = {str(r[0]) for r in con.sql("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
        for name in predated:
            for table, columns in ADDED[name].items():
                if table not in present:  # older still than the table: no reader asks for it
                    continue
                extra = ", ".join(f"{c[2] if len(c) > 2 else 'NULL'}::{c[1]} AS {c[0]}" for c in columns)
                # Identifiers from ADDED only; the temporary view shadows the table for every reader.
                con.execute(f'CREATE TEMP VIEW {table} AS SELECT *, {extra} FROM "{catalog}".main.{table}')  # noqa: S608
            for table, columns_sql in CREATED.get(name, {}).items():
                con.execute(f"CREATE TEMP TABLE {table} ({columns_sql})")
    _READY[con] = True
