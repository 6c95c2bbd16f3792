"""Several OpenRouter accounts in one store (issue 20): two fake accounts behind one fake OpenRouter, ingested by
`OPENROUTER_MANAGEMENT_KEYS`, each alone equal to that account's own data, both together their sum.

Expected values come from each fake data set's own SQL; money is compared with a tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.errors import EXIT_AUTH, OrusageError
from core.settings import load_settings
from fake_openrouter.dataset import Dataset, build
from fake_openrouter.keys import DEMO_MANAGEMENT_KEY, DEMO_SECOND_MANAGEMENT_KEY
from fake_openrouter.server import FakeServer
from orusage.jobs import ingest_once
from queries import accounts
from queries.filters import Filters
from queries.reads_facts import facts, source_spans
from queries.reads_routing import Dim, route
from queries.store import read_snapshot
from tests.fake_fixtures import FAKE_NOW
from tests.helpers import fact_tables, query

CLOCK = FAKE_NOW.replace(tzinfo=None)
TODAY = CLOCK.date()
KEYS = f"main={DEMO_MANAGEMENT_KEY},second={DEMO_SECOND_MANAGEMENT_KEY}"


@pytest.fixture(scope="module")
def second_dataset() -> Dataset:
    return build(FAKE_NOW, second=True)


@pytest.fixture(scope="module")
def both(fake_dataset: Dataset, second_dataset: Dataset) -> Iterator[FakeServer]:
    with FakeServer(fake_dataset, others=(second_dataset,), analytics_rate_per_minute=None) as server:
        yield server


def _ingest(db: Path, server: FakeServer, keys: str = KEYS) -> str:
    settings = load_settings(
        openrouter_management_keys=keys,
        openrouter_base_url=server.base_url,
        orusage_db=db,
        orusage_generations_days=0,
        orusage_http_retries=0,
    )
    return ingest_once(settings, quiet=True, clock=lambda: CLOCK)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, both: FakeServer) -> Path:
    db = tmp_path_factory.mktemp("accounts") / "orusage.duckdb"
    summary = _ingest(db, both)
    assert summary.splitlines()[0].startswith("main: ingest ok")
    assert summary.splitlines()[1].startswith("second: ingest ok")
    return db


def _truth(ds: Dataset, first: date, last: date) -> tuple[int, float]:
    """The fake's own requests and spend (credits + BYOK) on first..last."""
    row = ds.con.execute(
        """SELECT count(*), sum(usage + coalesce(byok_usage_inference, 0)) FROM generations
           WHERE CAST(created_at AS DATE) BETWEEN ? AND ?""",
        [first, last],
    ).fetchone()
    assert row is not None
    return int(row[0]), float(row[1] or 0.0)


def _stored(db: Path, first: date, last: date, chosen: tuple[str, ...] = (), by: tuple[str, ...] = ()) -> Any:
    with read_snapshot(db) as con:
        filters = Filters(first, last, accounts=chosen)
        dims = {Dim.ACCOUNT} if chosen or "account" in by else set()
        r = route(dims, first, last, source_spans(con), TODAY)
        return facts(con, r, filters, by)


@pytest.mark.slow  # a year of analytics for two accounts
@pytest.mark.parametrize("days", [30, 200], ids=["activity window", "analytics year"])
def test_each_account_alone_equals_its_fake_and_both_their_sum(
    store: Path, fake_dataset: Dataset, second_dataset: Dataset, days: int
) -> None:
    first, last = TODAY - timedelta(days=days), TODAY - timedelta(days=1)
    expected = {"main": _truth(fake_dataset, first, last), "second": _truth(second_dataset, first, last)}
    assert expected["main"][1] > 2 * expected["second"][1] > 0  # two accounts that visibly differ
    for name, (requests, spend) in expected.items():
        alone = _stored(store, first, last, (name,))
        assert int(alone["requests"].iloc[0]) == requests
        assert math.isclose(float(alone["spend"].iloc[0]), spend, rel_tol=1e-9)
    together = _stored(store, first, last)
    assert int(together["requests"].iloc[0]) == expected["main"][0] + expected["second"][0]
    assert math.isclose(float(together["spend"].iloc[0]), expected["main"][1] + expected["second"][1], rel_tol=1e-9)
    split = _stored(store, first, last, by=("account",)).set_index("account")
    assert sorted(split.index) == ["main", "second"]
    for name, (requests, spend) in expected.items():
        assert int(split.loc[name, "requests"]) == requests
        assert math.isclose(float(split.loc[name, "spend"]), spend, rel_tol=1e-9)


