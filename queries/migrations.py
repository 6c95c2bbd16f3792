"""Numbered, append-only migrations. Each runs in its own transaction and is recorded with the DuckDB
version that applied it, so a file always says which engine wrote it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import duckdb

from queries import rollups

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
ROLLUPS_VERSION = 5  # the migration that created queries.rollups' tables


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with the package, in order. Versions must be 1, 2, 3, … with no gap."""
    found: list[Migration] = []
    for entry in resources.files("queries").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration numbering has a gap before {migration.version:04d}")
    return found


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    con.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,
               applied_at TIMESTAMP NOT NULL, duckdb_version VARCHAR NOT NULL)"""
    )
    return {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply what is missing; return the versions applied now."""
    done = applied_versions(con)
    newest_known = max((m.version for m in available()), default=0)
    if done and max(done) > newest_known:
        from core.errors import StoreError

        raise StoreError(
            f"the database was written by a newer openrouter-usage (schema {max(done)}, this one knows "
            f"{newest_known}).",
            "Upgrade openrouter-usage, or point ORUSAGE_DB at another file.",
        )
    now_applied: list[int] = []
    pending = [m for m in available() if m.version not in done]
    for migration in pending:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            if migration is pending[-1] and migration.version >= ROLLUPS_VERSION:
                # The rollups are derived from the facts: whenever the schema moves they are rebuilt, in the
                # newest migration's transaction, so a crash leaves that migration to be redone, rebuild and all.
                rollups.refresh_all(con)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP, ?)",
                [migration.version, migration.name, duckdb.__version__],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        now_applied.append(migration.version)
    return now_applied
