"""Reconciliation of /activity, analytics and per-generation records, per UTC day and model: clean data agrees,
and a discrepancy injected into the fake's /activity is reported with its day, model and amount."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from fake_openrouter.dataset import Dataset
from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from ingest.generations.job import GenerationOptions
from ingest.job import IngestResult, run_ingest
from ingest.pacing import Pacer
from orusage.status import load_report
from queries.reconciliation import MONEY_TOLERANCE, comparisons, within_tolerance
from queries.store import Writer
from tests.fake_fixtures import MANAGEMENT_KEY, start_fake
from tests.helpers import query, run_cli

NOW = datetime(2026, 11, 20, 15, 30)
YESTERDAY = date(2026, 11, 19)


def ingest(db: Path, server: FakeServer) -> IngestResult:
    with Writer(db) as writer, OpenRouterClient(server.base_url, SecretStr(MANAGEMENT_KEY), backoff=0.01) as c:
        # A 31-day backfill: what the reconciliation compares (activity's 30 days) without a year of queries.
        return run_ingest(
            writer,
            c,
            clock=lambda: NOW,
            pacer=Pacer(10_000),
            history_days=31,
            generations=GenerationOptions(rate=10_000),
        )


def status(db: Path, *args: str) -> str:
    result = run_cli(["status", "--db", str(db), *args], {"ORUSAGE_TODAY": NOW.date().isoformat()})
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def server(fake_dataset: Dataset) -> Iterator[FakeServer]:
    fake = start_fake(fake_dataset)
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def clean(server: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IngestResult]:
    db = tmp_path_factory.mktemp("clean") / "orusage.duckdb"
    return db, ingest(db, server)


def test_clean_sources_agree(clean: tuple[Path, IngestResult]) -> None:
    db, result = clean
    assert result.differences == 0
    summary = query(
        db,
        """SELECT count(*) FILTER (WHERE NOT agrees), count(DISTINCT date), min(date), max(date),
                  count(*) FILTER (WHERE activity IS NOT NULL AND analytics IS NOT NULL AND generations IS NOT NULL)
           FROM reconciliation""",
    )
    # Activity's 30 days (analytics hold them all, final); generations hold the two whole days of their window.
    assert summary == [(0, 30, date(2026, 10, 21), YESTERDAY, summary[0][4])]
    assert summary[0][4] > 2 * 6 * 10  # all three sources on both whole generation days, every metric
    text = status(db)
    assert "Sources agree: activity, analytics, generations on 30 day(s)" in text
    assert "Generations: " in text and "2 whole day(s) 2026-11-18..2026-11-19" in text


@pytest.fixture(scope="module")
def discrepancy(
    server: FakeServer,
    clean: tuple[Path, IngestResult],
    fake_dataset: Dataset,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, IngestResult, tuple[str, str, float, float, int, int, int]]:
    """The clean store, ingested again after /activity lost yesterday's most expensive generation."""
    db = tmp_path_factory.mktemp("discrepancy") / "orusage.duckdb"
    shutil.copyfile(clean[0], db)
    lost = fake_dataset.con.execute(
        """SELECT id, model_permaslug, usage, byok_usage_inference, native_tokens_prompt, native_tokens_completion,
                  native_tokens_reasoning
           FROM generations WHERE CAST(created_at AS DATE) = ? ORDER BY usage DESC LIMIT 1""",
        [YESTERDAY],
    ).fetchone()
    assert lost is not None and lost[2] > 100 * MONEY_TOLERANCE
    server.hide_from_activity([lost[0]])
    try:
        result = ingest(db, server)
    finally:
        server.hide_from_activity([])
    return db, result, lost[1:]


def test_an_injected_discrepancy_is_reported_exactly(
    discrepancy: tuple[Path, IngestResult, tuple[str, str, float, float, int, int, int]],
) -> None:
    db, result, (model, usage, byok, prompt, completion, reasoning) = discrepancy
    expected = {
        "requests": 1.0,
        "credits": usage,
        "native_prompt_tokens": prompt,
        "native_completion_tokens": completion,
    }
    if byok > MONEY_TOLERANCE:
        expected["byok"] = byok
    if reasoning:
        expected["native_reasoning_tokens"] = reasoning
    rows = query(
        db,
        "SELECT date, model_permaslug, metric, activity, analytics, generations, difference "
        "FROM reconciliation_differences",
    )
    assert result.differences == len(rows) == len(expected)
    for day, got_model, metric, activity, analytics, generations, difference in rows:
        assert (day, got_model) == (YESTERDAY, model)
        assert difference == pytest.approx(expected[metric], abs=1e-9)
        # Sums of floats from DuckDB's parallel aggregation differ in the last bits: never `==` on money.
        assert analytics == pytest.approx(generations, abs=1e-9)
        assert activity == pytest.approx(analytics - expected[metric], abs=1e-9)


def test_status_shows_the_difference_never_hides_it(
    discrepancy: tuple[Path, IngestResult, tuple[str, str, float, float, int, int, int]],
) -> None:
    db, _result, (model, usage, *_rest) = discrepancy
    text = status(db)
    assert "Sources differ: " in text and "Sources agree" not in text
    assert f"  2026-11-19 {model}: requests activity " in text and "(off by 1)" in text
    assert f"(off by ${usage:,.6f})" in text
    report = json.loads(json.dumps(load_report(db, NOW.date()).to_json(), default=str))["reconciliation"]  # as --json
    assert report["agree"] is False
    assert {(d["date"], d["model"], d["metric"]) for d in report["differences"]} >= {("2026-11-19", model, "requests")}


def test_the_tolerance_rules() -> None:
    assert within_tolerance("requests", 0) and not within_tolerance("requests", 1)
    assert within_tolerance("credits", MONEY_TOLERANCE) and not within_tolerance("credits", 2 * MONEY_TOLERANCE)
    assert not within_tolerance("native_prompt_tokens", 1)
    rows = [(YESTERDAY, "m", [10, 1.0, 0, 100, 50, 0], None, [10, 1.00005, 0, None, 50, 0])]
    found = {c.metric: c for c in comparisons(rows)}
    assert "native_prompt_tokens" not in found  # only one source has it: nothing to compare
    assert all(c.agrees for c in found.values()) and len(found) == 5
    assert not comparisons([(YESTERDAY, "m", [1, 1, 1, 1, 1, 1], None, None)])  # one source alone
