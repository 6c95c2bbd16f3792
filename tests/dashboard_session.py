"""Dashboard sessions in processes of their own, for the concurrency test:
``python -m tests.dashboard_session --sessions N --seconds T --signals DIR``.

A session is one Streamlit AppTest of ``dashboard/app.py`` clicking through every page of the menu, over
and over, as a person leaving the dashboard open would. This process imports Streamlit, pandas, DuckDB
and the dashboard once, then forks N children, one session each: separate processes (own interpreter
state, caches and DuckDB connections) that share only the start-up cost, which on a 2-core machine would
otherwise dwarf the reading. Only the main thread exists at the fork (nothing here starts threads before
it). Sessions read ``ORUSAGE_DB`` and ``ORUSAGE_TODAY`` from the environment, like the real app.

Protocol, through files in DIR so that nobody ever blocks on a pipe:

1. each session waits for ``stored`` (a first snapshot exists), opens the Overview and writes what it
   showed to ``ready-<i>.json``, then waits for ``go``;
2. it visits every page for at least T seconds, and on until ``done`` exists and it has made one full
   round of the pages after that (so every page surely read the newest snapshot);
3. it writes ``report-<i>.json``: page runs and when each ended, errors (a page and what went wrong),
   every distinct pair of Overview numbers it was shown (spend and requests: one whole snapshot's, never
   a mix) and the pair of its last round.

One more child reads the snapshot's totals straight from DuckDB in a loop, as `orusage status` does, and
writes every distinct total it saw to ``report-snapshot.json``. This process exits 0 once every child has
reported, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import json
import os
import pkgutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

import dashboard.views
from queries.store import read_snapshot

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
WHOLE = ("Spend", "Requests")  # the Overview's period KPIs that a torn read would tear apart
RANGE = "30d"
# Summed as exact decimals: a float sum changes in its last bits with the order DuckDB adds in.
TOTAL_SPEND = "SELECT count(*), sum(CAST(spend AS DECIMAL(38, 12))) FROM daily_spend_by_model"


def pages() -> list[tuple[str, str]]:
    """(page file under dashboard/, title) of every page in the menu, read from ``PAGES`` in app.py
    (importing app.py would run the app), so a page added there is visited here too."""
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "PAGES":
            assert node.value is not None
            return [(f"nav/{file}", title) for file, title, _icon, _url in ast.literal_eval(node.value)]
    raise AssertionError("no PAGES in dashboard/app.py")


def read_page(at: AppTest, page: str, title: str) -> dict[str, Any]:
    """Run the app as the page's menu link does (keeping only the range) and read what it showed."""
    at.query_params.clear()
    at.query_params["range"] = RANGE
    at.run()
    seen: dict[str, Any] = {"page": page}
    if at.exception:
        seen["error"] = "; ".join(str(e.value)[:300] for e in at.exception)
        return seen
    if at.error:  # what the app shows a person when a read fails (a store error, say)
        seen["error"] = "; ".join(str(e.value)[:300] for e in at.error)
        return seen
    titles = [t.value for t in at.title]
    if titles != [title]:
        seen["error"] = f"titles {titles}, expected [{title!r}]"
        return seen
    if page.endswith("/overview.py"):
        metrics = {m.label: m.value for m in at.metric}
        if not all(label in metrics for label in WHOLE):
            seen["error"] = f"no {WHOLE} among {sorted(metrics)}"
        else:
            seen["whole"] = [metrics[label] for label in WHOLE]
    return seen


def _wait_for(signal: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout  # never spin forever if the test that started us is gone
    while not signal.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {signal.name} signal after {timeout:.0f} s")
        time.sleep(0.02)


def _write(path: Path, value: object) -> None:
    """Whole or not at all: the test polls for these files."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value), encoding="utf-8")
    os.replace(tmp, path)


def session(number: int, seconds: float, signals: Path) -> None:
    menu = pages()
    assert menu[0][0].endswith("/overview.py"), "the Overview is the default page, opened by the bare URL"
    at = AppTest.from_file(str(APP), default_timeout=60)
    _wait_for(signals / "stored")
    _write(signals / f"ready-{number}.json", read_page(at, *menu[0]))
    _wait_for(signals / "go")
    started = time.monotonic()
    runs, errors, pairs = 0, [], set()
    # time.monotonic() is CLOCK_MONOTONIC on Linux, one clock for all processes: the test can tell which
    # runs ended while the ingest was writing.
    finished: list[float] = []
    last: list[str] = []
    rounds_after_done = 0
    while rounds_after_done < 1 or time.monotonic() - started < seconds:
        done = (signals / "done").exists()
        for page, title in menu:
            at.switch_page(page)
            seen = read_page(at, page, title)
            runs += 1
            finished.append(round(time.monotonic(), 3))
            if "error" in seen:
                errors.append(f"{page}: {seen['error']}")
            if "whole" in seen:
                pairs.add(tuple(seen["whole"]))
                last = seen["whole"]
        rounds_after_done += done
    report = {
        "page_runs": runs,
        "pages": len(menu),
        "seconds": round(time.monotonic() - started, 2),
        "finished": finished,
        "errors": errors,
        "whole": sorted(list(pair) for pair in pairs),
        "last": last,
    }
    _write(signals / f"report-{number}.json", report)


def snapshot_reader(seconds: float, signals: Path) -> None:
    """Read the snapshot's totals straight from DuckDB in a loop, as `orusage status` does, until the
    sessions are done; report every distinct total seen."""
    _wait_for(signals / "go")
    started, reads, totals = time.monotonic(), 0, set()
    while not (signals / "done").exists() or time.monotonic() - started < seconds:
        with read_snapshot() as con:
            row = con.execute(TOTAL_SPEND).fetchone()
        totals.add(json.dumps(row, default=str))
        reads += 1
        time.sleep(0.02)
    _write(signals / "report-snapshot.json", {"reads": reads, "totals": sorted(totals)})


def _fork(work: Callable[[], None]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        work()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # a forked child must not run the parent's exit handlers


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--signals", type=Path, required=True)
    args = parser.parse_args()
    # Everything a page run imports, imported once before the fork.
    for module in pkgutil.iter_modules(dashboard.views.__path__):
        importlib.import_module(f"dashboard.views.{module.name}")
    children = [_fork(functools.partial(session, n, args.seconds, args.signals)) for n in range(args.sessions)]
    children.append(_fork(functools.partial(snapshot_reader, args.seconds, args.signals)))
    failed = sum(1 for pid in children if os.waitpid(pid, 0)[1] != 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
