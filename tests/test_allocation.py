"""The one team allocation (queries.allocation): the rules on a store whose answer is known by hand, and on
the demo account against independent SQL (team lines + unallocated = the account's spend, for any range)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from queries import allocation
from queries.filters import Filters
from queries.store import read_snapshot
from tests import allocation_store as S
from tests.focus_fixtures import TODAY


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


@pytest.fixture
def tiny_con(tiny_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with read_snapshot(tiny_db) as con:
        yield con


def _per_team(con: duckdb.DuckDBPyConnection, first: date, last: date, today: date, **kw: object) -> dict[str, float]:
    frame = allocation.allocate(con, first, last, today, by=("team",), **kw)  # type: ignore[arg-type]
    return {str(t): float(s) for t, s in zip(frame["team"], frame["spend"], strict=True)}


@pytest.mark.parametrize("day", [S.D0, S.D1, S.D2])
def test_rules_give_the_hand_computed_answer(tiny_con: duckdb.DuckDBPyConnection, day: date) -> None:
    got = _per_team(tiny_con, day, day, S.TODAY)
    assert set(got) == set(S.EXPECTED[day]), got
    for team, spend in S.EXPECTED[day].items():
        assert close(got[team], spend), (team, got[team], spend)
    assert close(sum(got.values()), S.ACCOUNT[day])


def test_a_key_in_two_teams_goes_to_the_first_by_name(tiny_con: duckdb.DuckDBPyConnection) -> None:
    got = _per_team(tiny_con, S.D0, S.D2, S.TODAY)
    assert "zeta" not in got and close(got["alpha"], 9.0)
    kinds = allocation.team_kinds(tiny_con).set_index("team")
    assert int(kinds.loc["zeta", "overlaps"]) == 1 and int(kinds.loc["alpha", "overlaps"]) == 0


def test_parts_of_each_key_add_up_to_the_key(tiny_con: duckdb.DuckDBPyConnection) -> None:
    """Exclusive at the key: whatever rules split a key's spend, its parts add up to exactly its spend."""
    frame = allocation.allocate(tiny_con, S.D1, S.D1, S.TODAY, by=("key", "team", "rule"))
    for key, values in S.cells(S.D1).items():
        rows = frame.loc[frame["key"].isna()] if key is None else frame.loc[frame["key"] == key]
        assert close(float(rows["spend"].sum()), values[4] + values[5]), key
        assert close(float(rows["byok"].sum()), values[5]), key
        assert close(float(rows["prompt"].sum()), values[1]), key
    k3 = frame.loc[frame["key"] == S.K3].set_index("team")
    assert set(k3["rule"]) == {"app", "member"} and close(float(k3.loc["gamma", "spend"]), 2 * 3.5 / 6)
    assert close(float(k3.loc["beta", "spend"]), 2 * 2.5 / 6)


def test_exact_and_estimated_parts_are_told_apart(tiny_con: duckdb.DuckDBPyConnection) -> None:
    frame = allocation.allocate(tiny_con, S.D1, S.D1, S.TODAY, by=("team",)).set_index("team")
    assert close(float(frame.loc["alpha", "exact_spend"]), 4.0)  # whole key: exact
    assert float(frame.loc["beta", "exact_spend"]) == 0.0  # a share of other keys: an estimate


def test_filters_by_key_model_and_workspace(tiny_con: duckdb.DuckDBPyConnection) -> None:
    only_k3 = _per_team(tiny_con, S.D1, S.D1, S.TODAY, filters=Filters(S.D1, S.D1, keys=(S.K3,)))
    assert close(sum(only_k3.values()), 2.0) and close(only_k3["gamma"], 2 * 3.5 / 6)
    in_workspace = _per_team(tiny_con, S.D1, S.D1, S.TODAY, filters=Filters(S.D1, S.D1, workspace=S.WORKSPACE))
    assert close(sum(in_workspace.values()), 9.0)  # the unknown key's $1 is in no workspace
    other_model = _per_team(tiny_con, S.D1, S.D1, S.TODAY, filters=Filters(S.D1, S.D1, models=("x/none",)))
    assert other_model == {}
    assert allocation.unfilterable(Filters(S.D1, S.D1, apps=(S.APP,))) == (allocation.Dim.APP,)


def test_no_teams_means_everything_is_unallocated(tmp_path: Path) -> None:
    db = S.write(tmp_path / "orusage.duckdb", teams=())
    with read_snapshot(db) as con:
        got = _per_team(con, S.D0, S.D2, S.TODAY)
    assert set(got) == {allocation.UNALLOCATED} and close(got[allocation.UNALLOCATED], sum(S.ACCOUNT.values()))


# ---- the demo account ------------------------------------------------------------------------------------


