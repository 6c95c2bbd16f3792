"""``python -m bench.alerts [--seeds 7,11] [--spikes 15] [--no-docs]``: how good the forecast and the anomaly
detector are, measured on the demo account (the fake OpenRouter), then written into
docs/budgets-and-alerts.md between its results markers.

* **Forecast** (``core.backtest``): the account's spend as the real ingest stores it (a year of history),
  replayed over the last 12 closed weeks and 8 closed months, each forecast at its start and at its
  middle: the mean absolute percentage error and how often the 80 % band held.
* **Detector** (``orusage.alerts.watch``), per seed: the demo account with its busy days and its one-off
  requests taken out of the last 150 days (``fake_openrouter.scenarios.calm`` and ``drop_outliers``) is
  ingested, and every alert the detector raises on
  each of the last 60 completed days — judged as the first run after that day is final would judge it —
  is a false alert (per 30 days). Then ``--spikes`` spikes are injected into the same account (one every
  4 days, into a model drawn at random among those spending on the four same weekdays before, through one
  of its apps, at max(3 × its usual, $5)), the account is ingested again, and a spike counts as found when
  the first run after its day is final reports that model on that day (recall), and as explained when the
  message names the app it came through.

Goals (issue 15): recall ≥ 0.9, at most 1 false alert per 30 calm days.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
from pydantic import SecretStr

from core.backtest import backtest, summarize
from fake_openrouter.dataset import Dataset, build
from fake_openrouter.keys import DEMO_MANAGEMENT_KEY
from fake_openrouter.scenarios import apps_of, calm, drop_outliers, inject_spike, model_day_spend
from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from ingest.job import run_ingest
from ingest.pacing import Pacer
from orusage.alerts.config import AnomalyRules
from orusage.alerts.findings import Finding
from orusage.alerts.watch import anomaly_outcomes
from queries import budgets as q
from queries.store import Writer

NOW = datetime(2026, 11, 20, 15, 30)
CALM_DAYS = 150
JUDGED_DAYS = 60
SPIKE_EVERY = 4
FINAL_AT = timedelta(days=1, hours=7)  # the first hourly run after a day's analytics are final (6 h)
RECALL_GOAL, FALSE_GOAL = 0.9, 1.0
DOC = Path(__file__).resolve().parent.parent / "docs" / "budgets-and-alerts.md"
MARKERS = {
    "alerts": ("<!-- bench:alerts:start -->", "<!-- bench:alerts:end -->"),
    "forecast": ("<!-- bench:forecast:start -->", "<!-- bench:forecast:end -->"),
}


def ingest(ds: Dataset, db: Path) -> None:
    """The real ingest over HTTP from the fake, a year of analytics, unpaced (the fake's rate limit off: it
    runs on the real clock, and an unpaced ingest would meet it)."""
    key = SecretStr(DEMO_MANAGEMENT_KEY)
    fake_server = FakeServer(ds, analytics_rate_per_minute=None)
    with fake_server as fake, Writer(db) as writer, OpenRouterClient(fake.base_url, key, retries=0) as client:
        run_ingest(writer, client, clock=lambda: NOW, history_days=365, pacer=Pacer(100_000))


def findings_on(con: duckdb.DuckDBPyConnection, day: date, rules: AnomalyRules) -> list[Finding]:
    """What the first run after ``day`` is final reports about ``day``."""
    now = datetime.combine(day, datetime.min.time()) + FINAL_AT
    return [o for o in anomaly_outcomes(con, rules, now, []) if isinstance(o, Finding) and o.key.period == str(day)]


@dataclass
class SpikeCase:
    day: date
    model: str
    app: str
    usual: float
    after: float
    found: bool = False
    explained: bool = False


@dataclass
class SeedResult:
    seed: int
    false_alerts: int = 0
    judged_days: int = 0
    false_titles: list[str] = field(default_factory=list)
    spikes: list[SpikeCase] = field(default_factory=list)


def watched_models(ds: Dataset, day: date) -> list[str]:
    """Models that spent on each of the four same weekdays before ``day``."""
    rows = ds.con.execute("SELECT DISTINCT model_permaslug FROM generations ORDER BY 1").fetchall()
    return [
        str(r[0])
        for r in rows
        if all(model_day_spend(ds, str(r[0]), day - timedelta(weeks=k)) > 0 for k in range(1, 5))
    ]


def run_seed(seed: int, spikes: int, work: Path, rules: AnomalyRules) -> SeedResult:
    result = SeedResult(seed)
    ds = build(NOW, seed=seed)
    calm(ds, NOW.date() - timedelta(days=CALM_DAYS), NOW.date() - timedelta(days=1), seed=seed)
    drop_outliers(ds, NOW.date() - timedelta(days=CALM_DAYS), NOW.date() - timedelta(days=1))
    calm_db = work / f"calm-{seed}.duckdb"
    ingest(ds, calm_db)
    con = duckdb.connect(str(calm_db), read_only=True)
    try:
        for n in range(JUDGED_DAYS, 0, -1):
            found = findings_on(con, NOW.date() - timedelta(days=n), rules)
            result.judged_days += 1
            result.false_alerts += len(found)
            result.false_titles += [f"{NOW.date() - timedelta(days=n)}: {f.title}" for f in found]
    finally:
        con.close()
    rng = np.random.default_rng(seed)
    for i in range(spikes):
        day = NOW.date() - timedelta(days=2 + i * SPIKE_EVERY)
        models = watched_models(ds, day)
        # A model drawn at random; one whose generations cost too little to add $5 in a day is drawn again.
        for pick in rng.permutation(len(models)):
            model = models[int(pick)]
            apps = apps_of(ds, model, day)[:3]
            app = apps[int(rng.integers(0, len(apps)))]
            try:
                spike = inject_spike(ds, day, model, factor=3.0, min_usd=5.0, seed=seed, app=app)
            except ValueError:
                continue
            result.spikes.append(SpikeCase(day, model, app, spike.usual, spike.after))
            break
    spiked_db = work / f"spiked-{seed}.duckdb"
    ingest(ds, spiked_db)
    con = duckdb.connect(str(spiked_db), read_only=True)
    try:
        for case in result.spikes:
            for f in findings_on(con, case.day, rules):
                if f.key.subject == f"model:{case.model}":
                    case.found = True
                    named = f"app {case.app!r}" if case.app else "requests without an app"
                    case.explained = f"mostly from {named}" in f.message
    finally:
        con.close()
    return result


def forecast_quality(work: Path, seed: int) -> tuple[str, list[str]]:
    ds = build(NOW, seed=seed)
    db = work / f"demo-{seed}.duckdb"
    ingest(ds, db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        first = q.known_from(con)
        assert first is not None
        series = q.daily_spend(con, q.Scope(q.ACCOUNT), first, NOW.date() - timedelta(days=1))
    finally:
        con.close()
    cases = backtest(series)
    rows = [
        "| periods | forecast made at | cases | MAPE | 80 % band held |",
        "|---|---|---|---|---|",
    ]
    for s in summarize(cases):
        what = {"week": "weeks", "month": "months", "all": "all"}[s.kind]
        made = {"start": "the period's start", "middle": "its middle", "all": "both"}[s.point]
        coverage = "—" if s.coverage is None else f"{s.coverage:.0%} of {s.banded}"
        mape = "—" if s.mape is None else f"{s.mape:.1%}"
        rows.append(f"| {what} | {made} | {s.cases} | {mape} | {coverage} |")
    weeks = sorted({c.label for c in cases if c.kind == "week"})
    months = sorted({c.label for c in cases if c.kind == "month"})
    note = f"seed {seed}: weeks {weeks[0]}–{weeks[-1]}, months {months[0]}–{months[-1]}."
    return note, rows


def detector_table(results: list[SeedResult]) -> list[str]:
    spikes = [c for r in results for c in r.spikes]
    found = sum(c.found for c in spikes)
    explained = sum(c.explained for c in spikes)
    judged = sum(r.judged_days for r in results)
    false = sum(r.false_alerts for r in results)
    recall = found / len(spikes) if spikes else 0.0
    per_30 = false / judged * 30 if judged else 0.0
    return [
        "| figure | measured | goal | met |",
        "|---|---|---|---|",
        f"| recall on injected 3× spikes of ≥ $5 | {recall:.2f} ({found} of {len(spikes)}) | ≥ {RECALL_GOAL} | "
        f"{'met' if recall >= RECALL_GOAL else 'NOT met'} |",
        f"| … of which the message names the app it came through | {explained} of {found} | | |",
        f"| false alerts per 30 calm days | {per_30:.2f} ({false} in {judged} days) | ≤ {FALSE_GOAL:g} | "
        f"{'met' if per_30 <= FALSE_GOAL else 'NOT met'} |",
    ]


def publish(sections: dict[str, str]) -> None:
    """Put each section between its markers in docs/budgets-and-alerts.md."""
    page = DOC.read_text(encoding="utf-8")
    for name, text in sections.items():
        start_mark, end_mark = MARKERS[name]
        head, start, rest = page.partition(start_mark)
        _, end, tail = rest.partition(end_mark)
        if not (start and end):
            print(f"({DOC.name} has no {start_mark} … {end_mark} markers: not updated)")
            return
        page = f"{head}{start}\n{text}\n{end}{tail}"
    DOC.write_text(page, encoding="utf-8")
    print(f"(and into docs/{DOC.name})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.alerts", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", default="7,11", help="data sets to measure the detector on (comma-separated)")
    parser.add_argument("--spikes", type=int, default=15, help="spikes injected per seed")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave the docs alone")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="orusage-bench-alerts-"))
    rules = AnomalyRules()
    try:
        note, forecast_rows = forecast_quality(work, seeds[0])
        print("\n".join(forecast_rows), flush=True)
        results = []
        for seed in seeds:
            result = run_seed(seed, args.spikes, work, rules)
            results.append(result)
            missed = [f"{c.day} {c.model} via {c.app or 'no app'}" for c in result.spikes if not c.found]
            print(f"seed {seed}: {result.false_alerts} false alerts in {result.judged_days} days; missed: {missed}")
            for title in result.false_titles:
                print(f"  false alert {title}")
        detector_rows = detector_table(results)
        print("\n".join(detector_rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stamp = (
        f"Measured on {time.strftime('%Y-%m-%d', time.gmtime())} (UTC) by `make bench-alerts` in "
        f"{time.perf_counter() - started:.0f} s ({len(os.sched_getaffinity(0))} CPUs, Python "
        f"{platform.python_version()}); the demo account as of {NOW:%Y-%m-%d %H:%M} UTC."
    )
    forecast = "\n".join([stamp, f"The account's spend, {note}", "", *forecast_rows])
    detector = "\n".join(
        [stamp, f"Default rules; seeds {', '.join(map(str, seeds))}, {args.spikes} spikes each.", "", *detector_rows]
    )
    if not args.no_docs:
        publish({"forecast": forecast, "alerts": detector})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
