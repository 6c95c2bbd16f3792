"""``python -m bench [--quick] [--only NAME] [--size 100M]``: build the stores, run every benchmark, print the tables.

NAME is one of ``build``, ``dashboard``, ``http``, ``ingest``, ``import``, ``team``, ``ratelimit``. ``--quick``
runs at 1 M rows only; ``--size 100M`` (``make bench SIZE=100M``) adds a run at 100 M generation rows (the
store, the dashboard, the ingest and the snapshot publish; the import stays at 10 M), after checking the free
disk. Each figure is printed with its baseline (measured in the same run), the ratio, and whether its goal is met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from bench import generate, proc
from bench.report import Report, Row, publish, render, render_big
from bench.report import met as _met

SIZES: dict[str, int] = {"1M": 1_000_000, "10M": 10_000_000, "100M": 100_000_000}
NAMES = ("build", "dashboard", "http", "ingest", "import", "team", "ratelimit")
GIB = 1024.0
COLD_GOAL_S = 0.25  # a cold page run (caches cleared, the snapshot's connection kept), at 10M
WEEKLY_GOAL_S = 0.3  # the weekly review's
PUBLISHED_GOAL_S = 0.5  # the first run after a publish (the connection opened); every cold page at 100M
SPEEDUP_GOAL = 20.0
NEAR_FLOOR = 1.25  # "near the floor": answers within this many times the page's bare reads
CHEAP_PANDAS_S = 0.3  # where pandas needs no more than this (the issue: "~0.2 s"), the floor is the measure, not 20×
RSS_GOAL_MB = GIB
BUILD_GOAL_S = {"10M": 60.0, "100M": 600.0}
REIMPORT_GOAL_S = 2.0
DISK_NEEDED_GB = {"100M": 60}  # the store, its snapshot, the ingest's copy and its snapshot, spill


def machine() -> dict[str, str]:
    import streamlit

    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    load = os.getloadavg()
    return {
        "CPUs": str(os.cpu_count()),
        "CPU model": model,
        "RAM": f"{mem_kb / 2**20:.1f} GiB",
        "Python": platform.python_version(),
        "DuckDB": duckdb.__version__,
        "Streamlit": streamlit.__version__,
        "pandas": __import__("pandas").__version__,
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in load),
    }


# ---- benchmarks -----------------------------------------------------------------------------------------


def bench_build(report: Report, rows: int, seed: int) -> generate.Built:
    size = generate.label(rows)
    started = time.perf_counter()
    built = generate.build(rows, seed, log=lambda line: print(line, flush=True))
    took = time.perf_counter() - started
    cached = took < built.build_seconds / 2
    goal = BUILD_GOAL_S.get(size)
    report.add(
        Row(
            f"build the store through the writer ({built.file_mb:,.0f} MB, "
            f"{built.tables.get('analytics_daily', 0):,} analytics rows)",
            size,
            f"{built.build_seconds:.1f} s"
            + (f" (+ {built.parquet_seconds:.1f} s for the pandas baseline's Parquet)" if built.parquet_seconds else "")
            + (" (cached build)" if cached else ""),
            goal=f"< {goal:.0f} s" if goal else "—",
            met=_met(built.build_seconds < goal) if goal else "—",
        )
    )
    report.grow("build the store (s)", size, built.build_seconds)
    report.grow("store file (MB)", size, built.file_mb)
    if built.defaulted_columns:
        report.notes.append(
            f"{size}: `generations` columns the generator does not draw (NULL or a type default): "
            + ", ".join(built.defaulted_columns)
        )
    return built


def _spend_checks(built: generate.Built) -> dict[str, float]:
    """The period spend the dashboard's tables hold, for the pandas answers to be checked against."""
    today = generate.TODAY
    con = duckdb.connect(str(built.snapshot), read_only=True)
    try:
        act = con.execute(
            "SELECT sum(usage + byok_usage_inference) FROM activity WHERE date BETWEEN ? - 30 AND ? - 1",
            [today, today],
        ).fetchone()
        year = con.execute(
            """SELECT (SELECT sum(total_usage) FROM analytics_daily WHERE dimensions = 'model'
                       AND date >= make_date(year(?::DATE), 1, 1) AND date < ?::DATE - 30)
                    + (SELECT sum(usage + byok_usage_inference) FROM activity WHERE date >= ?::DATE - 30
                       AND date < ?::DATE)""",
            [today, today, today, today],
        ).fetchone()
    finally:
        con.close()
    return {"default (30d)": float(act[0]) if act else 0.0, "range year": float(year[0]) if year else 0.0}