@pytest.mark.slow  # a year of analytics for two accounts
def test_reference_tables_keep_each_accounts_own(store: Path, fake_dataset: Dataset, second_dataset: Dataset) -> None:
    with read_snapshot(store) as con:
        assert accounts.known(con) == ("main", "second")
    for name, ds in (("main", fake_dataset), ("second", second_dataset)):
        hashes = {h for (h,) in query(store, "SELECT hash FROM api_keys WHERE account = ?", [name])}
        assert hashes == {k.hash for k in ds.account.keys}
        credits = query(
            store, "SELECT total_usage FROM credits WHERE account = ? ORDER BY fetched_at DESC LIMIT 1", [name]
        )
        row = ds.con.execute("SELECT sum(usage) FROM generations").fetchone()
        assert row is not None and math.isclose(credits[0][0], float(row[0]), rel_tol=1e-6)
    # Each account's ingest was recorded as its own run.
    runs = query(store, "SELECT account, status FROM ingest_runs ORDER BY run_id")
    assert runs == [("main", "ok"), ("second", "ok")]


@pytest.mark.slow  # a year of analytics for two accounts
def test_a_second_ingest_of_both_accounts_changes_nothing(store: Path, both: FakeServer) -> None:
    before = fact_tables(store)
    _ingest(store, both)
    assert fact_tables(store) == before


@pytest.mark.slow  # a year of analytics for two accounts
def test_one_accounts_wrong_key_does_not_stop_the_other(both: FakeServer, tmp_path: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    wrong = "sk-or-v1-not-a-key-of-either-account-0000000000000000000000000000000000"
    with pytest.raises(OrusageError) as raised:
        _ingest(db, both, keys=f"broken={wrong},second={DEMO_SECOND_MANAGEMENT_KEY}")
    assert raised.value.exit_code == EXIT_AUTH
    message = str(raised.value)
    assert "account broken:" in message and "second" not in message.split("account broken:")[0]
    assert wrong not in message
    # The second account was still ingested whole.
    rows = query(db, "SELECT account, status FROM ingest_runs ORDER BY run_id")
    assert rows == [("broken", "failed"), ("second", "ok")]
    assert query(db, "SELECT count(*) FROM activity WHERE account = 'second'")[0][0] > 0
    assert query(db, "SELECT count(*) FROM activity WHERE account <> 'second'")[0][0] == 0


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, fake: FakeServer) -> tuple[Path, str]:
    """One account by OPENROUTER_MANAGEMENT_KEY, as before there were accounts: the store and the summary."""
    db = tmp_path_factory.mktemp("single") / "orusage.duckdb"
    settings = load_settings(
        openrouter_management_key=DEMO_MANAGEMENT_KEY,
        openrouter_base_url=fake.base_url,
        orusage_db=db,
        orusage_generations_days=0,
    )
    return db, ingest_once(settings, quiet=True, clock=lambda: CLOCK)


@pytest.mark.slow  # a year of analytics
def test_one_key_alone_is_the_account_default(single: tuple[Path, str], fake_dataset: Dataset) -> None:
    db, summary = single
    assert summary.startswith("ingest ok")  # one account reads exactly as before there were accounts
    assert query(db, "SELECT DISTINCT account FROM activity") == [("default",)]
    first, last = TODAY - timedelta(days=30), TODAY - timedelta(days=1)
    requests, spend = _truth(fake_dataset, first, last)
    stored = _stored(db, first, last)
    assert int(stored["requests"].iloc[0]) == requests
    assert math.isclose(float(stored["spend"].iloc[0]), spend, rel_tol=1e-9)


