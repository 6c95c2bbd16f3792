"""``python -m bench.import_website_csv [--rows 1000000] [--baseline-rows 100000] [--runs 3] [--only STEP]``:
`orusage import` of a website activity export, against two ways people usually load a CSV. ``--only`` runs one
step: ``prepare`` (write the export file), ``import`` or ``baselines``; ``make bench`` runs each in a process of
its own, so the import's peak RSS is its own.

* the export: the fake's own data written by ``fake_openrouter.website_csv.write_website_csv`` (~107 k rows, every
  column realistic), repeated with suffixed ids up to ``--rows`` by a DuckDB ``COPY`` (cached under
  ``bench/.cache/``);
* ``orusage import``: the command's code path (``orusage.importer.import_once``) into a fresh store:
  read and check the whole file, then stream it into the table in one transaction, link identities,
  reconcile, checkpoint and publish the snapshot. Best of ``--runs``; then the same file again (recognised
  by its fingerprint, not read), and again with ``--force`` (read and merged: the idempotent re-import);
  with ``BENCH_STORE`` (a store built by ``bench.generate``) also into a copy of that store;
* baseline 1, pandas: ``pandas.read_csv`` of the file + one DuckDB insert of the DataFrame (at most 1 M
  rows measured; more are scaled linearly, and labelled so);
* baseline 2, the csv module + row inserts (``executemany``): measured on ``--baseline-rows`` rows and
  scaled linearly to ``--rows``, labelled so.

Goals: under 3 s for 1 M rows; the same file again under 2 s at 10 M rows. Never run by the tests.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from pydantic import SecretStr

from core.settings import load_settings
from fake_openrouter.dataset import build
from fake_openrouter.website_csv import write_website_csv
from orusage.importer import import_once
from queries.migrations import migrate

CACHE = Path(__file__).resolve().parent / ".cache" / "import-export"
ANCHOR = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
GOAL_S = 3.0
PANDAS_MAX_ROWS = 1_000_000

# export column → generations column, for the baselines (the same mapping the import applies).
BASELINE_COLUMNS = {
    "generation_id": ("id", str),
    "created_at": ("created_at", str),
    "cost_total": ("total_cost", float),
    "byok_usage_inference": ("byok_usage_inference", float),
    "tokens_prompt": ("tokens_prompt", int),
    "tokens_completion": ("tokens_completion", int),
    "tokens_reasoning": ("native_tokens_reasoning", int),
    "tokens_cached": ("native_tokens_cached", int),
    "model_permaslug": ("model_permaslug", str),
    "provider_name": ("provider_name", str),
    "user": ("external_user", str),
    "finish_reason_raw": ("native_finish_reason", str),
    "finish_reason_normalized": ("finish_reason", str),
    "generation_time_ms": ("generation_time", float),
    "app_name": ("app_name", str),
    "api_key_name": ("api_key_name", str),
    "variant": ("variant", str),
    "time_to_first_token_ms": ("time_to_first_token_ms", float),
    "cost_web_search": ("cost_web_search", float),
    "cost_cache": ("cost_cache", float),
    "cost_file_processing": ("cost_file_processing", float),
}


def make_export(rows: int) -> Path:
    """A ``rows``-row 2026-layout export, built once and cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"activity-{rows}.csv"
    if path.exists():
        return path
    seed = CACHE / "activity-seed.csv"
    if not seed.exists():
        dataset = build(ANCHOR)
        write_website_csv(dataset, seed, datetime(2000, 1, 1), ANCHOR.replace(tzinfo=None))
    tmp = path.with_suffix(".tmp")
    con = duckdb.connect()
    seed_rows = con.execute(
        "SELECT count(*) FROM read_csv(?, header = true, all_varchar = true)", [str(seed)]
    ).fetchone()
    copies = -(-rows // int(seed_rows[0] if seed_rows else 1))
    # Values copied verbatim (all_varchar), ids made unique by a suffix: the same shape, more rows.
    con.execute(
        f"""COPY (SELECT * REPLACE (generation_id || '-' || lpad(i::VARCHAR, 4, '0') AS generation_id)
                  FROM read_csv('{seed}', header = true, all_varchar = true), range({copies}) t(i)
                  ORDER BY i, created_at LIMIT {rows})
            TO '{tmp}' (FORMAT csv, HEADER true, FORCE_QUOTE (api_key_name, app_name))"""  # noqa: S608 - our own paths
    )
    con.close()
    tmp.rename(path)
    return path


def time_orusage(path: Path, folder: Path, store: Path | None = None) -> tuple[float, float, float, str]:
    """(seconds for the import, for importing the same file again (recognised: not read), for importing it
    again with --force (read and merged again), summary line)."""
    db = folder / "orusage.duckdb"
    if store is not None:
        shutil.copyfile(store, db)
    settings = load_settings(orusage_db=db, openrouter_management_key=SecretStr("unused"))
    started = time.perf_counter()
    summary = import_once(settings, [path])
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = import_once(settings, [path])
    skipped = time.perf_counter() - started
    if not again.startswith("import: nothing new"):
        raise RuntimeError(f"the same file again was not recognised: {again}")
    started = time.perf_counter()
    import_once(settings, [path], force=True)
    return first, skipped, time.perf_counter() - started, summary


def _fresh_store(folder: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(folder / "baseline.duckdb"))
    migrate(con)
    return con


def time_pandas(path: Path, rows: int, folder: Path) -> float:
    import pandas as pd

    con = _fresh_store(folder)
    started = time.perf_counter()
    frame = pd.read_csv(path, nrows=rows)
    frame = frame[list(BASELINE_COLUMNS)].rename(columns={k: v for k, (v, _) in BASELINE_COLUMNS.items()})
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    frame["source"] = "export"
    con.register("frame", frame)
    con.execute("INSERT INTO generations BY NAME SELECT * FROM frame")
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def time_row_inserts(path: Path, rows: int, folder: Path) -> float:
    con = _fresh_store(folder)
    names = [v for v, _ in BASELINE_COLUMNS.values()]
    sql = f"INSERT INTO generations ({', '.join(names)}, source) VALUES ({', '.join('?' for _ in names)}, 'export')"  # noqa: S608
    started = time.perf_counter()
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        batch: list[list[object]] = []
        for i, row in enumerate(reader):
            if i >= rows:
                break
            batch.append([kind(row[k]) if row[k] != "" else None for k, (_, kind) in BASELINE_COLUMNS.items()])
    con.execute("BEGIN")
    con.executemany(sql, batch)
    con.execute("COMMIT")
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000, help="rows for the csv + row-insert baseline")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("prepare", "import", "baselines"), help="one step (the runner's children)")
    args = parser.parse_args()
    path = make_export(args.rows)
    print(f"export: {args.rows:,} rows, {path.stat().st_size / 1e6:,.0f} MB ({path}); {os.cpu_count()} CPUs")
    if args.only == "prepare":
        return
    best = _imports(path, args.rows, args.runs) if args.only != "baselines" else None
    if args.only != "import":
        _baselines(path, args.rows, args.baseline_rows, best)