def _page_goal(entry: dict[str, Any]) -> list[str]:
    """Answers ≥ 20× pandas over 30 days and over a year; where pandas needs at most ~0.3 s (no page can be
    20× faster than that), answers within 1.25× of the page's floor instead."""
    verdicts = []
    for scenario in ("30d", "year"):
        if f"speedup {scenario}" not in entry:
            continue
        near = entry[f"reads {scenario}"] / max(entry[f"floor {scenario}"], 1e-4)
        if entry[f"speedup {scenario}"] >= SPEEDUP_GOAL:
            verdicts.append(f"{scenario}: met ({entry[f'speedup {scenario}']:.0f}×)")
        elif entry[f"pandas {scenario}"] <= CHEAP_PANDAS_S:
            verdicts.append(f"{scenario}: {'met' if near <= NEAR_FLOOR else 'NOT met'} ({near:.2f}× the floor)")
        else:
            verdicts.append(f"{scenario}: NOT met ({entry[f'speedup {scenario}']:.1f}×, {near:.2f}× the floor)")
    return verdicts


def bench_dashboard(report: Report, built: generate.Built, work: Path, *, pandas_baseline: bool = True) -> None:
    size = generate.label(built.rows)
    ten = built.rows >= 10_000_000
    env = {"ORUSAGE_DB": built.db, "ORUSAGE_TODAY": generate.TODAY.isoformat()}
    out = work / f"dashboard-{size}.json"
    print(f"dashboard pages at {size} (AppTest, child process) …", flush=True)
    child = proc.run("bench.dashboard", str(out), env=env)
    if child.returncode != 0:
        report.notes.append(f"dashboard benchmark at {size} failed (exit {child.returncode})")
        return
    dash = json.loads(out.read_text())
    pandas_runs: dict[tuple[str, str], float] = {}
    pandas: dict[str, Any] = {}
    pchild = None
    if pandas_baseline:
        print(f"pandas baseline at {size} (child process) …", flush=True)
        pout = work / f"pandas-{size}.json"
        pchild = proc.run(
            "bench.pandas_equiv", built.parquet, str(built.snapshot), generate.TODAY.isoformat(), str(pout)
        )
        if pchild.returncode == 0:
            pandas = json.loads(pout.read_text())
            pandas_runs = {(r["page"], r["scenario"]): r["seconds"] for r in pandas["runs"]}
            for scenario, want in _spend_checks(built).items():
                got = pandas["spend_checks"].get(scenario, float("nan"))
                agree = abs(got - want) <= 1e-6 * max(1.0, abs(want))
                report.notes.append(
                    f"{size}: period spend ({scenario}) pandas {got:,.2f} vs store {want:,.2f}: "
                    + ("same answer" if agree else "DIFFERENT")
                )
        else:
            report.notes.append(f"pandas baseline at {size} failed (exit {pchild.returncode})")
    else:
        report.notes.append(f"{size}: no pandas baseline (its rows would need some 30 GB of memory at this size)")

    for r in dash["runs"]:
        if r["error"]:
            report.notes.append(f"{size}: page {r['page']} with {r['scenario']} raised: {r['error']}")
    by_page: dict[str, list[dict[str, Any]]] = {}
    for r in dash["runs"]:
        by_page.setdefault(r["page"], []).append(r)
    for page, runs in by_page.items():
        worst = max(runs, key=lambda r: r["cold"])
        entry: dict[str, Any] = {
            "page": page,
            "size": size,
            "cold_p50": statistics.median(r["cold"] for r in runs),
            "cold_max": worst["cold"],
            "cold_max_scenario": worst["scenario"],
            "published_max": max(r["published"] for r in runs),
            "warm_max": max(r["warm"] for r in runs),
        }
        for scenario, short in (("default (30d)", "30d"), ("range year", "year")):
            mine = next((r for r in runs if r["scenario"] == scenario), None)
            if mine is None:
                continue
            entry[f"reads {short}"] = max(mine["cold_reads"], 0.0001)
            entry[f"floor {short}"] = mine["floor"]
            theirs = pandas_runs.get((page, scenario))
            if theirs:
                entry[f"pandas {short}"] = theirs
                entry[f"speedup {short}"] = theirs / entry[f"reads {short}"]
        entry["verdicts"] = _page_goal(entry)
        entry["goal"] = "; ".join(entry["verdicts"]) or "—"
        report.pages.append(entry)
        report.grow(f"{page}: cold, slowest filter set (s)", size, entry["cold_max"])
    weekly = [r["cold"] for r in dash["runs"] if r["page"] == "weekly"]
    others = [r for r in dash["runs"] if r["page"] != "weekly"]
    slowest = max(others, key=lambda r: r["cold"])
    cold_goal = PUBLISHED_GOAL_S if built.rows >= 100_000_000 else COLD_GOAL_S
    report.add(
        Row(
            f"dashboard: slowest cold page run but the weekly review ({len(by_page) - 1} pages × "
            f"{len(others) // max(1, len(by_page) - 1)} filter sets; caches cleared, the snapshot's connection kept)",
            size,
            f"{slowest['cold']:.3f} s ({slowest['page']}, {slowest['scenario']}); median "
            f"{statistics.median(r['cold'] for r in others):.3f} s",
            goal=f"< {cold_goal} s",
            met=_met(slowest["cold"] < cold_goal) if ten else "(10M goal)",
        )
    )
    if weekly:
        weekly_goal = PUBLISHED_GOAL_S if built.rows >= 100_000_000 else WEEKLY_GOAL_S
        report.add(
            Row(
                "dashboard: the weekly review, slowest cold run",
                size,
                f"{max(weekly):.3f} s",
                goal=f"< {weekly_goal} s",
                met=_met(max(weekly) < weekly_goal) if ten else "(10M goal)",
            )
        )
    published = max(dash["runs"], key=lambda r: r["published"])
    report.add(
        Row(
            "dashboard: slowest first run after a publish (caches cleared, the new version's connection opened)",
            size,
            f"{published['published']:.3f} s ({published['page']}, {published['scenario']}); median "
            f"{statistics.median(r['published'] for r in dash['runs']):.3f} s",
            goal=f"< {PUBLISHED_GOAL_S} s",
            met=_met(published["published"] < PUBLISHED_GOAL_S) if ten else "(10M goal)",
        )
    )
    report.grow("dashboard: median cold page run (s)", size, statistics.median(r["cold"] for r in dash["runs"]))
    report.grow("dashboard: slowest first run after a publish (s)", size, published["published"])
    report.add(
        Row("dashboard: slowest warm page run (cached reads)", size, f"{max(r['warm'] for r in dash['runs']):.3f} s")
    )
    if pandas:
        report.add(
            Row(
                "pandas: load the generation rows (Parquet → memory, apart)",
                size,
                f"{pandas['load_seconds']:.2f} s, {pandas['memory_mb']:,.0f} MB in memory",
            )
        )
        judged = [e for e in report.pages if e["size"] == size and e["goal"] != "—"]
        missed = [f"{e['page']} ({v})" for e in judged for v in e["verdicts"] if "NOT" in v]
        speedups = [e[k] for e in judged for k in ("speedup 30d", "speedup year") if k in e]
        report.add(
            Row(
                "dashboard answers (the reads of a cold run) vs pandas in memory, per page (30 days, a year)",
                size,
                f"min {min(speedups):.1f}×, median {statistics.median(speedups):.1f}×"
                + (f"; missed: {', '.join(missed)}" if missed else ""),
                baseline="pandas over the same rows",
                ratio=f"{min(speedups):.1f}×",
                goal=f"≥ {SPEEDUP_GOAL:.0f}×, or within {NEAR_FLOOR}× the floor where pandas ≤ {CHEAP_PANDAS_S} s",
                met=_met(not missed) if ten else "(10M goal)",
            )
        )
        report.grow("pandas: median page (s)", size, statistics.median(pandas_runs.values()))
    report.add(
        Row(
            "dashboard process peak RSS (every page run, in one process)",
            size,
            f"{child.peak_rss_mb:,.0f} MB",
            baseline=f"goal {RSS_GOAL_MB:,.0f} MB",
            ratio=f"{child.peak_rss_mb / RSS_GOAL_MB:.2f}",
            goal="< 1 GiB at 10M and 100M",
            met=_met(child.peak_rss_mb < RSS_GOAL_MB) if ten else "(10M goal)",
        )
    )
    report.grow("dashboard peak RSS (MB)", size, child.peak_rss_mb)
    if pandas and pchild is not None:
        report.add(Row("pandas process peak RSS (for comparison)", size, f"{pchild.peak_rss_mb:,.0f} MB"))


