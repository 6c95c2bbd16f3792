"""The one helper behind every breakdown's rows (queries.parts): the top values, "unattributed" as a row of its
own, the rest as "other", adding up to the total, on the demo store."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from queries.filters import Filters
from queries.parts import OTHER, UNATTRIBUTED
from queries.reads_facts import facts, source_spans
from queries.reads_routing import Dim, route


def test_unattributed_is_a_row_of_its_own_and_other_holds_the_rest(
    snapshot_sql: duckdb.DuckDBPyConnection, demo_today: date
) -> None:
    end = demo_today - timedelta(days=1)
    f = Filters(end - timedelta(days=29), end)
    r = route([Dim.APP], f.start, f.end, source_spans(snapshot_sql), demo_today)
    every = facts(snapshot_sql, r, f, ("app",))
    assert UNATTRIBUTED in set(every["app"]) and len(every) > 4
    top = facts(snapshot_sql, r, f, ("app",), top=("app", 2)).sort_values("rank")
    assert list(top["app"])[2:] == [UNATTRIBUTED, OTHER]
    assert list(top["rank"]) == [1, 2, 3, 4]
    named = every.loc[every["app"] != UNATTRIBUTED].sort_values(["spend", "app"], ascending=[False, True])
    assert list(top["app"])[:2] == list(named["app"])[:2]
    assert int(top.loc[top["app"] == OTHER, "members"].iloc[0]) == len(named) - 2
    for column in ("spend", "byok"):
        assert float(top[column].sum()) == pytest.approx(float(every[column].sum()), rel=1e-12)
    for column in ("requests", "prompt", "completion", "reasoning", "completion_only"):
        assert int(top[column].sum()) == int(every[column].sum())
    # Per day too: every (day, bucket) row, and the days add up to the same total.
    daily = facts(snapshot_sql, r, f, ("date", "app"), top=("app", 2))
    assert set(daily["app"]) <= {*top["app"]}
    assert float(daily["spend"].sum()) == pytest.approx(float(every["spend"].sum()), rel=1e-12)
