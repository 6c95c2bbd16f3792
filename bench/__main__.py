"""``python -m bench [--quick] [--only NAME]``: build the stores, run every benchmark, print the tables.

NAME is one of ``build``, ``dashboard``, ``http``, ``ingest``, ``import``. ``--quick`` runs at 1 M rows only.
Each figure is printed with its baseline (measured in the same run), the ratio, and whether its goal is met.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from bench import generate, proc

SIZES = (1_000_000, 10_000_000)
NAMES = ("build", "dashboard", "http", "ingest", "import")
GIB = 1024.0
COLD_GOAL_S = 0.5
SPEEDUP_GOAL = 20.0
RSS_GOAL_MB = GIB
BUILD_GOAL_S = 60.0
RESULTS_DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
RESULTS_START, RESULTS_END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"


@dataclass
class Row:
    figure: str
    size: str
    value: str
    baseline: str = "—"
    ratio: str = "—"
    goal: str = "—"
    met: str = "—"


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    growth: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  {row.figure} [{row.size}]: {row.value} (baseline {row.baseline}, ratio {row.ratio}) {row.met}")

    def grow(self, figure: str, size: str, value: float) -> None:
        self.growth.setdefault(figure, {})[size] = value


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


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
    report.add(
        Row(
            f"build the store ({built.file_mb:,.0f} MB, {built.tables.get('analytics_daily', 0):,} analytics rows)",
            size,
            f"{built.build_seconds:.1f} s"
            + (f" (+ {built.parquet_seconds:.1f} s for the pandas baseline's Parquet)" if built.parquet_seconds else "")
            + (" (cached build)" if cached else ""),
            goal=f"< {BUILD_GOAL_S:.0f} s" if rows >= 10_000_000 else "—",
            met=_met(built.build_seconds < BUILD_GOAL_S) if rows >= 10_000_000 else "—",
        )
    )
    report.grow("build the store (s)", size, built.build_seconds)
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


def bench_dashboard(report: Report, built: generate.Built, work: Path) -> None:
    size = generate.label(built.rows)
    env = {"ORUSAGE_DB": built.db, "ORUSAGE_TODAY": generate.TODAY.isoformat()}
    out = work / f"dashboard-{size}.json"
    print(f"dashboard pages at {size} (AppTest, child process) …", flush=True)
    child = proc.run("bench.dashboard", str(out), env=env)
    if child.returncode != 0:
        report.notes.append(f"dashboard benchmark at {size} failed (exit {child.returncode})")
        return
    dash = json.loads(out.read_text())
    print(f"pandas baseline at {size} (child process) …", flush=True)
    pout = work / f"pandas-{size}.json"
    pchild = proc.run("bench.pandas_equiv", built.parquet, str(built.snapshot), generate.TODAY.isoformat(), str(pout))
    pandas_runs: dict[tuple[str, str], float] = {}
    pandas: dict[str, Any] = {}
    if pchild.returncode == 0:
        pandas = json.loads(pout.read_text())
        pandas_runs = {(r["page"], r["scenario"]): r["seconds"] for r in pandas["runs"]}
        checks = _spend_checks(built)
        for scenario, want in checks.items():
            got = pandas["spend_checks"].get(scenario, float("nan"))
            agree = abs(got - want) <= 1e-6 * max(1.0, abs(want))
            report.notes.append(
                f"{size}: period spend ({scenario}) pandas {got:,.2f} vs store {want:,.2f}: "
                + ("same answer" if agree else "DIFFERENT")
            )
    else:
        report.notes.append(f"pandas baseline at {size} failed (exit {pchild.returncode})")

    errors = [r for r in dash["runs"] if r["error"]]
    for r in errors:
        report.notes.append(f"{size}: page {r['page']} with {r['scenario']} raised: {r['error']}")
    by_page: dict[str, list[dict[str, Any]]] = {}
    for r in dash["runs"]:
        by_page.setdefault(r["page"], []).append(r)
    for page, runs in by_page.items():
        colds = [r["cold"] for r in runs]
        warms = [r["warm"] for r in runs]
        worst = max(runs, key=lambda r: r["cold"])
        entry: dict[str, Any] = {
            "page": page,
            "size": size,
            "cold_p50": statistics.median(colds),
            "cold_max": worst["cold"],
            "cold_max_scenario": worst["scenario"],
            "warm_max": max(warms),
        }
        for scenario in ("default (30d)", "range year"):
            mine = next((r for r in runs if r["scenario"] == scenario), None)
            theirs = pandas_runs.get((page, scenario))
            if mine and theirs:
                entry[f"pandas {scenario}"] = theirs
                entry[f"speedup {scenario}"] = theirs / mine["cold"]
                entry[f"speedup warm {scenario}"] = theirs / mine["warm"]
                # The answers alone: the cold run's time inside the reads (opening the snapshot, SQL, Arrow →
                # pandas), measured by bench.dashboard.ReadClock; drawing the page is not pandas' work either.
                reads = max(mine["cold_reads"], 0.001)
                entry[f"reads {scenario}"] = reads
                entry[f"reads speedup {scenario}"] = theirs / reads
        report.pages.append(entry)
        report.grow(f"{page}: cold, worst filter set (s)", size, entry["cold_max"])
    all_cold = [r["cold"] for r in dash["runs"]]
    report.add(
        Row(
            f"dashboard: slowest cold page run ({len(by_page)} pages × {len(all_cold) // max(1, len(by_page))} "
            "filter sets)",
            size,
            f"{max(all_cold):.3f} s (median {statistics.median(all_cold):.3f} s)",
            goal=f"< {COLD_GOAL_S} s at 10M",
            met=_met(max(all_cold) < COLD_GOAL_S) if built.rows >= 10_000_000 else "(10M goal)",
        )
    )
    report.grow("dashboard: median cold page run (s)", size, statistics.median(all_cold))
    report.add(
        Row("dashboard: slowest warm page run (cached reads)", size, f"{max(r['warm'] for r in dash['runs']):.3f} s")
    )
    if pandas:
        speedups = [e[k] for e in report.pages if e["size"] == size for k in e if k.startswith("speedup ")
                    and "warm" not in k]  # fmt: skip
        report.add(
            Row(
                "pandas: load the generation rows (Parquet → memory, apart)",
                size,
                f"{pandas['load_seconds']:.2f} s, {pandas['memory_mb']:,.0f} MB in memory",
            )
        )
        report.add(
            Row(
                "dashboard cold vs pandas in memory, per page (default, year)",
                size,
                f"min {min(speedups):.1f}×, median {statistics.median(speedups):.1f}×",
                baseline="pandas over the same rows",
                ratio=f"{min(speedups):.1f}×",
                goal=f"≥ {SPEEDUP_GOAL:.0f}×",
                met=_met(min(speedups) >= SPEEDUP_GOAL),
            )
        )
        reads = [e[k] for e in report.pages if e["size"] == size for k in e if k.startswith("reads speedup ")]
        if reads:
            report.add(
                Row(
                    "dashboard answers (the reads of a cold run, measured) vs pandas, per page (default, year)",
                    size,
                    f"min {min(reads):.1f}×, median {statistics.median(reads):.1f}×",
                    baseline="pandas over the same rows",
                    ratio=f"{min(reads):.1f}×",
                    goal=f"≥ {SPEEDUP_GOAL:.0f}×",
                    met=_met(min(reads) >= SPEEDUP_GOAL),
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
            goal="< 1 GiB at 10M",
            met=_met(child.peak_rss_mb < RSS_GOAL_MB) if built.rows >= 10_000_000 else "(10M goal)",
        )
    )
    report.grow("dashboard peak RSS (MB)", size, child.peak_rss_mb)
    if pandas:
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
    report.grow("import: time (s)", size, seconds)
    report.grow("import: peak RSS (MB)", size, child.peak_rss_mb)


# ---- output ---------------------------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def render(info: dict[str, str], report: Report, seconds: float) -> str:
    out = ["## Machine", _table(["", ""], [[k, v] for k, v in info.items()]), ""]
    out += [
        "## Figures",
        _table(
            ["figure", "size", "value", "baseline", "ratio", "goal", "met?"],
            [[r.figure, r.size, r.value, r.baseline, r.ratio, r.goal, r.met] for r in report.rows],
        ),
        "",
    ]
    if report.pages:
        rows = []
        for e in report.pages:

            def cell(key: str, fmt: str = "{:.3f}", entry: dict[str, Any] = e) -> str:
                return fmt.format(entry[key]) if key in entry else "—"

            cold_goal = "met" if e["cold_max"] < COLD_GOAL_S else "NOT met"
            rows.append(
                [e["page"], e["size"], cell("cold_p50"), f"{e['cold_max']:.3f} ({e['cold_max_scenario']})",
                 cell("warm_max"), cell("pandas default (30d)"), cell("speedup default (30d)", "{:.1f}×"),
                 cell("pandas range year"), cell("speedup range year", "{:.1f}×"),
                 cell("reads default (30d)"), cell("reads speedup default (30d)", "{:.1f}×"),
                 cell("reads range year"), cell("reads speedup range year", "{:.1f}×"), cold_goal]
            )  # fmt: skip
        out += [
            "## Dashboard pages (seconds per full script run; speedup = pandas ÷ dashboard cold; reads = the cold"
            " run's time inside its reads, the answers without the drawing)",
            _table(
                [
                    "page",
                    "size",
                    "cold median",
                    "cold worst (filter set)",
                    "warm worst",
                    "pandas 30d",
                    "speedup 30d",
                    "pandas year",
                    "speedup year",
                    "reads 30d",
                    "reads speedup 30d",
                    "reads year",
                    "reads speedup year",
                    "cold < 0.5 s",
                ],
                rows,
            ),
            "",
        ]
    growth = [
        [figure, f"{v['1M']:.3f}", f"{v['10M']:.3f}", f"{v['10M'] / v['1M']:.1f}×" if v["1M"] else "—"]
        for figure, v in report.growth.items()
        if "1M" in v and "10M" in v
    ]
    if growth:
        out += ["## Growth from 1M to 10M rows (10× the rows)",
                _table(["figure", "1M", "10M", "10M ÷ 1M (vs 10×)"], growth), ""]  # fmt: skip
    if report.notes:
        out += ["## Notes", *[f"- {n}" for n in report.notes], ""]
    out.append(f"Whole run: {seconds / 60:.1f} min; load average at the end: "
               + " / ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
    return "\n".join(out)


def publish(text: str, doc: Path = RESULTS_DOC) -> None:
    """Put a full run's tables between the results markers of docs/performance.md, under a dated line."""
    page = doc.read_text(encoding="utf-8")
    head, start, rest = page.partition(RESULTS_START)
    _, end, tail = rest.partition(RESULTS_END)
    if not (start and end):
        print(f"\n({doc.name} has no {RESULTS_START} … {RESULTS_END} markers: not updated)")
        return
    stamp = (
        f"Measured on {time.strftime('%Y-%m-%d', time.gmtime())} (UTC) by a full `make bench` run on a machine"
        f" with {len(os.sched_getaffinity(0))} CPUs (nproc) and Python {platform.python_version()}."
    )
    # One level down: the tables' sections sit under the page's "## Results".
    tables = "\n".join("#" + line if line.startswith("## ") else line for line in text.splitlines())
    doc.write_text(f"{head}{start}\n{stamp}\n\n{tables}\n{end}{tail}", encoding="utf-8")
    print(f"(and into docs/{doc.name})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="1 M rows only")
    parser.add_argument("--only", choices=NAMES, help="run one benchmark (the stores are built as needed)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=generate.CACHE / "last-run.md", help="also write the tables here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    info = machine()
    print("\n".join(f"{k}: {v}" for k, v in info.items()), flush=True)
    report = Report()
    work = generate.CACHE / "work"
    work.mkdir(parents=True, exist_ok=True)
    sizes = SIZES[:1] if args.quick else SIZES

    def wanted(name: str) -> bool:
        return args.only is None or args.only == name

    steps: list[tuple[str, Callable[[generate.Built], None]]] = [
        ("dashboard", lambda b: bench_dashboard(report, b, work)),
        ("ingest", lambda b: bench_ingest(report, b, work)),
        ("import", lambda b: bench_import(report, b, work)),
    ]
    for rows in sizes:
        if args.only == "http":
            break
        built = bench_build(report, rows, args.seed)
        for name, step in steps:
            if wanted(name):
                step(built)
    if wanted("http"):
        bench_http(report)
    text = render(info, report, time.perf_counter() - started)
    print("\n" + text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(f"\n(also written to {args.out})")
    if args.only is None and not args.quick:
        publish(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