def independent_spend(con: duckdb.DuckDBPyConnection, first: date, last: date) -> float:
    """The account's spend by hand: /activity on the days it covers for the account, analytics by model on
    the others (docs/definitions.md)."""
    row = con.execute(
        """WITH act_days AS (
               SELECT DISTINCT CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE) d
               FROM coverage WHERE source = 'activity' AND scope = '')
           SELECT (SELECT coalesce(sum(usage + byok_usage_inference), 0) FROM activity
                   WHERE date BETWEEN ? AND ? AND date IN (SELECT d FROM act_days))
                + (SELECT coalesce(sum(total_usage), 0) FROM analytics_daily
                   WHERE dimensions = 'model' AND date BETWEEN ? AND ? AND date NOT IN (SELECT d FROM act_days))""",
        [first, last, first, last],
    ).fetchall()[0]
    return float(row[0])


def independent_key_spend(con: duckdb.DuckDBPyConnection, keys: list[str], first: date, last: date) -> float:
    """Keys' spend by hand: /activity per key on the days it covers for the key, analytics per key otherwise."""
    row = con.execute(
        """WITH act AS (
               SELECT DISTINCT scope, CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE) d
               FROM coverage WHERE source = 'activity' AND scope <> '')
           SELECT (SELECT coalesce(sum(usage + byok_usage_inference), 0) FROM activity_by_key a
                   WHERE list_contains(?, api_key_hash) AND date BETWEEN ? AND ?
                     AND EXISTS (SELECT 1 FROM act WHERE act.scope = a.api_key_hash AND act.d = a.date))
                + (SELECT coalesce(sum(total_usage), 0) FROM analytics_daily a
                   WHERE dimensions = 'api_key_hash,model' AND list_contains(?, api_key_hash) AND date BETWEEN ? AND ?
                     AND NOT EXISTS (SELECT 1 FROM act WHERE act.scope = a.api_key_hash AND act.d = a.date))""",
        [keys, first, last, keys, first, last],
    ).fetchall()[0]
    return float(row[0])


RANGES = [
    (date(2026, 10, 1), date(2026, 10, 31)),  # the last complete month: activity and analytics
    (date(2025, 11, 21), date(2026, 11, 19)),  # a year
    (date(2026, 11, 19), date(2026, 11, 19)),  # one day
    (date(2025, 6, 1), date(2025, 6, 30)),  # before anything stored
]


@pytest.mark.parametrize(("first", "last"), RANGES)
def test_team_lines_and_unallocated_add_up_to_the_account(teams_db: Path, first: date, last: date) -> None:
    with read_snapshot(teams_db) as con:
        got = _per_team(con, first, last, TODAY)
        expected = independent_spend(con, first, last)
    assert abs(sum(got.values()) - expected) <= 1e-6, (got, expected)
    if expected:
        assert {"research", "support", "contractors", allocation.UNALLOCATED} <= set(got)


def test_key_team_gets_exactly_its_keys(teams_db: Path) -> None:
    first, last = date(2026, 10, 1), date(2026, 10, 31)
    with read_snapshot(teams_db) as con:
        keys = [str(r[0]) for r in con.execute("SELECT value FROM cost_centres WHERE team = 'research'").fetchall()]
        got = _per_team(con, first, last, TODAY)
        expected = independent_key_spend(con, keys, first, last)
    assert len(keys) == 3  # notebooks, eval-harness and the Research workspace's keys (data-pipeline)
    assert close(got["research"], expected, 1e-9)


def test_app_team_gets_its_apps_when_no_key_team_runs_them(teams_db: Path) -> None:
    """The demo's support apps run on keys of no key team: the app rule is then exact."""
    first, last = date(2026, 10, 1), date(2026, 10, 31)
    with read_snapshot(teams_db) as con:
        got = _per_team(con, first, last, TODAY)
        row = con.execute(
            """SELECT sum(total_usage) FROM analytics_daily WHERE dimensions = 'model,app'
               AND app IN ('Acme Support Bot', 'Docs Assistant') AND date BETWEEN ? AND ?""",
            [first, last],
        ).fetchall()[0]
    assert close(got["support"], float(row[0]), 1e-9)


def test_member_team_gets_part_of_its_members_keys_only(teams_db: Path) -> None:
    first, last = date(2026, 10, 1), date(2026, 10, 31)
    with read_snapshot(teams_db) as con:
        frame = allocation.allocate(con, first, last, TODAY, by=("team", "key"))
        (mobile,) = [str(r[0]) for r in con.execute("SELECT hash FROM api_keys WHERE name = 'mobile-app'").fetchall()]
        mobile_spend = independent_key_spend(con, [mobile], first, last)
    contractors = frame.loc[frame["team"] == "contractors"]
    assert set(contractors["key"]) == {mobile}
    on_mobile = frame.loc[frame["key"] == mobile]
    assert close(float(on_mobile["spend"].sum()), mobile_spend, 1e-9)
    assert 0 < float(contractors["spend"].sum()) <= mobile_spend