def bench_http(report: Report) -> None:
    from bench import http_fetch

    print("HTTP: GET /generation against the fake with 50 ms latency …", flush=True)
    seq, capped, default = http_fetch.measure()
    report.add(Row("HTTP: sequential httpx loop", "—", f"{seq.per_second:.1f} req/s ({seq.requests} requests)"))
    ratio = capped.per_second / seq.per_second
    report.add(
        Row(
            f"HTTP: {capped.name}",
            "—",
            f"{capped.per_second:.1f} req/s ({capped.requests} requests; at most {capped.most_in_a_second} "
            "in any one second)",
            baseline=f"{seq.per_second:.1f} req/s sequential",
            ratio=f"{ratio:.1f}×",
            goal=f"≥ 10× sequential (cap = {http_fetch.CAP_TIMES}×), never over the cap in a second",
            met=_met(ratio >= 10 and capped.most_in_a_second <= (capped.cap or 0)),
        )
    )
    report.add(
        Row(
            f"HTTP: {default.name}",
            "—",
            f"{default.per_second:.1f} req/s",
            baseline=f"{seq.per_second:.1f} req/s sequential",
            ratio=f"{default.per_second / seq.per_second:.1f}×",
        )
    )


def bench_ingest(report: Report, built: generate.Built, work: Path) -> None:
    from fake_openrouter.keys import DEMO_MANAGEMENT_KEY
    from queries.store import publish_snapshot

    size = generate.label(built.rows)
    folder = work / f"ingest-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    db = folder / "orusage.duckdb"
    shutil.copyfile(built.db, db)
    print(f"ingest into a copy of the {size} store (fake OpenRouter, child process) …", flush=True)
    with proc.FakeProcess(latency_s=0.0, now=generate.ANCHOR.isoformat()) as fake:
        env = {
            "ORUSAGE_DB": str(db),
            "OPENROUTER_BASE_URL": fake.base_url,
            "OPENROUTER_MANAGEMENT_KEY": DEMO_MANAGEMENT_KEY,
            "ORUSAGE_ANALYTICS_RATE": "100000",
            "ORUSAGE_GENERATIONS_RATE": "2000",
            "ORUSAGE_GENERATIONS_CONCURRENCY": "16",
            "ORUSAGE_HTTP_RETRIES": "0",
        }
        with open(folder / "first.log", "w") as log:
            first = proc.run("bench.ingest_child", "0", env=env, stdout=log)
        with open(folder / "incremental.log", "w") as log:
            again = proc.run("bench.ingest_child", "10", env=env, stdout=log)
    for name, child in (("first ingest of the fake's account (catch-up)", first), ("incremental ingest", again)):
        if child.returncode != 0:
            report.notes.append(f"{size}: {name} failed (exit {child.returncode}), see {folder}")
            continue
        report.add(
            Row(
                f"{name}: peak RSS, time",
                size,
                f"{child.peak_rss_mb:,.0f} MB, {child.seconds:.1f} s",
                baseline=f"goal {RSS_GOAL_MB:,.0f} MB",
                ratio=f"{child.peak_rss_mb / RSS_GOAL_MB:.2f}",
                goal="< 1 GiB",
                met=_met(child.peak_rss_mb < RSS_GOAL_MB),
            )
        )
        report.grow(f"{name}: peak RSS (MB)", size, child.peak_rss_mb)
        report.grow(f"{name}: time (s)", size, child.seconds)
    # The publish on its own: what every writer pays at its end (a copy of the whole file today).
    publishes = []
    for _ in range(2):
        started = time.perf_counter()
        publish_snapshot(db)
        publishes.append(time.perf_counter() - started)
    mb = db.stat().st_size / 2**20
    seconds = min(publishes)
    report.add(
        Row(
            "snapshot publish (copy, fsync, rename), on its own; best of 2",
            size,
            f"{seconds:.2f} s for {mb:,.0f} MB ({mb / seconds:,.0f} MB/s)",
        )
    )
    report.grow("snapshot publish (s)", size, seconds)
    shutil.rmtree(folder, ignore_errors=True)


