"""Secrets stay secret: after a full run with sentinel keys, no key in the output, the logs, any VARCHAR
column, the database, WAL or snapshot files, exception messages, or what the dashboard serves."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from fake_openrouter.server import FakeServer
from queries.store import snapshot_path
from tests.dashboard_session import pages
from tests.fake_fixtures import API_KEY, MANAGEMENT_KEY
from tests.helpers import REPO, run_cli

WRONG_SENTINEL = "sk-or-v1-SENTINEL-wrong-0123456789abcdef"
# Webhook URLs carry tokens: secrets too. Port 9 on loopback refuses, so their deliveries fail (and say so).
WEBHOOK_SENTINEL = "SENTINEL-webhook-token-0123456789abcdef"
SLACK_SENTINEL = "SENTINEL-slack-token-0123456789abcdef"
SENTINELS = (MANAGEMENT_KEY, API_KEY, WRONG_SENTINEL, WEBHOOK_SENTINEL, SLACK_SENTINEL)
ALERTS_CONFIG = f"""
[[budget]]
name = "tiny"
scope = "account"
period = "month"
limit_usd = 0.01

[delivery.webhook]
url = "http://127.0.0.1:9/hooks/{WEBHOOK_SENTINEL}"

[delivery.slack]
"""


def _env(server: FakeServer, db: Path, key: str = MANAGEMENT_KEY) -> dict[str, str]:
    return {
        "OPENROUTER_BASE_URL": server.base_url,
        "OPENROUTER_MANAGEMENT_KEY": key,
        "OPENROUTER_API_KEY": API_KEY,
        "ORUSAGE_DB": str(db),
        "ORUSAGE_HISTORY_DAYS": "31",
    }


@pytest.fixture(scope="module")
def run_output(fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("secrets") / "orusage.duckdb"
    outputs = []
    for args in (["-v", "ingest"], ["status"], ["status", "--json"], ["doctor"]):
        result = run_cli(args, _env(fake, db))
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    wrong = run_cli(["-v", "ingest"], _env(fake, db, WRONG_SENTINEL))
    assert wrong.returncode == 3
    outputs.append(wrong.stdout + wrong.stderr)
    # Alerts through webhooks that fail, and the weekly report in every format (files beside the store,
    # which test_no_key_in_the_files reads byte by byte).
    config = tmp_path_factory.mktemp("config") / "alerts.toml"  # where the user keeps it: not beside the store
    config.write_text(ALERTS_CONFIG)
    env = {
        **_env(fake, db),
        "ORUSAGE_CONFIG": str(config),
        "ORUSAGE_SLACK_WEBHOOK_URL": f"http://127.0.0.1:9/{SLACK_SENTINEL}",
    }
    alerts = run_cli(["-v", "alerts", "check"], env)
    assert alerts.returncode == 4 and "failed" in alerts.stderr, alerts.stderr  # delivered nowhere, and said so
    outputs.append(alerts.stdout + alerts.stderr)
    for kind in ("html", "md", "json"):
        report = run_cli(["-v", "report", "weekly", "--out", str(db.parent / f"weekly.{kind}"), "--send"], env)
        assert report.returncode == 4, report.stderr  # written, then not delivered: the webhooks refuse
        assert (db.parent / f"weekly.{kind}").stat().st_size > 1000
        outputs.append(report.stdout + report.stderr)
    return db, "\n".join(outputs)


@pytest.mark.reliability("secret")
def test_no_key_in_output_logs_or_error_messages(run_output: tuple[Path, str]) -> None:
    _, text = run_output
    assert "done:" in text  # verbose logging was on: the check is not vacuous
    assert "HTTP Request" not in text  # httpx logs no URL (webhook URLs carry tokens), -v or not
    for sentinel in SENTINELS:
        assert sentinel not in text
        assert sentinel[-16:] not in text


@pytest.mark.reliability("secret")
def test_no_key_in_any_varchar_column(run_output: tuple[Path, str]) -> None:
    db, _ = run_output
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
        ).fetchall()
        assert len(columns) > 20
        for table, column in columns:
            for sentinel in SENTINELS:
                hits = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE contains("{column}", ?)', [sentinel[-16:]]
                ).fetchone()
                assert hits == (0,), f"{table}.{column} holds a key"
    finally:
        con.close()


@pytest.mark.reliability("secret")
def test_no_key_in_the_files(run_output: tuple[Path, str]) -> None:
    db, _ = run_output
    files = [p for p in db.parent.iterdir() if p.is_file()]
    assert snapshot_path(db) in files
    for path in files:
        data = path.read_bytes()
        for sentinel in SENTINELS:
            assert sentinel.encode() not in data, path.name


@pytest.mark.reliability("secret")
def test_no_key_in_the_finance_files(run_output: tuple[Path, str], tmp_path: Path) -> None:
    """The FOCUS export (every format) and the chargeback report carry key hashes and names, never a key."""
    db, _ = run_output
    env = {"ORUSAGE_DB": str(db), "OPENROUTER_MANAGEMENT_KEY": MANAGEMENT_KEY}
    for extra in ([], ["--compress"], ["--as", "parquet"]):
        result = run_cli(
            ["export", "--format", "focus", "--out", str(tmp_path), "--from", "2026-10-21", *extra], env=env
        )
        assert result.returncode == 0, result.stderr
    report = run_cli(["report", "chargeback", "--format", "json", "--out", str(tmp_path / "chargeback.json")], env=env)
    assert report.returncode == 0, report.stderr
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert len(files) >= 4
    for path in files:
        data = path.read_bytes()
        for sentinel in SENTINELS:
            assert sentinel.encode() not in data and sentinel[-16:].encode() not in data, path.name


@pytest.mark.reliability("secret")
def test_the_dashboard_never_shows_a_key(run_output: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = run_output
    monkeypatch.setenv("ORUSAGE_DB", str(db))
    monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", MANAGEMENT_KEY)  # even if it leaks into its environment
    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=60).run()
    for file, _title in pages():
        at.switch_page(file).run()
        assert not at.exception, file
        rendered = repr([el for el in at.main]) + repr([el for el in at.sidebar])
        assert len(rendered) > 1000, file
        for sentinel in SENTINELS:
            assert sentinel not in rendered and sentinel[-16:] not in rendered, file


@pytest.mark.reliability("secret")
def test_the_dashboard_process_is_started_without_keys() -> None:
    from orusage.serve import dashboard_env

    os.environ["OPENROUTER_MANAGEMENT_KEY"] = MANAGEMENT_KEY
    try:
        env = dashboard_env(Path("/tmp/x.duckdb"))
    finally:
        del os.environ["OPENROUTER_MANAGEMENT_KEY"]
    assert "OPENROUTER_MANAGEMENT_KEY" not in env and "OPENROUTER_API_KEY" not in env
