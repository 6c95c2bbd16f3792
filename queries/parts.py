# ruff: noqa: S608 -- statements are composed from the callers' allowlisted column names; values are bound
"""Every breakdown adds up: the one SQL helper that splits a total into the rows a table or chart shows.

A breakdown by one dimension shows its top ``n`` values by spend, and then, where they exist:

* ``unattributed``: traffic without the dimension (the empty label analytics returns, stored as
  ``unattributed``: no app, key, member …), always a row of its own, never folded into the rest;
* ``other``: the values beyond the top ``n``, summed into one row (``members`` says how many);
* ``unpriced`` (``UNPRICED``): in breakdowns of list prices, the spend of days without a price in force
  (``queries.waterfall``).

So the rows of a breakdown always sum to the total of the same question. Callers put the stored rows in
(``source``: SQL with the dimension's column, the other group columns and the summed metrics); the helper
ranks the values over all of them and folds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

OTHER = "other"
UNATTRIBUTED = "unattributed"
UNPRICED = "unpriced"


def fold_sql(
    source: str,
    params: Sequence[Any],
    column: str,
    n: int,
    others: Sequence[str],
    sums: Sequence[tuple[str, str]],
    rank_by: str = "sum(spend)",
    *,
    materialize: bool = False,
) -> tuple[str, list[Any]]:
    """SQL with one row per (``others``, bucket): the top ``n`` values of ``column`` by ``rank_by`` (an
    aggregate over the rows of one value, e.g. ``sum(spend)``) over all of ``source`` (ranks 1..n),
    ``unattributed`` (rank n + 1) and ``other`` (rank n + 2, the rest).

    ``sums``: (metric, SQL type) pairs to add up. Columns out: ``column``, ``others``, the metrics, ``rank``,
    ``members`` (how many values a row stands for). ``source``'s parameters come twice (ranking, rows).
    ``materialize``: read ``source`` once (a MATERIALIZED CTE) instead of twice: cheaper where it is a few
    hundred rows already summed per value (a third less at 10 M rows), dearer where it is many stored rows.
    """
    metrics = ", ".join(f"CAST(sum({m}) AS {kind}) AS {m}" for m, kind in sums)
    keys = "".join(f"f.{o}, " for o in others)
    head, src = (f"source AS MATERIALIZED ({source}), ", "source") if materialize else ("", f"({source})")
    sql = f"""WITH {head}ranked AS (
                  SELECT {column},
                         CASE WHEN {column} = ? THEN ? + 1
                              ELSE row_number() OVER (PARTITION BY {column} = ? ORDER BY {rank_by} DESC, {column})
                         END AS rank
                  FROM {src} f GROUP BY {column})
              SELECT CASE WHEN bucket <= ? + 1 THEN any_value(f.{column}) ELSE ? END AS {column}, {keys}{metrics},
                     CAST(bucket AS BIGINT) AS rank, CAST(count(DISTINCT f.rank) AS BIGINT) AS members
              FROM (SELECT f.*, rank,
                           CASE WHEN rank <= ? THEN rank WHEN {column} = ? THEN ? + 1 ELSE ? + 2 END AS bucket
                    FROM {src} f JOIN ranked USING ({column})) f
              GROUP BY {keys}bucket
              ORDER BY {keys}rank"""
    if materialize:
        return sql, [*params, UNATTRIBUTED, n, UNATTRIBUTED, n, OTHER, n, UNATTRIBUTED, n, n]
    return sql, [UNATTRIBUTED, n, UNATTRIBUTED, *params, n, OTHER, n, UNATTRIBUTED, n, n, *params]