def bench_import(report: Report, built: generate.Built, work: Path) -> None:
    """``bench.import_website_csv`` (owned by the import's author): one run, in a child, for its time and peak RSS.
    At 10M its slow baselines and the import into a copy of the big store are skipped (1M has them)."""
    import re

    size = generate.label(built.rows)
    script = Path(__file__).resolve().parent / "import_website_csv.py"
    if not script.exists():
        report.notes.append(f"{size}: import of an export skipped: bench/import_website_csv.py does not exist yet")
        return
    print(f"import of a {size}-row export (bench.import_website_csv, child processes) …", flush=True)
    big = built.rows >= 10_000_000
    rows = ["--rows", str(built.rows)]
    log_path = work / f"import-{size}.log"
    # Three children: writing the export file (cached; a big sort, not the import's memory), the import alone
    # (its time and peak RSS: a fresh store, then the same file again), and the baselines (1M only).
    steps = [
        ("prepare", [*rows, "--only", "prepare"], {}),
        (
            "import",
            [*rows, "--runs", "1" if big else "3", "--only", "import"],
            {} if big else {"BENCH_STORE": built.db},
        ),
    ]
    if not big:
        steps.append(("baselines", [*rows, "--only", "baselines"], {}))
    children: dict[str, proc.Child] = {}
    with open(log_path, "w") as log:
        for step, args, env in steps:
            log.flush()
            children[step] = proc.run("bench.import_website_csv", *args, env=env, stdout=log)
            if children[step].returncode != 0:
                break
    text = log_path.read_text()
    print(text, end="", flush=True)
    failed = [step for step, child in children.items() if child.returncode != 0]
    if failed:
        report.notes.append(f"{size}: bench.import_website_csv --only {failed[0]} failed; see {log_path}")
        return
    child = children["import"]
    found = re.search(r"orusage import, fresh store:\s+([0-9.]+) s", text)
    pandas = re.search(r"pandas read_csv \+ DuckDB insert:\s+([0-9.]+) s", text)
    seconds = float(found.group(1)) if found else float("nan")
    report.add(
        Row(
            "orusage import of an export (bench.import_website_csv; best of 3 at 1M, 1 run at 10M): time",
            size,
            f"{seconds:.1f} s",
            baseline=f"pandas read_csv + insert {float(pandas.group(1)):.1f} s" if pandas else "—",
            ratio=f"{float(pandas.group(1)) / seconds:.1f}×" if pandas else "—",
            goal="< 3 s per 1M rows (its author's)",
            met=_met(seconds < 3.0 * built.rows / 1_000_000),
        )
    )
    rows_s = re.search(r"csv module \+ row inserts \(executemany\):\s+([0-9.]+) s.*\((measured on [^)]*)\)", text)
    if rows_s:
        report.add(
            Row(
                "csv module + row inserts (executemany), the other usual way",
                size,
                f"{float(rows_s.group(1)):,.0f} s ({rows_s.group(2)})",
                baseline=f"orusage import {seconds:.1f} s",
                ratio=f"{float(rows_s.group(1)) / seconds:,.0f}× slower",
            )
        )
    report.add(
        Row(
            "orusage import of an export: peak RSS (the import and its re-import, own process)",
            size,
            f"{child.peak_rss_mb:,.0f} MB",
            baseline=f"goal {RSS_GOAL_MB:,.0f} MB",
            ratio=f"{child.peak_rss_mb / RSS_GOAL_MB:.2f}",
            goal="< 1 GiB",
            met=_met(child.peak_rss_mb < RSS_GOAL_MB),
        )
    )
    again = re.search(r"orusage import of the same file again:\s+([0-9.]+) s", text)
    forced = re.search(r"orusage import of the same file, --force:\s+([0-9.]+) s", text)
    if again:
        again_s = float(again.group(1))
        forced_s = float(forced.group(1)) if forced else float("nan")
        report.add(
            Row(
                "the same export imported again (recognised by its fingerprint: not read)",
                size,
                f"{again_s:.2f} s",
                baseline=f"read again (--force) {forced_s:.1f} s" if forced else "—",
                ratio=f"{forced_s / again_s:.0f}× faster" if forced else "—",
                goal=f"< {REIMPORT_GOAL_S:.0f} s at 10M",
                met=_met(again_s < REIMPORT_GOAL_S) if big else "(10M goal)",
            )
        )
        report.grow("import: the same file again (s)", size, again_s)
    report.grow("import: time (s)", size, seconds)
    report.grow("import: peak RSS (MB)", size, child.peak_rss_mb)