def test_both_settings_at_once_are_refused(tmp_path: Path) -> None:
    settings = load_settings(
        openrouter_management_key=DEMO_MANAGEMENT_KEY, openrouter_management_keys=KEYS, orusage_db=tmp_path / "x"
    )
    with pytest.raises(OrusageError, match="both set"):
        settings.accounts()


@pytest.mark.parametrize(
    "text,problem",
    [
        ("main", "not NAME=KEY"),
        ("Main=sk-or-v1-x", "account name"),
        ("main=sk-or-v1-x,main=sk-or-v1-y", "named twice"),
        (" , ", "no NAME=KEY"),
    ],
)
def test_bad_account_pairs_are_named_without_the_key(text: str, problem: str, tmp_path: Path) -> None:
    with pytest.raises(OrusageError, match=problem) as raised:
        load_settings(openrouter_management_keys=text, orusage_db=tmp_path / "x")
    assert "sk-or-v1" not in str(raised.value)


def test_a_store_from_before_accounts_keeps_its_rows_as_the_default_account(tmp_path: Path) -> None:
    import duckdb

    from queries import migrations

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    every = migrations.available()
    older = [m for m in every if m.name != "accounts"]
    assert len(older) == len(every) - 1
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                "applied_at TIMESTAMP NOT NULL, duckdb_version VARCHAR NOT NULL)")  # fmt: skip
    for m in older:
        con.execute(m.sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP, ?)", [m.version, m.name, "x"])
    con.execute(
        "INSERT INTO activity VALUES (?, 'm', 'm-1', 'e', 'p', 3, 10, 20, 0, 1.25, 0, now()::TIMESTAMP)",
        [TODAY - timedelta(days=2)],
    )
    con.execute("INSERT INTO credits VALUES (?, 10, 1.25)", [datetime(2026, 11, 1)])
    con.close()
    con = duckdb.connect(str(db))
    assert migrations.migrate(con) == [next(m.version for m in every if m.name == "accounts")]
    assert con.execute("SELECT account, usage FROM activity").fetchall() == [("default", 1.25)]
    assert con.execute("SELECT account FROM credits").fetchall() == [("default",)]
    assert accounts.known(con) == ("default",)
    con.close()


def _budget(tmp_path: Path, scope: str) -> str:
    from orusage.alerts.config import load_config

    path = tmp_path / "config.toml"
    path.write_text(f'[[budget]]\nname = "b"\nscope = {scope}\nperiod = "month"\nlimit_usd = 10\n', encoding="utf-8")
    (budget,) = load_config(path).budgets
    return budget.scope


def test_a_budget_may_count_one_account_or_several(tmp_path: Path) -> None:
    assert _budget(tmp_path, '"account:second"') == "account:second"
    assert _budget(tmp_path, '["account:main", "account:second"]') == "account:main, account:second"
    assert _budget(tmp_path, '"account"') == "account"  # a bare account still means every account


@pytest.mark.parametrize(
    "scope,says",
    [('["account", "account:main"]', "count the same spend twice"), ('"account:Main"', "not an account name")],
)
def test_account_scopes_that_cannot_be(tmp_path: Path, scope: str, says: str) -> None:
    with pytest.raises(OrusageError, match=says):
        _budget(tmp_path, scope)


