"""`queries.budgets` on a hand-made store with known numbers: each day from one source, today per key,
BYOK on or off; then an alerts run on it and the Budgets page's reads."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from core.errors import ConfigError
from orusage.alerts.config import Config, parse_config
from orusage.alerts.delivery import Message
from orusage.alerts.runner import check
from queries import budgets as q
from queries import writes
from queries.alert_facts import key_hashes, matching_models, workspace_key_hashes
from queries.store import Writer, read_snapshot
from tests.budget_store import NOW, TODAY, A, B, build, d


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("budgets") / "orusage.duckdb"
    build(db)
    return db


@pytest.fixture
def con(store: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with read_snapshot(store) as connection:
        yield connection


def series(con: duckdb.DuckDBPyConnection, scope: q.Scope, byok: bool = True) -> dict[int, float]:
    return {(TODAY - day).days: v for day, v in q.daily_spend(con, scope, d(40), d(1), byok).items()}


def test_each_day_comes_from_one_source(con: duckdb.DuckDBPyConnection) -> None:
    account = series(con, q.Scope(q.ACCOUNT))
    assert [account[n] for n in (1, 5, 6, 30)] == pytest.approx([3.5, 3.5, 0.0, 0.0])  # covered by activity
    assert [account[n] for n in (31, 40)] == pytest.approx([100.0, 100.0])  # older: analytics
    assert series(con, q.Scope(q.ACCOUNT), byok=False)[1] == pytest.approx(3.0)
    assert series(con, q.Scope(q.ACCOUNT), byok=False)[31] == pytest.approx(90.0)


def test_keys_are_covered_key_by_key(con: duckdb.DuckDBPyConnection) -> None:
    both = series(con, q.Scope(q.KEYS, (A, B)))
    # B has no activity coverage
    assert [both[n] for n in (1, 3, 4, 30, 31)] == pytest.approx([51.0, 51.0, 50.0, 50.0, 100.0])


def test_models_providers_apps_and_members(con: duckdb.DuckDBPyConnection) -> None:
    assert matching_models(con, ["acme/*"]) == ["acme/a-1"] and matching_models(con, ["acme/a"]) == ["acme/a-1"]
    models = series(con, q.Scope(q.MODELS, ("acme/a-1",)))
    assert (models[1], models[31]) == pytest.approx((1.5, 100.0))
    assert series(con, q.Scope(q.PROVIDERS, ("Other",)))[2] == pytest.approx(2.0)
    assert series(con, q.Scope(q.APPS, ("Docs",)))[3] == pytest.approx(7.0)
    assert series(con, q.Scope(q.MEMBERS, ("dana@example.test",)))[1] == pytest.approx(4.0)


def test_today_so_far_is_the_newest_fetch_of_the_day_per_key(con: duckdb.DuckDBPyConnection) -> None:
    for scope, byok, usd in (
        (q.Scope(q.ACCOUNT), True, 7.5),
        (q.Scope(q.ACCOUNT), False, 7.0),
        (q.Scope(q.KEYS, (A,)), True, 3.5),
    ):
        got = q.today_so_far(con, scope, TODAY, include_byok=byok)
        assert got is not None and got.usd == pytest.approx(usd) and got.as_of == NOW
    assert q.today_so_far(con, q.Scope(q.APPS, ("Docs",)), TODAY) is None  # not knowable
    assert q.today_so_far(con, q.Scope(q.ACCOUNT), TODAY + timedelta(days=1)) is None  # no fetch that day
    assert q.period_spend(con, q.Scope(q.ACCOUNT), date(2026, 11, 16), TODAY)[0] == pytest.approx(4 * 3.5)


def test_names_resolve_to_key_hashes(con: duckdb.DuckDBPyConnection) -> None:
    assert key_hashes(con, "alpha") == [A] and key_hashes(con, B) == [B] and key_hashes(con, "nobody") == []
    assert workspace_key_hashes(con, "research") == [A] and workspace_key_hashes(con, "Nowhere") is None


CONFIG = """
[alerts]
price_change_days = 0
expiry_days = 0
credits_days = 30
key_no_limit = false
key_unused_days = 0

[anomalies]
enabled = false

[teams.research]
workspaces = ["Research"]

[teams.docs]
apps = ["Docs"]

[[budget]]
name = "month"
scope = "account"
period = "month"
limit_usd = 60

[[budget]]
name = "today"
scope = "account"
period = "day"
limit_usd = 10
spike = false

