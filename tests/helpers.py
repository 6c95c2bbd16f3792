"""Shared test helpers: run the real CLI, read the store's fact tables for row-for-row comparison."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[1]

# Fact tables compared row for row between runs; columns that record *when* are left out.
FACT_TABLES: dict[str, str] = {
    "activity": "SELECT * EXCLUDE (ingested_at) FROM activity ORDER BY ALL",
    "activity_by_key": "SELECT * EXCLUDE (ingested_at) FROM activity_by_key ORDER BY ALL",
    "api_keys": "SELECT * EXCLUDE (first_seen_at, last_seen_at) FROM api_keys ORDER BY ALL",
    "workspaces": "SELECT * EXCLUDE (first_seen_at, last_seen_at) FROM workspaces ORDER BY ALL",
    "models": "SELECT * EXCLUDE (valid_from, last_seen_at) FROM models ORDER BY ALL",
    "analytics_daily": "SELECT * EXCLUDE (ingested_at) FROM analytics_daily ORDER BY ALL",
    "organization_members": "SELECT * EXCLUDE (first_seen_at, last_seen_at) FROM organization_members ORDER BY ALL",
}


def fact_tables(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The fact tables of the database file itself (not the snapshot), read-only."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in FACT_TABLES.items()}
    finally:
        con.close()


def query(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def same_rows(left: list[tuple[Any, ...]], right: list[tuple[Any, ...]], rel: float = 1e-9) -> bool:
    """Rows equal, floats within ``rel`` (sums in another order differ in the last bits)."""
    if len(left) != len(right):
        return False
    for a, b in zip(left, right, strict=True):
        if len(a) != len(b):
            return False
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) or isinstance(y, float):
                if x is None or y is None or abs(x - y) > rel * max(abs(x), abs(y), 1e-12) + 1e-12:
                    return False
            elif x != y:
                return False
    return True


def run_cli(
    args: list[str], env: Mapping[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `orusage` as a user would, in a child process, with a clean environment (no stray .env)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    base["HOME"] = os.environ.get("HOME", "/tmp")
    # One /generation call per generation: keep the per-generation step short in tests that are about
    # something else (its own tests set these as they need).
    base["ORUSAGE_GENERATIONS_CAP"] = "200"
    base["ORUSAGE_GENERATIONS_RATE"] = "1000"
    base["ORUSAGE_ANALYTICS_RATE"] = "100000"  # the fakes of the tests have no rate limit (tests/conftest.py)
    full = {**base, **(env or {})}
    # An empty folder of its own unless one is given: no stray .env or config file is read from the caller's.
    with tempfile.TemporaryDirectory(prefix="orusage-cwd-") as empty:
        return subprocess.run(
            [sys.executable, "-m", "orusage.cli", *args],
            env=full,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(cwd or empty),
            stdin=subprocess.DEVNULL,
            check=False,
        )