@pytest.mark.slow  # a year of analytics for two accounts
def test_budgets_count_each_account_alone_and_every_account_together(
    store: Path, fake_dataset: Dataset, second_dataset: Dataset
) -> None:
    from queries import budgets as q

    first, last = TODAY - timedelta(days=90), TODAY - timedelta(days=1)
    with read_snapshot(store) as con:
        main = q.daily_spend(con, q.Scope(q.ACCOUNT, ("main",)), first, last)
        second = q.daily_spend(con, q.Scope(q.ACCOUNT, ("second",)), first, last)
        every = q.daily_spend(con, q.Scope(q.ACCOUNT), first, last)
        today = {
            name: q.today_so_far(con, q.Scope(q.ACCOUNT, names), TODAY)
            for name, names in (("main", ("main",)), ("second", ("second",)), ("every", ()))
        }
    assert math.isclose(sum(main.values()), _truth(fake_dataset, first, last)[1], rel_tol=1e-9)
    assert math.isclose(sum(second.values()), _truth(second_dataset, first, last)[1], rel_tol=1e-9)
    for day in every:
        assert math.isclose(every[day], main[day] + second[day], rel_tol=1e-9, abs_tol=1e-9)
    # Today so far: each account's newest /keys fetch of the day, summed for every account.
    so_far = {name: t.usd for name, t in today.items() if t is not None}
    assert set(so_far) == {"main", "second", "every"}
    assert so_far["main"] > 0 and so_far["second"] > 0
    assert math.isclose(so_far["every"], so_far["main"] + so_far["second"], rel_tol=1e-9)


