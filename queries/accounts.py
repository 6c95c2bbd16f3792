"""Several OpenRouter accounts in one store: whose rows a writer writes, and which accounts the store holds.

Every fact table and per-account reference table has an ``account`` column (migration ``accounts``) whose
default is the writing connection's current account, the session variable ``orusage_account``. The ingest
chooses the account once per account (``use``), so no statement of the ingest carries it; statements that
replace or read back the current account's rows (a day of activity, the coverage the plan reads) name it
with ``CURRENT``. A connection that never chose one writes and reads the account ``default``: one
OPENROUTER_MANAGEMENT_KEY behaves as before there were accounts.

Readers never use the variable: the account is a dimension like any other (``Filters.accounts``), and a
read without that filter sums every account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from core.settings import DEFAULT_ACCOUNT

__all__ = ["CHOSEN", "CURRENT", "DEFAULT_ACCOUNT", "KeysToday", "current", "keys_today", "known", "record", "use"]

# The current account in SQL text: a constant, never a value from outside.
CURRENT = f"coalesce(getvariable('orusage_account'), '{DEFAULT_ACCOUNT}')"


# The rows of the chosen accounts (one bound ``VARCHAR[]``); every row when it is empty.
CHOSEN = "coalesce(list_contains(nullif(?::VARCHAR[], []::VARCHAR[]), account), true)"

# Snapshots are taken account by account, seconds apart: the store's figure is each account's newest one,
# summed. Each statement takes one parameter, the UTC day.
NEWEST_CREDITS = """SELECT * FROM credits WHERE CAST(fetched_at AS DATE) <= ?
                    QUALIFY fetched_at = max(fetched_at) OVER (PARTITION BY account)"""
NEWEST_KEY_SNAPSHOTS = """SELECT * FROM api_key_snapshots WHERE CAST(fetched_at AS DATE) = ?
                          QUALIFY fetched_at = max(fetched_at) OVER (PARTITION BY account)"""


def use(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Write ``name``'s rows from now on (on this connection)."""
    con.execute("SET VARIABLE orusage_account = ?", [name])


def record(con: duckdb.DuckDBPyConnection, name: str, seen_at: object) -> None:
    """Note ``name`` as an account the store holds (once)."""
    con.execute("INSERT OR IGNORE INTO accounts VALUES (?, ?)", [name, seen_at])


def current(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute(f"SELECT {CURRENT}").fetchone()
    return str(row[0]) if row else DEFAULT_ACCOUNT


def known(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The accounts the store holds, in the order first written; () for a store written by plain SQL (or a
    snapshot from before accounts, which ``compat`` gives an empty table)."""
    rows = con.execute("SELECT name FROM accounts ORDER BY first_seen_at, name").fetchall()
    return tuple(str(r[0]) for r in rows)


@dataclass(frozen=True)
class KeysToday:
    """Today's spend so far as ``/keys`` reports it (``usage_daily``, ``byok_usage_daily``)."""

    as_of: datetime  # the oldest of the accounts' newest fetches: every figure is known at least to here
    usage: float  # credits spent today
    byok: float  # spent on the user's own provider keys today


def keys_today(
    con: duckdb.DuckDBPyConnection,
    today: date,
    accounts: Sequence[str] = (),
    hashes: Sequence[str] | None = None,
) -> KeysToday | None:
    """Today's spend so far of the keys ``hashes`` (every key when None) of ``accounts`` (every account when
    empty), each account's newest ``/keys`` fetch made today summed; None when no such fetch lists any of
    them. The one reading of it: the Overview's headline and the budgets of the account and of keys."""
    rows = con.execute(
        f"""SELECT min(fetched_at), CAST(sum(coalesce(usage_daily, 0)) AS DOUBLE),
                  CAST(sum(coalesce(byok_usage_daily, 0)) AS DOUBLE)
           FROM ({NEWEST_KEY_SNAPSHOTS})
           WHERE {CHOSEN} AND (? OR list_contains(?::VARCHAR[], hash))
           HAVING count(*) > 0""",  # noqa: S608 -- constants
        [today, list(accounts), hashes is None, list(hashes or ())],
    ).fetchall()  # fetchall: a result left unfinished would hold the connection (DuckDB 2)
    return KeysToday(rows[0][0], float(rows[0][1]), float(rows[0][2])) if rows else None