def disk_free_gb(path: Path) -> float:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="1 M rows only")
    parser.add_argument("--only", choices=NAMES, help="run one benchmark (the stores are built as needed)")
    parser.add_argument(
        "--size", choices=("100M",), help="also run at 100 M generation rows (checks the free disk first)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=generate.CACHE / "last-run.md", help="also write the tables here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    info = machine()
    print("\n".join(f"{k}: {v}" for k, v in info.items()), flush=True)
    report = Report()
    work = generate.CACHE / "work"
    work.mkdir(parents=True, exist_ok=True)
    sizes = ["1M"] if args.quick else ["1M", "10M"]
    big = args.size
    if big:
        free = disk_free_gb(generate.CACHE)
        if free < DISK_NEEDED_GB[big]:
            line = f"{big}: skipped: {free:.0f} GB free (the {big} run needs about {DISK_NEEDED_GB[big]} GB)"
            print(line, flush=True)
            report.notes.append(line)
            big = None
        else:
            sizes.append(big)

    def wanted(name: str) -> bool:
        return args.only is None or args.only == name

    steps: list[tuple[str, Callable[[generate.Built], None]]] = [
        ("dashboard", lambda b: bench_dashboard(report, b, work, pandas_baseline=b.rows < 100_000_000)),
        ("ingest", lambda b: bench_ingest(report, b, work)),
        # The import stays at 10M: a website CSV of 100M rows (24 GB) is not what a user imports at once.
        ("import", lambda b: bench_import(report, b, work) if b.rows < 100_000_000 else None),
    ]
    built: dict[str, generate.Built] = {}
    for size in sizes:
        if args.only in ("http", "ratelimit"):
            break
        built[size] = bench_build(report, SIZES[size], args.seed)
        for name, step in steps:
            if wanted(name):
                step(built[size])
    if wanted("team"):
        from bench import team

        team.bench_team(report, built["10M"] if "10M" in built else built["1M"], work)
    if wanted("ratelimit"):
        from bench import ratelimit

        ratelimit.bench_ratelimit(report, work)
    if wanted("http"):
        bench_http(report)
    text = render(info, report, time.perf_counter() - started)
    print("\n" + text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(f"\n(also written to {args.out})")
    if args.only is None and not args.quick:
        publish(text)
        if big:
            publish(render_big(info, report, big, time.perf_counter() - started), "100M")
    return 0


if __name__ == "__main__":
    sys.exit(main())
