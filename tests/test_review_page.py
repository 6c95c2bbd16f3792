"""The Weekly review page (Streamlit AppTest) shows the numbers `orusage report weekly --format json` writes
for the same week; and its week picker's edge cases.

Until the page is registered in ``dashboard/app.py``'s navigation, it runs in a harness that does what the
entry script does for every page: the snapshot reader, the shared sidebar, the page context, ``page.show``.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from charts import weekly as weekly_charts
from core import fmt
from dashboard.views import weekly
from review.weeks import IsoWeek, last_complete_week
from tests.dashboard_fixtures import metrics, run_app, texts
from tests.helpers import run_cli

HARNESS = """
import streamlit as st
from dashboard import data, filters
from dashboard.context import PageContext, RunState, set_run
from dashboard.page import show
from dashboard.views import weekly
from core import clock
from queries import reads

st.set_page_config(layout="wide")
db = reads.default_db_path()
with reads.PageReader(db) as reader:
    store = data.Store(reader, str(db), reads.snapshot_version(db))
    meta = data.meta(store)
    today = clock.today_utc()
    chosen = filters.sidebar(meta, today)
    set_run(RunState(db=db, ctx=PageContext(store=store, today=today, meta=meta, filters=chosen)))
    show(weekly.render)
"""


def open_page(monkeypatch: pytest.MonkeyPatch, db: Path, today: date) -> AppTest:
    monkeypatch.setenv("ORUSAGE_DB", str(db))
    monkeypatch.setenv("ORUSAGE_TODAY", today.isoformat())
    return run_app(AppTest.from_string(HARNESS, default_timeout=60))


@pytest.fixture(scope="module")
def report_json(demo_db: Path, demo_today: date) -> dict[str, Any]:
    """The JSON report of the default week, written by the real CLI in a child process."""
    env = {"ORUSAGE_DB": str(demo_db), "ORUSAGE_TODAY": demo_today.isoformat()}
    result = run_cli(["report", "weekly", "--format", "json"], env=env)
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _signed(amount: float) -> str:
    return ("+" if amount >= 0 else "−") + fmt.usd(abs(amount))


def _table(at: AppTest, columns: set[str]) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe if columns <= set(d.value.columns)]


def test_the_page_shows_the_reports_numbers(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, report_json: dict[str, Any]
) -> None:
    at = open_page(monkeypatch, demo_db, demo_today)
    assert at.title[0].value == weekly.TITLE
    assert at.selectbox(key=weekly.WEEK_KEY).value == report_json["week"] == last_complete_week(demo_today).label
    shown = metrics(at)
    t, c, b = report_json["totals"], report_json["change"], report_json["budget"]
    assert shown[weekly.KPI_SPEND] == fmt.usd(t["spend"])
    assert shown[weekly.KPI_REQUESTS] == fmt.count(t["requests"]) and shown[weekly.KPI_TOKENS] == fmt.tokens(
        t["tokens"]
    )
    assert shown[weekly.KPI_PRICE] == fmt.per_million(report_json["efficiency"][0]["current"])
    assert shown[weekly.KPI_VOLUME] == _signed(c["volume"]) and shown[weekly.KPI_MIX] == _signed(c["mix"])
    assert shown[weekly.KPI_PRICE_PART] == _signed(c["price"])
    assert shown[weekly.KPI_MONTH] == fmt.usd(b["month_done"]) and shown[weekly.KPI_PROJECTION] == fmt.usd(
        b["projection"]
    )
    assert shown[weekly.KPI_CREDITS] == fmt.usd(b["credits_left"])

    # The per-model decomposition: every row, every number.
    (models,) = _table(at, {"label", "volume", "mix", "price"})
    expected = pd.DataFrame(report_json["models"])
    assert list(models["label"]) == list(expected["label"])
    for column in ("spend_prev", "spend", "change", "volume", "mix", "price"):
        assert models[column].tolist() == pytest.approx(expected[column].tolist()), column

    # Movers: one table per kind (models, apps, keys, providers), in that order.
    movers = _table(at, {"label", "change_pct", "status"})
    assert len(movers) == 4
    for frame, kind in zip(movers, ("model", "app", "key", "provider"), strict=True):
        listed = report_json["movers"][kind]
        rows = pd.DataFrame(listed["increases"] + listed["decreases"]).drop_duplicates("value")
        assert list(frame["label"]) == list(rows["label"]), kind
        assert frame["change"].tolist() == pytest.approx(rows["change"].tolist())
        assert frame["change_pct"].tolist() == pytest.approx(rows["change_pct"].tolist(), nan_ok=True)

    (efficiency,) = _table(at, {"metric", "this_week", "week_before", "change"})
    for row, e in zip(efficiency.itertuples(), report_json["efficiency"], strict=True):
        assert row.metric == e["label"]
        assert row.this_week == weekly_charts.efficiency_text(e["unit"], e["current"])
        assert row.week_before == weekly_charts.efficiency_text(e["unit"], e["previous"])
        assert row.change == weekly_charts.efficiency_change(e["unit"], e["change"])

    (what_if,) = _table(at, {"alternative_label", "saving"})
    suggestions = pd.DataFrame(report_json["what_if"]["suggestions"])
    assert list(what_if["alternative_label"]) == list(suggestions["alternative_label"])
    assert what_if["saving"].tolist() == pytest.approx(suggestions["saving"].tolist())

    # The re-pricing picker answers with the whole week's volume at the chosen model.
    at.selectbox(key=weekly.TARGET_KEY).set_value("openai/gpt-4o-mini-2024-07-18")
    run_app(at)
    assert "This week's tokens at **openai/gpt-4o-mini**" in texts(at)


def test_the_current_week_and_the_first_week(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> None:
    at = open_page(monkeypatch, demo_db, demo_today)
    options = at.selectbox(key=weekly.WEEK_KEY).options
    current = IsoWeek.of(demo_today - timedelta(days=1))
    assert options[0].startswith(current.label) and options[0].endswith("(so far)")

    at.selectbox(key=weekly.WEEK_KEY).set_value(current.label)
    run_app(at)
    assert "is still running" in texts(at)
    assert weekly.KPI_VOLUME in metrics(at)

    first = options[-1].split(" ")[0]
    at.selectbox(key=weekly.WEEK_KEY).set_value(first)
    run_app(at)
    said = texts(at)
    assert "nothing to compare with" in said and "history starts on" in said
    assert weekly.KPI_VOLUME not in metrics(at) and weekly.KPI_SPEND in metrics(at)


def test_a_stale_store_shows_no_data_honestly(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> None:
    later = demo_today + timedelta(days=120)
    at = open_page(monkeypatch, demo_db, later)
    assert at.selectbox(key=weekly.WEEK_KEY).value == last_complete_week(later).label
    assert "No data is stored for" in texts(at) and "orusage ingest" in texts(at)
    assert weekly.KPI_SPEND not in metrics(at)
