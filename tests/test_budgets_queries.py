"""`queries.budgets` on a hand-made store with known numbers: each day from one source, today per key,
BYOK on or off; then an alerts run on it and the Budgets page's reads."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

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

TODAY = date(2026, 11, 20)  # a Friday
NOW = datetime(2026, 11, 20, 12, 30)
A, B = "a" * 64, "b" * 64


def d(n: int) -> date:
    return TODAY - timedelta(days=n)


def activity(model: str, permaslug: str, provider: str, usage: float, byok: float) -> dict[str, Any]:
    return {"model": model, "model_permaslug": permaslug, "endpoint_id": f"ep-{provider}", "provider_name": provider,
            "requests": 1, "prompt_tokens": 1, "completion_tokens": 1, "reasoning_tokens": 0, "usage": usage,
            "byok_usage_inference": byok}  # fmt: skip


def analytics(day: date, dimensions: str, total: float, byok: float = 0.0, **dims: str) -> dict[str, Any]:
    return {"date": day, "dimensions": dimensions, "dim_key": "|".join(dims.values()), "total_usage": total,
            "byok_usage": byok, **dims}  # fmt: skip


def key(hash_: str, name: str, workspace: str, daily: float, byok_daily: float = 0.0) -> dict[str, Any]:
    return {"hash": hash_, "name": name, "label": f"sk-or-v1-{name}", "disabled": False, "usage": 10.0,
            "usage_daily": daily, "byok_usage": 0.0, "byok_usage_daily": byok_daily,
            "workspace_id": workspace}  # fmt: skip


def build(db: Path) -> None:
    """Activity (account: days 1-5 ago, covered 1-30 ago; key A: days 1-3, covered 1-30 ago), analytics
    (account and both keys: days 1-40 ago, deliberately different numbers), apps, members, two /keys
    fetches today and one yesterday, credits and a good ingest."""
    with Writer(db) as writer, writer.transaction() as con:
        for n in range(1, 6):
            rows = [activity("acme/a", "acme/a-1", "Acme", 1.0, 0.5), activity("other/b", "other/b-2", "Other", 2.0, 0)]
            writes.replace_activity_day(con, d(n), [{**r, "date": d(n)} for r in rows], NOW)
        writes.replace_activity_for_key(con, A, [d(n) for n in range(1, 4)],
                                        [{**activity("acme/a", "acme/a-1", "Acme", 1.0, 0), "date": d(n)}
                                         for n in range(1, 4)], NOW)  # fmt: skip
        for scope in ("", A):
            writes.record_coverage(con, source="activity", dimensions="", scope=scope, metrics="", first_day=d(30),
                                   last_day=d(1), fetched_at=NOW, rows_received=1)  # fmt: skip
        rows = []
        for n in range(1, 41):
            rows.append(analytics(d(n), "model", 100.0, 10.0, model="acme/a-1"))
            rows += [analytics(d(n), "api_key_hash,model", 50.0, api_key_hash=h, model="acme/a-1") for h in (A, B)]
        rows += [analytics(d(n), "model,app", 7.0, model="acme/a-1", app="Docs") for n in range(1, 4)]
        rows.append(analytics(d(1), "user", 4.0, user="Dana", user_email="dana@example.test"))
        for dims in ("model", "api_key_hash,model", "model,app", "user"):
            part = [r for r in rows if r["dimensions"] == dims]
            writes.upsert_analytics(con, part, ("total_usage", "byok_usage"), NOW)
        writes.upsert_workspaces(con, [{"id": "w1", "name": "Research", "slug": "research"},
                                       {"id": "w2", "name": "Ops", "slug": "ops"}], NOW)  # fmt: skip
        writes.upsert_api_keys(con, [key(A, "alpha", "w1", 9.0)], datetime(2026, 11, 19, 23), True)
        writes.upsert_api_keys(con, [key(A, "alpha", "w1", 1.0), key(B, "beta", "w2", 2.0)], NOW.replace(hour=8), True)
        writes.upsert_api_keys(con, [key(A, "alpha", "w1", 3.0, 0.5), key(B, "beta", "w2", 4.0)], NOW, True)
        writes.insert_credits(con, NOW, 100.0, 95.0)
        run = writes.start_run(con, "ingest", NOW - timedelta(minutes=5))
        writes.finish_run(con, run, "ok", NOW, 1, 1)


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

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        self.sent.append(message)


def test_an_alerts_run_and_the_budgets_page_reads(tmp_path: Path, store: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    db.write_bytes(store.read_bytes())
    channel = Recorder()
    with Writer(db) as writer:
        result = check(writer, config(), [channel], clock=lambda: NOW)
    # October's analytics days are far over any monthly limit: a past period never alerts. Today's $7.50 so
    # far is a spike against an idle fortnight (median $0), and credits last ~2 days at ~$2.14 a day.
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
    with Writer(db) as writer:
        again = check(writer, config(), [channel], clock=lambda: NOW + timedelta(minutes=30))
    assert again.raised == 0 and again.sent == 0 and len(channel.sent) == 3


def test_unknown_keys_and_workspaces_are_config_errors(tmp_path: Path, store: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    db.write_bytes(store.read_bytes())
    bad = config('[[budget]]\nname = "k"\nscope = "key:nobody"\nperiod = "day"\nlimit_usd = 1\n')
    with Writer(db) as writer, pytest.raises(ConfigError) as info:
        check(writer, bad, [Recorder()], clock=lambda: NOW)
    assert str(info.value).startswith("alerts.toml: budget 'k': scope: no API key named 'nobody'")
    team = config('[teams.t]\nworkspaces = ["Nowhere"]\n')
    with Writer(db) as writer, pytest.raises(ConfigError, match=r"alerts.toml: team 't': workspaces: no workspace"):
        check(writer, team, [Recorder()], clock=lambda: NOW)


def test_page_reads_on_a_store_without_alert_tables(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    try:
        assert q.budget_overview(con, NOW).empty and "used_share" in q.budget_overview(con, NOW).columns
        assert q.alert_history(con).empty and q.failed_deliveries(con).empty
        assert q.spend_by_team(con, d(7), d(1)).empty
    finally:
        con.close()