@pytest.mark.slow  # a year of analytics for two accounts
def test_the_dashboard_shows_each_account_alone_and_both_together(
    store: Path, fake_dataset: Dataset, second_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.dashboard_fixtures import chart_data, metrics, open_app, usd

    first, last = TODAY - timedelta(days=30), TODAY - timedelta(days=1)  # the default range: the last 30 days
    truth = {"main": _truth(fake_dataset, first, last)[1], "second": _truth(second_dataset, first, last)[1]}
    at = open_app(monkeypatch, store, TODAY, "accounts")
    assert usd(metrics(at)["Spend"]) == pytest.approx(truth["main"] + truth["second"], abs=0.01)
    per = chart_data(at, "account_spend").set_index("account")
    for name, spend in truth.items():
        assert float(per.loc[name, "spend"]) == pytest.approx(spend, abs=0.01)
    assert at.sidebar.multiselect(key="f_accounts").options == ["main", "second"]
    left = {}
    for name, ds in (("main", fake_dataset), ("second", second_dataset)):
        alone = open_app(monkeypatch, store, TODAY, "overview", {"accounts": [name]})
        assert usd(metrics(alone)["Spend"]) == pytest.approx(truth[name], abs=0.01)
        # The credits are the chosen account's too: its /credits balance, as the fake keeps it.
        row = ds.con.execute("SELECT sum(usage) FROM generations").fetchone()
        assert row is not None
        left[name] = usd(metrics(alone)["Credits left"])
        assert left[name] == pytest.approx(ds.total_credits - float(row[0]), abs=0.01)
        assert f"account {name}" in next(c.value for c in alone.caption)
    both_accounts = open_app(monkeypatch, store, TODAY, "overview")
    assert usd(metrics(both_accounts)["Credits left"]) == pytest.approx(left["main"] + left["second"], abs=0.02)


@pytest.mark.slow  # a year of analytics for two accounts
def test_the_weekly_review_splits_by_account_once_there_are_two(
    store: Path, fake_dataset: Dataset, second_dataset: Dataset, single: tuple[Path, str]
) -> None:
    from review.load import weekly_review
    from review.weeks import last_complete_week

    week = last_complete_week(TODAY)
    with read_snapshot(store) as con:
        review = weekly_review(con, week, TODAY)
    table = review.movers["account"].table.set_index("value")
    assert sorted(table.index) == ["main", "second"]
    for name, ds in (("main", fake_dataset), ("second", second_dataset)):
        assert float(table.loc[name, "spend"]) == pytest.approx(_truth(ds, review.first, review.last)[1], abs=1e-6)
    assert review.totals.spend is not None
    assert float(table["spend"].sum()) == pytest.approx(review.totals.spend, abs=1e-6)
    # One account: no account section (it would repeat the week's total).
    with read_snapshot(single[0]) as con:
        assert "account" not in weekly_review(con, week, TODAY).movers


def test_doctor_checks_every_accounts_key_and_names_it(both: FakeServer, tmp_path: Path) -> None:
    from tests.helpers import run_cli

    wrong = "sk-or-v1-not-a-key-of-either-account-0000000000000000000000000000000000"
    env = {
        "OPENROUTER_MANAGEMENT_KEYS": f"main={DEMO_MANAGEMENT_KEY},broken={wrong}",
        "OPENROUTER_BASE_URL": both.base_url,
        "ORUSAGE_DB": str(tmp_path / "orusage.duckdb"),
        "ORUSAGE_HTTP_RETRIES": "0",
    }
    result = run_cli(["doctor"], env)
    lines = result.stdout.splitlines()
    assert any(line.startswith("[ok  ] management key (main):") for line in lines), result.stdout
    assert any(line.startswith("[ok  ] analytics (main):") for line in lines), result.stdout
    assert any(line.startswith("[FAIL] management key (broken):") for line in lines), result.stdout
    assert result.returncode == EXIT_AUTH
    for secret in (wrong, DEMO_MANAGEMENT_KEY):
        assert secret not in result.stdout + result.stderr


def test_todays_spend_per_key_reads_each_accounts_newest_fetch(tmp_path: Path) -> None:
    """Accounts are fetched seconds apart: the newest fetch of the store is one account's only."""
    import duckdb

    from queries import budgets as q
    from queries import migrations
    from queries.reads import kpis

    con = duckdb.connect(str(tmp_path / "keys.duckdb"))
    migrations.migrate(con)
    at = CLOCK.replace(hour=9, minute=0, second=0, microsecond=0)
    rows = [  # account, fetched, hash, usage today, BYOK today
        ("main", at, "k-main", 1.0, 0.0),  # an older fetch: replaced by the next
        ("main", at + timedelta(hours=1), "k-main", 2.5, 0.5),
        ("second", at + timedelta(hours=1, seconds=5), "k-second", 4.0, 0.0),
    ]
    for account, fetched, key, usage, byok in rows:
        con.execute(
            """INSERT INTO api_key_snapshots (account, fetched_at, hash, "name", "label", disabled,
                                              usage_daily, byok_usage_daily) VALUES (?, ?, ?, ?, ?, false, ?, ?)""",
            [account, fetched, key, key, key, usage, byok],
        )
    per_key = q.keys_today_so_far(con, TODAY)
    assert per_key is not None and set(per_key) == {"k-main", "k-second"}
    assert math.isclose(per_key["k-main"], 3.0) and math.isclose(per_key["k-second"], 4.0)
    main_key = q.today_so_far(con, q.Scope(q.KEYS, ("k-main",)), TODAY)
    assert main_key is not None and math.isclose(main_key.usd, 3.0)
    every = q.today_so_far(con, q.Scope(q.ACCOUNT), TODAY)
    assert every is not None and math.isclose(every.usd, 7.0)
    assert every.as_of == at + timedelta(hours=1)  # known to the older of the two newest fetches
    headline = kpis(con, TODAY)
    assert headline.today_so_far is not None and math.isclose(headline.today_so_far, 7.0)
    assert headline.today_byok_so_far is not None and math.isclose(headline.today_byok_so_far, 0.5)
    second = kpis(con, TODAY, ("second",))
    assert second.today_so_far is not None and math.isclose(second.today_so_far, 4.0)
    con.close()


def test_one_accounts_missing_days_are_its_own_gap() -> None:
    from queries import coverage_tracks as ct
    from queries.status import CoverageRow

    fetched = CLOCK

    def activity(account: str, first: date, last: date) -> CoverageRow:
        return CoverageRow("activity", "", "", "", first, last, fetched, 10, account)

    window = (TODAY - timedelta(days=30), TODAY - timedelta(days=1))
    rows = [
        activity("main", window[0], window[1]),
        activity("second", window[0], window[0] + timedelta(days=9)),
        activity("second", window[0] + timedelta(days=15), window[1]),
    ]
    gaps = ct.all_gaps(rows, TODAY, {})
    assert [(g.source, g.first_day, g.last_day) for g in gaps] == [
        ("activity (account) of second", window[0] + timedelta(days=10), window[0] + timedelta(days=14))
    ]
    assert [t.name for t in ct.tracks(rows)] == ["activity (account) of main", "activity (account) of second"]
    # One account: the names and gaps are as they always were.
    alone = [activity("default", window[0], window[0] + timedelta(days=9))]
    assert [t.name for t in ct.tracks(alone)] == ["activity (account)"]


@pytest.mark.slow  # a year of analytics for two accounts
def test_the_focus_export_bills_each_row_to_its_account(
    store: Path, fake_dataset: Dataset, second_dataset: Dataset, tmp_path: Path
) -> None:
    import duckdb

    from tests.helpers import run_cli

    first, last = date(2026, 10, 1), date(2026, 10, 31)
    result = run_cli(
        ["export", "--db", str(store), "--format", "focus", "--out", str(tmp_path), "--as", "parquet",
         "--from", first.isoformat(), "--to", last.isoformat()],
        {"ORUSAGE_TODAY": TODAY.isoformat()},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (path,) = sorted(tmp_path.glob("openrouter-focus-*.parquet"))
    con = duckdb.connect()
    found = dict(
        con.sql(
            "SELECT BillingAccountName, sum(BilledCost + x_ByokUpstreamCost) FROM read_parquet(?) GROUP BY ALL",
            params=[str(path)],
        ).fetchall()
    )
    ids = dict(
        con.sql(
            "SELECT DISTINCT BillingAccountName, BillingAccountId FROM read_parquet(?)", params=[str(path)]
        ).fetchall()
    )
    con.close()
    assert set(found) == {"main", "second"}
    for name, ds in (("main", fake_dataset), ("second", second_dataset)):
        assert found[name] == pytest.approx(_truth(ds, first, last)[1], rel=1e-9)
        # Each account billed as its own: its first workspace's id, as the store keeps it.
        default = next(w for w in ds.account.workspaces if w.is_default)
        assert ids[name] == f"openrouter:{default.id}"


def test_import_files_as_one_accounts_and_recognise_them_within_it(second_dataset: Dataset, tmp_path: Path) -> None:
    from fake_openrouter.website_csv import write_website_csv
    from tests.helpers import run_cli

    db, export = tmp_path / "orusage.duckdb", tmp_path / "activity.csv"
    rows = write_website_csv(second_dataset, export, CLOCK - timedelta(days=3), CLOCK - timedelta(days=2))
    assert rows > 0
    done = run_cli(["import", "--db", str(db), "--account", "second", str(export)])
    assert done.returncode == 0, done.stderr
    assert query(db, "SELECT account, count(*) FROM generations GROUP BY ALL") == [("second", rows)]
    assert query(db, "SELECT name FROM accounts") == [("second",)]
    # The same file is recognised as imported before within its account.
    again = run_cli(["import", "--db", str(db), "--account", "second", str(export)])
    assert again.returncode == 0 and "skipped" in again.stdout, again.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("not,an,export\n1,2,3\n", encoding="utf-8")
    refused = run_cli(["import", "--db", str(db), "--account", "other", str(bad)])
    assert refused.returncode == 2
    assert query(db, "SELECT name FROM accounts") == [("second",)]  # a refused import leaves no account
    wrong = run_cli(["import", "--db", str(db), "--account", "Not A Name", str(export)])
    assert wrong.returncode == 2 and "not an account name" in wrong.stderr


@pytest.mark.slow  # every page under several filters, on a year of two accounts
def test_every_breakdown_adds_up_with_two_accounts(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_breakdowns_add_up import run_every_page

    run_every_page(monkeypatch, store, TODAY)
