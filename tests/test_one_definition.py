"""One definition per figure: cache savings and the month-end forecast read from every surface that shows
them — the Overview, the Models page, the Budgets page, the weekly review's JSON and the CLI's report — are
the same figure, on a copy of the demo store whose budgets the real `orusage alerts check` evaluated."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from orusage.demo import DEMO_CONFIG
from queries.store import snapshot_path
from review.weeks import last_complete_week
from tests.dashboard_fixtures import metrics, open_app
from tests.fake_fixtures import FAKE_NOW
from tests.helpers import query, run_cli

MONEY = re.compile(r"−?\$[\d,]+\.\d+")


def amount(text: str) -> float:
    """A money figure as the pages print it (core.fmt.usd: "$1,234.56", "−$1.66")."""
    found = MONEY.search(text)
    assert found, text
    return float(found.group(0).replace("−", "-").replace("$", "").replace(",", ""))


@pytest.fixture(scope="module")
def store(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the demo store (the session's is shared) with the demo's budgets evaluated at the fake's now."""
    folder = tmp_path_factory.mktemp("one-definition")
    db = folder / demo_db.name
    shutil.copy(demo_db, db)
    shutil.copy(snapshot_path(demo_db), snapshot_path(db))
    config = folder / "alerts.toml"
    config.write_text(DEMO_CONFIG.replace("[delivery.stdout]\n", ""), encoding="utf-8")
    now = FAKE_NOW.replace(tzinfo=None).isoformat()
    result = run_cli(["alerts", "check", "--db", str(db), "--config", str(config), "-q"], {"ORUSAGE_NOW": now})
    assert result.returncode == 0, result.stderr
    return db, config


def test_cache_savings_and_forecast_are_one_figure_everywhere(
    monkeypatch: pytest.MonkeyPatch, store: tuple[Path, Path], demo_today: date
) -> None:
    db, config = store
    week = last_complete_week(demo_today)
    days = {"from": week.monday.isoformat(), "to": week.sunday.isoformat()}
    monkeypatch.setenv("ORUSAGE_CONFIG", str(config))

    env = {"ORUSAGE_TODAY": demo_today.isoformat()}
    report = run_cli(["report", "weekly", "--db", str(db), "--week", week.label, "--format", "json"], env)
    assert report.returncode == 0, report.stderr
    review = json.loads(report.stdout)
    saved = next(e for e in review["efficiency"] if e["key"] == "cache_savings")["current"]
    forecast = review["budget"]["projection"]
    assert saved is not None and saved > 0 and forecast is not None

    text = run_cli(["report", "weekly", "--db", str(db), "--week", week.label, "--format", "md"], env)
    assert text.returncode == 0, text.stderr
    cli_saved = next(line for line in text.stdout.splitlines() if line.startswith("| Cache savings"))
    cli_forecast = next(line for line in text.stdout.splitlines() if "Month-end forecast:" in line)

    overview = open_app(monkeypatch, db, demo_today, "overview", params=days)
    shown = metrics(overview)
    models = open_app(monkeypatch, db, demo_today, "models", params=days)
    registry = models.session_state["_orusage_parts"]
    budgets = open_app(monkeypatch, db, demo_today, "budgets")
    names = [m.value[5:] for m in budgets.markdown if m.value.startswith("#### ")]
    forecasts = [m.value for m in budgets.metric if m.label == "Forecast at period end"]
    budgets_shown = [n for n in names if n in ("account", "research", "claude", "support")]
    budget_forecast = dict(zip(budgets_shown, forecasts, strict=True))

    # Cache savings: the weekly JSON, the CLI, the Overview, the Models page.
    assert amount(cli_saved.split("|")[2]) == pytest.approx(saved, abs=0.005)
    assert amount(shown["Cache savings"]) == pytest.approx(saved, abs=0.005)
    assert registry["cache_savings"]["money"]["cache_savings"] == pytest.approx(saved, rel=1e-9)
    # The month-end forecast: the weekly JSON, the CLI, the Overview, the account budget (month, BYOK included).
    stored = query(db, "SELECT forecast_usd FROM budget_status WHERE budget = 'account'")[0][0]
    assert forecast == pytest.approx(stored, rel=1e-9)
    assert amount(cli_forecast) == pytest.approx(forecast, abs=0.005)
    assert amount(shown["Month-end forecast"]) == pytest.approx(forecast, abs=0.005)
    assert amount(budget_forecast["account"]) == pytest.approx(forecast, abs=0.005)
