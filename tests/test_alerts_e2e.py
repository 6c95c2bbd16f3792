"""End to end on the demo account: a store filled by the real ingest from the fake OpenRouter (clock pinned),
`orusage alerts check` as a user runs it, a webhook receiver and an SMTP server (STARTTLS, AUTH) on loopback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from core.errors import OrusageError
from core.settings import Settings, load_settings
from fake_openrouter.dataset import Dataset
from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from ingest.job import run_ingest
from ingest.pacing import Pacer
from orusage.alerts.runner import DeliveryFailedError, prepare, run_check
from orusage.cli import cli
from orusage.jobs import ingest_once
from queries import budgets as q
from queries.store import NoSnapshotError, Writer, read_snapshot, snapshot_path
from tests.alert_endpoints import (
    SMTP_PASSWORD,
    TOKEN,
    Receiver,
    SmtpServer,
    email_toml,
    free_port,
    running_receiver,
    running_smtp,
)
from tests.fake_fixtures import FAKE_NOW, MANAGEMENT_KEY, start_fake
from tests.helpers import query, run_cli

INGESTED_AT = FAKE_NOW.replace(tzinfo=None)
NOW = INGESTED_AT + timedelta(hours=1)
# Only the rules a test is about: no credits, prices, key hygiene or anomalies (tested on their own).
QUIET_RULES = (
    "[alerts]\ncredits_days = 0\nprice_change_days = 0\nexpiry_days = 0\nkey_no_limit = false\n"
    "key_unused_days = 0\nkey_limit_percent = 0\n\n[anomalies]\nenabled = false\n"
)


@pytest.fixture(scope="module")
def demo_fake(fake_dataset: Dataset) -> Iterator[FakeServer]:
    """The fake OpenRouter on the session's data set, without the spec validation other suites do (speed)."""
    server = start_fake(fake_dataset, validate=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def demo_store(demo_fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo account ingested over HTTP at the fake's pinned time (a month of analytics is plenty)."""
    db = tmp_path_factory.mktemp("alerts-demo") / "orusage.duckdb"
    with Writer(db) as writer, OpenRouterClient(demo_fake.base_url, SecretStr(MANAGEMENT_KEY), retries=0) as client:
        run_ingest(writer, client, clock=lambda: INGESTED_AT, history_days=31, pacer=Pacer(100_000))
    return db


@pytest.fixture
def store(demo_store: Path, tmp_path: Path) -> Path:
    """A copy of the demo store (and its snapshot) for one test to change."""
    db = tmp_path / "orusage.duckdb"
    shutil.copyfile(demo_store, db)
    shutil.copyfile(snapshot_path(demo_store), snapshot_path(db))
    return db


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture(scope="module")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    with running_smtp(tmp_path_factory.mktemp("tls")) as server:
        yield server


def month_spend(db: Path) -> float:
    with read_snapshot(db) as con:
        completed, today = q.period_spend(con, q.Scope(q.ACCOUNT), date(2026, 11, 1), NOW.date())
    assert today is not None and completed > 10  # the demo account spends every day, and today so far is known
    return completed + today.usd


def write_config(folder: Path, limit: float, delivery: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'{QUIET_RULES}\n[[budget]]\nname = "demo-month"\nscope = "account"\nperiod = "month"\nlimit_usd = {limit}\n'
        f"forecast = false\nspike = false\n\n{delivery}",
        encoding="utf-8",
    )
    return path


def env(db: Path, config: Path) -> dict[str, str]:
    return {"ORUSAGE_DB": str(db), "ORUSAGE_CONFIG": str(config), "ORUSAGE_SMTP_PASSWORD": SMTP_PASSWORD,
            "ORUSAGE_NOW": NOW.isoformat()}  # fmt: skip


def channels(receiver: Receiver, smtp: SmtpServer) -> str:
    return f'[delivery.webhook]\nurl = "{receiver.url}"\n\n{email_toml(smtp)}'


def test_check_sends_one_message_per_channel_once(
    store: Path, receiver: Receiver, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    spend = month_spend(store)
    config = write_config(tmp_path, round(spend / 0.85, 2), channels(receiver, smtp_server))
    mails = len(smtp_server.messages)

    printed: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ORUSAGE_NOW", NOW.isoformat())
        preview = run_check(settings_for(store, config), printed.append, dry_run=True)
    assert (preview.raised, preview.sent) == (1, 2)
    assert printed[0].startswith("would send to webhook, email: [raised] Budget 'demo-month' reached 80% (2026-11)")
    assert receiver.bodies == [] and len(smtp_server.messages) == mails
    assert query(store, "SELECT count(*) FROM alerts") == [(0,)]  # the dry run changed nothing

    first = run_cli(["alerts", "check", "--exit-code"], env(store, config))
    assert first.returncode == 1, first.stderr  # alerts were sent
    assert "1 raised, 0 cleared, 2 messages sent" in first.stdout
    assert [b["title"] for b in receiver.bodies] == ["Budget 'demo-month' reached 80% (2026-11)"]
    assert f"${spend:,.2f} of" in receiver.bodies[0]["text"]
    assert [m["Subject"] for m in smtp_server.messages[mails:]] == [
        "[orusage] Budget 'demo-month' reached 80% (2026-11)"
    ]

    second = run_cli(["alerts", "check", "--exit-code"], env(store, config))
    assert second.returncode == 0, second.stderr
    assert "0 raised, 0 cleared, 0 messages sent" in second.stdout
    assert len(receiver.bodies) == 1 and len(smtp_server.messages) == mails + 1

    for text in ("".join(printed), first.stdout + first.stderr, second.stdout + second.stderr):
        assert TOKEN not in text and SMTP_PASSWORD not in text
    assert query(store, "SELECT status, count(*) FROM alerts GROUP BY ALL ORDER BY 1") == [
        ("active", 1),
        ("suppressed", 1),
    ]
    con = duckdb.connect(str(store), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR' "
            "AND table_name IN ('alerts', 'alert_deliveries', 'budget_status')"
        ).fetchall()
        for table, column in tables:
            found = con.execute(f'SELECT count(*) FROM {table} WHERE "{column}" LIKE ?', [f"%{TOKEN}%"]).fetchall()
            assert found == [(0,)], (table, column)
    finally:
        con.close()


def settings_for(db: Path, config: Path) -> Settings:
    return load_settings(orusage_db=db, orusage_config=config, orusage_smtp_password=SecretStr(SMTP_PASSWORD))


def test_a_webhook_that_is_down_is_kept_and_delivered_at_the_next_run(
    store: Path, receiver: Receiver, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, round(month_spend(store) / 0.85, 2), channels(receiver, smtp_server))
    mails = len(smtp_server.messages)
    receiver.status = 503
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ORUSAGE_NOW", NOW.isoformat())
        down = run_check(settings_for(store, config), print)
    with pytest.raises(DeliveryFailedError) as info:
        down.raise_for_failures()
    assert info.value.exit_code == 4
    assert str(info.value).startswith(
        "alerts delivery failed: 1 budgets checked, 1 raised, 0 cleared, 1 messages sent, 1 failed: "
        "webhook: HTTP 503 Service Unavailable: down for maintenance. They are kept and retried at the next run"
    ), str(info.value)
    assert TOKEN not in str(info.value) and len(smtp_server.messages) == mails + 1
    with read_snapshot(store) as con:
        failed = q.failed_deliveries(con)
    assert failed[["channel", "status", "attempts"]].values.tolist() == [["webhook", "failed", 1]]
    assert failed["error"].item() == "HTTP 503 Service Unavailable: down for maintenance"

    receiver.status = 200
    monkey_now = {"ORUSAGE_NOW": (NOW + timedelta(hours=1)).isoformat()}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(*next(iter(monkey_now.items())))
        retried = run_check(settings_for(store, config), print)
    assert (retried.raised, retried.sent, retried.failures) == (0, 1, [])
    assert [b["title"] for b in receiver.bodies] == ["Budget 'demo-month' reached 80% (2026-11)"]
    assert len(smtp_server.messages) == mails + 1  # e-mail was not sent twice
    with read_snapshot(store) as con:
        assert q.failed_deliveries(con).empty
        history = q.alert_history(con, budget="demo-month")
    assert history.loc[history["status"] == "active", "delivered_to"].item() == "email, webhook"


def test_a_raised_limit_is_reevaluated_without_resending(
    store: Path, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORUSAGE_NOW", NOW.isoformat())
    spend = month_spend(store)
    webhook = f'[delivery.webhook]\nurl = "{receiver.url}"\n'
    for limit, sent in ((spend / 0.85, ["80%"]), (spend / 0.6, []), (spend / 0.82, []), (spend / 1.01, ["100%"])):
        config = write_config(tmp_path, round(limit, 2), webhook)
        before = len(receiver.bodies)
        run_check(settings_for(store, config), print)
        assert [b["title"].split(" reached ")[1][:4].strip() for b in receiver.bodies[before:]] == sent, limit


def test_ingest_with_alerts_prints_to_stdout_when_no_channel_is_configured(
    demo_fake: FakeServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, 1, "")
    environment = {**env(tmp_path / "fresh.duckdb", config), "OPENROUTER_BASE_URL": demo_fake.base_url,
                   "OPENROUTER_MANAGEMENT_KEY": MANAGEMENT_KEY, "ORUSAGE_HISTORY_DAYS": "31"}  # fmt: skip
    result = CliRunner().invoke(cli, ["ingest", "--alerts"], env=environment)  # in-process: the CLI's wiring
    assert result.exit_code == 0, result.output
    assert "[raised] Budget 'demo-month' reached 100% (2026-11)" in result.output
    assert "ingest ok:" in result.output and "; alerts ok: 1 budgets checked, 1 raised" in result.output


def test_ingest_alerts_still_run_when_the_ingest_fails(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead OpenRouter (or key) must not silence the stale-data alert."""
    monkeypatch.setenv("ORUSAGE_NOW", (INGESTED_AT + timedelta(hours=30)).isoformat())
    config = write_config(tmp_path, 1_000_000, "[delivery.stdout]\n")
    settings = load_settings(
        orusage_db=store,
        orusage_config=config,
        openrouter_base_url=f"http://127.0.0.1:{free_port()}/api/v1",
        openrouter_management_key=SecretStr(MANAGEMENT_KEY),
        orusage_http_retries=0,
    )
    printed: list[str] = []
    prepared = prepare(settings, printed.append)
    with pytest.raises(OrusageError) as info:
        ingest_once(settings, quiet=True, after=prepared.after_ingest)
    assert info.value.exit_code == 4
    assert [p.splitlines()[0] for p in printed] == ["[raised] Usage data is stale: ingest is not running"]
    assert "No successful `orusage ingest` for 1 d 6 h" in printed[0]


def test_check_needs_an_ingested_store(tmp_path: Path) -> None:
    config = write_config(tmp_path, 10, "")
    with pytest.raises(NoSnapshotError, match="no data yet"):
        run_check(settings_for(tmp_path / "none.duckdb", config), print)
    assert not (tmp_path / "none.duckdb").exists()


def test_mirrored_key_limits_and_teams_on_the_demo_account(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORUSAGE_NOW", NOW.isoformat())
    config = tmp_path / "mirror.toml"
    config.write_text(
        QUIET_RULES.replace("[alerts]\n", "[alerts]\nmirror_key_limits = true\n")
        + '\n[teams.research]\nworkspaces = ["Research"]\n\n[[budget]]\nname = "research"\nscope = "team:research"\n'
        'period = "week"\nlimit_usd = 1000\n',
        encoding="utf-8",
    )
    result = run_check(settings_for(store, config), lambda _: None)
    with read_snapshot(store) as con:
        overview = q.budget_overview(con, NOW).set_index("budget")
        limits = con.execute('SELECT name, "limit", limit_reset FROM api_keys WHERE "limit" IS NOT NULL AND NOT '
                             "disabled AND deleted_at IS NULL").fetchall()  # fmt: skip
        teams = q.spend_by_team(con, date(2026, 11, 1), date(2026, 11, 19))
    assert result.budgets == 1 + len(limits) and limits
    for name, limit, reset in limits:
        row = overview.loc[f"key limit: {name}"]
        assert row["limit_usd"] == pytest.approx(limit) and bool(row["mirrored"])
        assert row["period"] == {"daily": "day", "weekly": "week", "monthly": "month", None: "total"}[reset]
    research = overview.loc["research"]
    assert research["today_usd"] is not None and research["forecast_usd"] >= research["spend_usd"]
    assert teams["team"].tolist() == ["research"] and teams["spend_usd"].item() > 0


def test_stale_data_alert_and_its_recovery_notice_are_each_sent_once(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, 1_000_000, "[delivery.stdout]\n")
    printed: list[str] = []
    for hours in (30, 31, 1, 2):  # stale, still stale, fresh again (as if an ingest had just run), fresh
        monkeypatch.setenv("ORUSAGE_NOW", (INGESTED_AT + timedelta(hours=hours)).isoformat())
        run_check(settings_for(store, config), printed.append)
    assert [p.splitlines()[0] for p in printed] == [
        "[raised] Usage data is stale: ingest is not running",
        "[cleared] Usage data is fresh again",
    ]
    assert query(store, "SELECT kind, status, cleared_at IS NOT NULL FROM alerts") == [("stale", "cleared", True)]