[[budget]]
name = "research"
scope = "team:research"
period = "week"
limit_usd = 1000
"""


def config(text: str = CONFIG) -> Config:
    return parse_config(tomllib.loads(text), Path("alerts.toml"))


class Recorder:
    name = "webhook"
    fingerprint = "recorder"

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        self.sent.append(message)


def test_an_alerts_run_and_the_budgets_page_reads(tmp_path: Path, store: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    db.write_bytes(store.read_bytes())
    channel = Recorder()
    result = check(db, config(), [channel], clock=lambda: NOW)
    # October's analytics days are far over any monthly limit: a past period never alerts. Today's $7.50 so
    # far is a spike against an idle fortnight (median $0), and the $5 of credits left last under 30 days.
    kinds = sorted((m.kind, m.budget) for m in channel.sent)
    assert kinds == [("credits", ""), ("spike", "month"), ("threshold", "today")]
    assert result.raised == 3 and result.sent == 3 and not result.failures
    today_alert = next(m for m in channel.sent if m.kind == "threshold")
    assert today_alert.title == "Budget 'today' reached 50% (2026-11-20)"
    with read_snapshot(db) as con:
        overview = q.budget_overview(con, NOW).set_index("budget")
        assert overview.loc["month", "spend_usd"] == pytest.approx(5 * 3.5 + 7.5)
        assert overview.loc["today", "used_share"] == pytest.approx(0.75)
        assert overview.loc["month", "resets_in_hours"] == pytest.approx(10 * 24 + 11.5)
        assert overview.loc["research", "today_usd"] == pytest.approx(3.5)
        assert overview.loc["today", "open_alerts"] == 1
        line = q.budget_forecast(con, "month")
        assert line["date"].min() == date(2026, 11, 1) and line["date"].max() == date(2026, 11, 30)
        assert line.loc[line["date"] == TODAY, "actual_usd"].item() == pytest.approx(5 * 3.5 + 7.5)
        history = q.alert_history(con)
        assert set(history["delivered_to"]) == {"webhook"} and set(history["status"]) == {"active"}
        assert q.failed_deliveries(con).empty
        teams = q.spend_by_team(con, d(40), d(1)).set_index("team")
        assert teams.loc["research", "spend_usd"] == pytest.approx(3 + 10 * 50)  # key A: activity, then analytics
        assert teams.loc["docs", "spend_usd"] == pytest.approx(21.0)
    again = check(db, config(), [channel], clock=lambda: NOW + timedelta(minutes=30))
    assert again.raised == 0 and again.sent == 0 and len(channel.sent) == 3


def test_unknown_keys_and_workspaces_are_config_errors(tmp_path: Path, store: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    db.write_bytes(store.read_bytes())
    bad = config('[[budget]]\nname = "k"\nscope = "key:nobody"\nperiod = "day"\nlimit_usd = 1\n')
    with pytest.raises(ConfigError) as info:
        check(db, bad, [Recorder()], clock=lambda: NOW)
    assert str(info.value).startswith("alerts.toml: budget 'k': scope: no API key named 'nobody'")
    team = config('[teams.t]\nworkspaces = ["Nowhere"]\n')
    with pytest.raises(ConfigError, match=r"alerts.toml: team 't': workspaces: no workspace"):
        check(db, team, [Recorder()], clock=lambda: NOW)


def test_page_reads_on_a_store_without_alert_tables(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    try:
        assert q.budget_overview(con, NOW).empty and "used_share" in q.budget_overview(con, NOW).columns
        assert q.alert_history(con).empty and q.failed_deliveries(con).empty
        assert q.spend_by_team(con, d(7), d(1)).empty
    finally:
        con.close()


def test_a_week_of_an_app_is_evaluated_whole_once_its_sunday_is_final(tmp_path: Path, store: Path) -> None:
    """Apps count through analytics only: the week's last days arrive after it ends, and still count."""
    db = tmp_path / "orusage.duckdb"
    db.write_bytes(store.read_bytes())
    cfg = config(
        CONFIG.split("[[budget]]")[0]
        + '[[budget]]\nname = "docs-week"\nscope = "app:Docs"\nperiod = "week"\nlimit_usd = 30\nthresholds = [100]\n'
        "forecast = false\nspike = false\n"
    )
    channel = Recorder()
    check(db, cfg, [channel], clock=lambda: NOW)  # Friday of 2026-W47: $21 so far, under $30
    assert [m.title for m in channel.sent if m.budget == "docs-week"] == []
    monday = datetime(2026, 11, 23, 7, 0)  # the first run after Sunday's analytics are final
    with Writer(db) as writer, writer.transaction() as con:
        days = [TODAY, TODAY + timedelta(days=1), TODAY + timedelta(days=2)]
        rows = [{"date": day, "dimensions": "model,app", "dim_key": f"acme/a-1|Docs|{day}", "total_usage": 7.0,
                 "byok_usage": 0.0, "model": "acme/a-1", "app": "Docs"} for day in days]  # fmt: skip
        writes.upsert_analytics(con, rows, ("total_usage", "byok_usage"), monday)
        span = {"first_day": days[0], "last_day": days[-1], "fetched_at": monday, "rows_received": 3}
        for grouping in ("model,app", "model"):
            writes.record_coverage(con, source="analytics", dimensions=grouping, scope="", metrics="long", **span)
    check(db, cfg, [channel], clock=lambda: monday)
    ended = [m for m in channel.sent if m.budget == "docs-week"]
    assert [m.title for m in ended] == ["Budget 'docs-week' ended 2026-W47 at $42.00 of $30.00"]
    assert "(140%, over by $12.00)" in ended[0].text
    check(db, cfg, [channel], clock=lambda: monday + timedelta(hours=1))
    assert len([m for m in channel.sent if m.budget == "docs-week"]) == 1  # done once


