"""Reads for the API keys page: each key's limit, reset period and usage as ``/keys`` last reported it.

These are the account's state at the newest ``/keys`` fetch, not a function of the date range. Deleted keys
(``deleted_at``: no longer listed) stay, so their history keeps a name.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

# usage for the period a limit resets on; total usage when it never resets. BYOK counts only when the key
# says so (include_byok_in_limit).
PERIOD_USAGE = """
    CASE limit_reset WHEN 'daily' THEN coalesce(usage_daily, 0)
                              + CASE WHEN include_byok_in_limit THEN coalesce(byok_usage_daily, 0) ELSE 0 END
                     WHEN 'weekly' THEN coalesce(usage_weekly, 0)
                              + CASE WHEN include_byok_in_limit THEN coalesce(byok_usage_weekly, 0) ELSE 0 END
                     WHEN 'monthly' THEN coalesce(usage_monthly, 0)
                              + CASE WHEN include_byok_in_limit THEN coalesce(byok_usage_monthly, 0) ELSE 0 END
                     ELSE coalesce(usage, 0) + CASE WHEN include_byok_in_limit THEN coalesce(byok_usage, 0) ELSE 0 END
    END"""


def key_limits(con: duckdb.DuckDBPyConnection, now: datetime) -> pd.DataFrame:
    """One row per key ever listed, biggest total usage first.

    Columns: hash, name, label, workspace (name), status (``active``, ``disabled``, ``expired``,
    ``deleted``), limit, limit_reset (``daily``/``weekly``/``monthly``, or NULL: never resets),
    period_usage (usage counted against the limit in its reset period), used_share (period_usage / limit,
    NULL without a limit), limit_remaining, usage, byok_usage, usage_daily/weekly/monthly,
    include_byok_in_limit, created_at, expires_at, deleted_at, last_seen_at. ``now`` (naive UTC) decides
    what has expired.
    """
    frame: pd.DataFrame = (
        con.sql(
            f"""SELECT k.hash, k.name, k.label, w.name AS workspace,
                       CASE WHEN k.deleted_at IS NOT NULL THEN 'deleted'
                            WHEN k.expires_at IS NOT NULL AND k.expires_at <= ? THEN 'expired'
                            WHEN k.disabled THEN 'disabled' ELSE 'active' END AS status,
                       k."limit", k.limit_reset,
                       CAST({PERIOD_USAGE} AS DOUBLE) AS period_usage,
                       CAST(CASE WHEN k."limit" > 0 THEN ({PERIOD_USAGE}) / k."limit" END AS DOUBLE) AS used_share,
                       k.limit_remaining, k.usage, k.byok_usage, k.usage_daily, k.usage_weekly, k.usage_monthly,
                       k.include_byok_in_limit, k.created_at, k.expires_at, k.deleted_at, k.last_seen_at
                FROM api_keys k LEFT JOIN workspaces w ON w.id = k.workspace_id AND w.account = k.account
                ORDER BY k.deleted_at IS NOT NULL, k.usage DESC NULLS LAST, k.name""",  # noqa: S608 -- constant
            params=[now],
        )
        .to_arrow_table()
        .to_pandas()
    )
    return frame