def _imports(path: Path, rows: int, runs_wanted: int) -> float:
    """`orusage import` of the file into a fresh store (best of ``runs_wanted``), then again; the best time."""
    goal = GOAL_S * rows / 1_000_000
    runs: list[tuple[float, float, float]] = []
    for _ in range(max(1, runs_wanted)):
        with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
            first, again, forced, summary = time_orusage(path, Path(folder))
            runs.append((first, again, forced))
    best = min(r[0] for r in runs)
    print(f"  {summary}")
    print(
        f"orusage import, fresh store:             {best:6.2f} s  (best of {len(runs)}: "
        f"{', '.join(f'{r[0]:.2f}' for r in runs)})  goal < {goal:g} s ({GOAL_S:g} s per 1M rows): "
        f"{'met' if best < goal else 'NOT met'}"
    )
    print(f"orusage import of the same file again:   {min(r[1] for r in runs):6.2f} s  (recognised: not read)")
    print(f"orusage import of the same file, --force: {min(r[2] for r in runs):6.2f} s  (read and merged: no change)")
    store = os.environ.get("BENCH_STORE")
    if store and Path(store).exists():
        with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
            into, _again, _forced, _ = time_orusage(path, Path(folder), Path(store))
        print(f"orusage import into a copy of {Path(store).name}: {into:6.2f} s")
    return best


def _baselines(path: Path, rows: int, baseline_rows: int, best: float | None) -> None:
    """The two usual ways to load a CSV; with the import's time, their ratios to it."""

    def ratio(seconds: float) -> str:
        return f"  ratio {seconds / best:5.1f}×" if best else ""

    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        measured = min(rows, PANDAS_MAX_ROWS)
        pandas_s = time_pandas(path, measured, Path(folder)) * rows / measured
    label = "" if measured == rows else f" (measured on {measured:,} rows, scaled ×{rows / measured:g})"
    print(f"pandas read_csv + DuckDB insert:         {pandas_s:6.2f} s{ratio(pandas_s)}{label}")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        measured = min(rows, baseline_rows)
        rows_s = time_row_inserts(path, measured, Path(folder)) * rows / measured
    print(
        f"csv module + row inserts (executemany):  {rows_s:6.2f} s{ratio(rows_s)}"
        f"  (measured on {measured:,} rows, scaled ×{rows / measured:g})"
    )


if __name__ == "__main__":
    main()