def test_spend_on_a_model_is_not_projected_past_its_expiration_date(tmp_path: Path, store: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    db.write_bytes(store.read_bytes())
    gone = TODAY + timedelta(days=4)  # acme/a-1 expires on Tuesday 2026-11-24
    with Writer(db) as writer, writer.transaction() as con:
        writes.upsert_models(con, [{"canonical_slug": "acme/a-1", "id": "acme/a", "name": "A",
                                    "expiration_date": gone.isoformat()}], NOW)  # fmt: skip
    cfg = config(
        CONFIG.split("[[budget]]")[0]
        + '[[budget]]\nname = "a"\nscope = "model:acme/*"\nperiod = "month"\nlimit_usd = 1000\nspike = false\n'
    )
    check(db, cfg, [Recorder()], clock=lambda: NOW)
    with read_snapshot(db) as con:
        days = q.budget_forecast(con, "a").set_index("date")["forecast_usd"].dropna()
    steps = days.diff().dropna()
    assert (steps[[d for d in steps.index if d < gone]] > 0).all()  # it is projected until the day before
    assert (steps[[d for d in steps.index if d >= gone]] == 0).all()  # and not from its expiration on


def test_today_so_far_is_judged_pro_rata_with_its_driver(tmp_path: Path, store: Path) -> None:
    """acme/a-1 usually spends $0 on a Friday; $5 by 12:30 (half a day in) is on course for over $9."""
    from queries import hourly

    db = tmp_path / "orusage.duckdb"
    db.write_bytes(store.read_bytes())
    start = datetime.combine(TODAY, datetime.min.time())
    by_model = [{"hour": start + timedelta(hours=h), "dimensions": "model", "dim_key": "acme/a-1",
                 "model": "acme/a-1", "total_usage": 1.0} for h in range(7, 12)]  # fmt: skip
    eleven = start + timedelta(hours=11)
    by_app = [
        {"hour": eleven, "dimensions": "model,app", "dim_key": f"acme/a-1|{app}", "model": "acme/a-1", "app": app,
         "total_usage": usd}
        for app, usd in (("Docs", 4.0), ("Other", 1.0))
    ]  # fmt: skip
    yesterday = start - timedelta(days=1)
    with Writer(db) as writer, writer.transaction() as con:
        hourly.replace_hourly(con, [("model", yesterday, by_model, 5), ("model,app", yesterday, by_app, 2)], NOW)
    quiet = "[alerts]\nprice_change_days = 0\nexpiry_days = 0\ncredits_days = 0\nstale_hours = 0\n"
    cfg = config(quiet + 'key_no_limit = false\nkey_unused_days = 0\n\n[anomalies]\ndimensions = ["model"]\n')
    channel = Recorder()
    check(db, cfg, [channel], clock=lambda: NOW)
    # (Thursday and Wednesday, complete, are anomalies of their own: $1.50 after weeks of nothing.)
    (found,) = [m for m in channel.sent if m.kind == "anomaly" and "today" in m.text]
    assert found.title == "Model acme/a-1 at $9.60, usually $0 on Fridays, mostly from app 'Docs'"
    assert "spent $5.00 today by 12:30 UTC, on course for $9.60 (provisional: analytics settle within 6 h)" in (
        found.text
    )
