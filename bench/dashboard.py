"""Every dashboard page's full script run under ``streamlit.testing.v1.AppTest``, per filter set: cold, after a
publish, warm, and the page's floor.

Run by the runner in a child process (so its peak RSS is the dashboard's own)::

    ORUSAGE_DB=… ORUSAGE_TODAY=… python -m bench.dashboard OUT.json

Pages come from ``dashboard/app.py``'s ``PAGES`` (read with ``ast``: importing the entry script runs it).
A page is opened as a browser opens a link: the filters in the query string, the first run on the default
page, then a switch. Per page and filter set:

* *after a publish*: ``st.cache_data.clear()`` and a new snapshot version (the snapshot's mtime moves, as
  after an ingest), so the run opens the new version's connection and every read goes to DuckDB;
* *cold*: ``st.cache_data.clear()`` only: every read goes to DuckDB, through the process's kept connection
  (what a run with a filter set no one asked for yet costs);
* *warm*: the same run again, from the caches;
* *answers*: the part of the cold run spent inside its reads (``PageReader.run``), and the *floor*: the same
  reads (the functions and arguments the cold run called) replayed straight on a cursor of the kept
  connection, outside Streamlit, best of three: what DuckDB needs to answer that page's questions.

Cold and after-a-publish are the best of two (the machine may be shared with other work).
"""

from __future__ import annotations

import ast
import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboard" / "app.py"


def pages() -> list[tuple[str, str]]:
    """(url_path, page file relative to app.py) for every page of the app, in menu order."""
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign):
            target: ast.expr | None = node.target
            value = node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == "PAGES" and value is not None:
            found = ast.literal_eval(value)
            return [(str(url), f"nav/{file}") for file, _title, _icon, url in found]
    raise RuntimeError("dashboard/app.py has no PAGES")


def scenarios(snapshot: Path, today: date) -> tuple[dict[str, dict[str, Any]], str]:
    """Filter sets, each as the query string a link would carry (the default, the longest ranges, filters),
    and the biggest model (the Model detail page's subject)."""
    import duckdb

    from queries import reads

    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        models = [str(m) for m in reads.model_options(con)["model_permaslug"]][:3]
        providers = list(reads.provider_options(con))[:2]
        apps = [a for a in reads.app_options(con) if a != "unattributed"][:2]
        keys = [str(k) for k in reads.key_options(con)["hash"]][:2]
    finally:
        con.close()
    old_to = today - timedelta(days=100)
    return {
        "default (30d)": {},
        "range year": {"range": "year"},
        "custom, analytics only": {
            "range": "custom",
            "from": (old_to - timedelta(days=99)).isoformat(),
            "to": old_to.isoformat(),
        },
        "2 providers": {"providers": providers},
        "2 apps": {"apps": apps},
        "90d + 2 models + 2 keys": {"range": "90d", "models": models[:2], "keys": keys},
    }, models[0]


def _bump(snapshot: Path) -> None:
    """A new snapshot version (``snapshot_version`` includes the mtime), as after an ingest."""
    now = time.time_ns()
    os.utime(snapshot, ns=(now, now))


class ReadClock:
    """The time a page run spends getting its answers: inside ``PageReader.run`` (every read through
    ``queries``), apart from drawing; and the reads themselves (function and arguments), for the floor.
    Wrapped here, in the benchmark's own process, so the dashboard carries no timing code."""

    seconds = 0.0
    calls: ClassVar[list[tuple[Any, tuple[Any, ...], dict[str, Any]]]] = []

    @classmethod
    def install(cls) -> None:
        from queries.reads import PageReader

        inner = PageReader.run

        def timed(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
            cls.calls.append((fn, args, kwargs))
            started = time.perf_counter()
            try:
                return inner(self, fn, *args, **kwargs)
            finally:
                cls.seconds += time.perf_counter() - started

        PageReader.run = timed  # type: ignore[method-assign]


def _run_timed(at: Any) -> tuple[float, float, str | None]:
    """(seconds for the whole script run, seconds of it spent reading, error)."""
    ReadClock.seconds = 0.0
    ReadClock.calls = []
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    error = "; ".join(str(e.value)[:200] for e in at.exception) if at.exception else None
    return seconds, ReadClock.seconds, error


def floor(db: Path, calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]], repeats: int = 3) -> float:
    """The reads of one page run, straight on a cursor of the kept connection: best of ``repeats``."""
    from queries import snapshots

    lease = snapshots.lease(db)
    try:
        con = lease.cursor()
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            for fn, args, kwargs in calls:
                fn(con, *args, **kwargs)
            best = min(best, time.perf_counter() - started)
        return best
    finally:
        lease.release()


def main(out: Path) -> None:
    import streamlit as st
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    set_log_level("error")  # AppTest's bare-mode warnings, once per run

    from queries.store import snapshot_path

    db = Path(os.environ["ORUSAGE_DB"])
    today = date.fromisoformat(os.environ["ORUSAGE_TODAY"])
    snapshot = snapshot_path(db)
    found, top_model = scenarios(snapshot, today)
    results: list[dict[str, Any]] = []

    ReadClock.install()
    # The process's first AppTest run imports Streamlit's script machinery: measured apart, not counted.
    first = AppTest.from_file(str(APP), default_timeout=300)
    process_first, _, _ = _run_timed(first)

    for url, file in pages():
        for name, params in found.items():
            at = AppTest.from_file(str(APP), default_timeout=300)
            for key, value in params.items():
                at.query_params[key] = value
            at.run()  # the link opens on the default page, which seeds the filters from the query string
            if url != "overview":
                kept = dict(at.query_params)
                at.switch_page(file)
                at.query_params.clear()
                at.query_params.update({**kept, **params, **({"model": top_model} if url == "model" else {})})
            errors: list[str | None] = []
            published = []
            for _ in range(2):  # the first run after an ingest: caches cleared, a new snapshot version
                st.cache_data.clear()
                _bump(snapshot)
                seconds, _read, error = _run_timed(at)
                published.append(seconds)
                errors.append(error)
            colds = []
            for _ in range(2):  # caches cleared, the snapshot's connection kept
                st.cache_data.clear()
                seconds, read, error = _run_timed(at)
                colds.append((seconds, read, list(ReadClock.calls)))
                errors.append(error)
            warm, _, warm_error = _run_timed(at)
            cold, reads, calls = min(colds, key=lambda c: c[0])
            bare = floor(db, calls)
            error = next((e for e in [*errors, warm_error] if e), None)
            results.append(
                {
                    "page": url,
                    "scenario": name,
                    "cold": cold,
                    "cold_reads": reads,
                    "floor": bare,
                    "reads_count": len(calls),
                    "published": min(published),
                    "warm": warm,
                    "error": error,
                }
            )
            print(f"  {url:10} {name:26} cold {cold:6.3f} s (reads {reads:6.3f} s, floor {bare:6.3f} s, "
                  f"{len(calls)} reads)  after a publish {min(published):6.3f} s  warm {warm:6.3f} s"
                  f"{'  ERROR' if error else ''}", file=sys.stderr, flush=True)  # fmt: skip
    hwm_kb = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm_kb = int(line.split()[1])
    out.write_text(json.dumps({"process_first_run": process_first, "runs": results, "vm_hwm_kb": hwm_kb}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
