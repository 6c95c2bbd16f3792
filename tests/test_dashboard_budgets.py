"""The Budgets page (Streamlit AppTest) on a store whose budgets `orusage alerts check` evaluated, checked
against the tests' own SQL on the snapshot; its empty state on a store never evaluated; and the Weekly
review page reached through the app's navigation."""

from __future__ import annotations

import shutil
from datetime import datetime, time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from queries.store import snapshot_path
from tests.dashboard_fixtures import APP, run_app, texts
from tests.helpers import query, run_cli

NOW = "2026-11-20T15:30:00"
TODAY = "2026-11-20"


def _open(monkeypatch: pytest.MonkeyPatch, db: Path, page: str, config: Path | None = None) -> AppTest:
    monkeypatch.setenv("ORUSAGE_DB", str(db))
    monkeypatch.setenv("ORUSAGE_TODAY", TODAY)
    monkeypatch.setenv("ORUSAGE_NOW", NOW)
    if config is None:
        monkeypatch.delenv("ORUSAGE_CONFIG", raising=False)
    else:
        monkeypatch.setenv("ORUSAGE_CONFIG", str(config))
    at = run_app(AppTest.from_file(str(APP), default_timeout=60))
    at.switch_page(page)
    return run_app(at)


@pytest.fixture(scope="module")
def evaluated(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of ``demo_db`` whose budgets the real CLI evaluated, and its config."""
    folder = tmp_path_factory.mktemp("budgets")
    copy = folder / "orusage.duckdb"
    shutil.copy(demo_db, copy)
    snap = snapshot_path(demo_db)
    if snap.exists():
        shutil.copy(snap, snapshot_path(copy))
    key = query(copy, "SELECT name FROM api_keys WHERE name IS NOT NULL ORDER BY usage DESC, hash LIMIT 1")[0][0]
    cfg = folder / "config.toml"
    cfg.write_text(
        f'[teams.core]\nkeys = ["{key}"]\n\n'
        '[[budget]]\nname = "account-monthly"\nscope = "account"\nperiod = "month"\nlimit_usd = 1\n\n'
        '[[budget]]\nname = "core-weekly"\nscope = "team:core"\nperiod = "week"\nlimit_usd = 100000\n\n'
        "[delivery.stdout]\n"
    )
    result = run_cli(
        ["alerts", "check", "--db", str(copy), "--config", str(cfg)],
        {"ORUSAGE_NOW": NOW, "ORUSAGE_TODAY": TODAY},
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return copy, cfg


def test_progress_bars_match_the_stored_evaluation(
    monkeypatch: pytest.MonkeyPatch, evaluated: tuple[Path, Path]
) -> None:
    db, cfg = evaluated
    rows = query(
        snapshot_path(db), "SELECT budget, spend_usd, limit_usd, period_end FROM budget_status ORDER BY budget"
    )
    assert {r[0] for r in rows} == {"account-monthly", "core-weekly"}
    at = _open(monkeypatch, db, "nav/budgets.py", cfg)
    bars = {str(p.proto.text).split(":")[0]: p for p in at.get("progress")}
    for budget, spend, limit, period_end in rows:
        bar = bars[budget]
        assert int(bar.proto.value) / 100 == pytest.approx(min(max(spend / limit, 0.0), 1.0), abs=0.01)  # shown in %
        text = str(bar.proto.text)
        assert f"${spend:,.2f}" in text and f"${limit:,.2f}" in text, text
        left = datetime.combine(period_end, time.min) - datetime.fromisoformat(NOW)
        hours, minutes = divmod(int(left.total_seconds()) // 60 % (24 * 60), 60)
        said = f"{left.days} d {hours} h" if left.days else f"{hours} h {minutes} min"
        assert f"resets in {said}" in texts(at), said  # as the CLI says it, to the hour
    page = texts(at)
    # The monthly budget of $1 is over: since the first day its running spend passed $1 (the tests' own SQL).
    (spend, limit, since), *_ = query(
        snapshot_path(db),
        """SELECT s.spend_usd, s.limit_usd, min(f.date) FROM budget_status s JOIN budget_forecast f USING (budget)
           WHERE s.budget = 'account-monthly' AND f.actual_usd >= s.limit_usd GROUP BY ALL""",
    )
    assert f"Over by ${spend - limit:,.2f} since {since}." in page
    assert "At this pace the limit is crossed" not in page and "$-" not in page
    assert str(cfg) in page  # the one source of truth, named
    assert "Alerts sent" in page
    alerts = query(snapshot_path(db), "SELECT count(*) FROM alerts WHERE status <> 'suppressed'")[0][0]
    assert alerts >= 1  # the account budget of $1 is crossed
    assert "account-monthly" in "".join(str(d.value["budget"].tolist()) for d in at.dataframe if "budget" in d.value)
    teams = [d.value for d in at.dataframe if "team" in d.value.columns]
    assert teams and teams[0]["team"].tolist() == ["core"]
    assert not at.exception


def test_empty_state_when_no_budget_was_evaluated(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    at = _open(monkeypatch, demo_db, "nav/budgets.py")
    page = texts(at)
    assert "No budget has been evaluated yet" in page
    assert "orusage alerts check" in page
    assert not at.get("progress")


def test_weekly_review_is_in_the_navigation(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    at = _open(monkeypatch, demo_db, "nav/weekly.py")
    assert not at.exception
    assert any(t.value == "Weekly review" for t in at.title)
