"""The benchmark's figures: each beside its baseline and goal, printed as they come, then rendered as Markdown
tables (written to a file, and on a full run into docs/performance.md between its markers)."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
MARKERS = {
    "results": ("<!-- bench:results:start -->", "<!-- bench:results:end -->"),
    "100M": ("<!-- bench:100m:start -->", "<!-- bench:100m:end -->"),
}


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
    sections: list[tuple[str, str]] = field(default_factory=list)  # (heading, Markdown) of the other benchmarks

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  {row.figure} [{row.size}]: {row.value} (baseline {row.baseline}, ratio {row.ratio}) {row.met}")

    def grow(self, figure: str, size: str, value: float) -> None:
        self.growth.setdefault(figure, {})[size] = value


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _cell(entry: dict[str, Any], key: str, fmt: str = "{:.3f}") -> str:
    return fmt.format(entry[key]) if key in entry else "—"


def _pages(report: Report) -> list[str]:
    rows = []
    for e in report.pages:
        cells = [e["page"], e["size"], _cell(e, "cold_p50"), f"{e['cold_max']:.3f} ({e['cold_max_scenario']})",
                 _cell(e, "published_max"), _cell(e, "warm_max")]  # fmt: skip
        for span in ("30d", "year"):
            cells += [_cell(e, f"reads {span}"), _cell(e, f"floor {span}"), _cell(e, f"pandas {span}")]
            cells.append(_cell(e, f"speedup {span}", "{:.1f}×"))
        rows.append([*cells, e.get("goal", "—")])
    headers = ["page", "size", "cold median", "cold slowest (filter set)", "after a publish, slowest", "warm slowest",
               "answers 30 d", "floor 30 d", "pandas 30 d", "÷", "answers year", "floor year", "pandas year", "÷",
               "answers ≥ 20× pandas, or near the floor"]  # fmt: skip
    return [
        "## Dashboard pages (seconds per full script run; answers = the cold run's time inside its reads; floor = "
        "the same reads straight on the kept connection; ÷ = pandas ÷ answers)",
        table(headers, rows),
        "",
    ]


def _growth(report: Report, small: str, big: str) -> list[str]:
    rows = [
        [figure, f"{v[small]:.3f}", f"{v[big]:.3f}", f"{v[big] / v[small]:.1f}×" if v[small] else "—"]
        for figure, v in report.growth.items()
        if small in v and big in v
    ]
    if not rows:
        return []
    times = int(big.rstrip("M")) // max(1, int(small.rstrip("M")))
    return [
        f"## Growth from {small} to {big} rows ({times}× the rows)",
        table(["figure", small, big, f"{big} ÷ {small} (vs {times}×)"], rows),
        "",
    ]


def render(info: dict[str, str], report: Report, seconds: float) -> str:
    out = ["## Machine", table(["", ""], [[k, v] for k, v in info.items()]), ""]
    out += [
        "## Figures",
        table(
            ["figure", "size", "value", "baseline", "ratio", "goal", "met?"],
            [[r.figure, r.size, r.value, r.baseline, r.ratio, r.goal, r.met] for r in report.rows],
        ),
        "",
    ]
    if report.pages:
        out += _pages(report)
    for heading, body in report.sections:
        out += [f"## {heading}", body, ""]
    out += _growth(report, "1M", "10M") + _growth(report, "10M", "100M")
    if report.notes:
        out += ["## Notes", *[f"- {n}" for n in report.notes], ""]
    out.append(f"Whole run: {seconds / 60:.1f} min; load average at the end: "
               + " / ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
    return "\n".join(out)


def render_big(info: dict[str, str], report: Report, size: str, seconds: float) -> str:
    """The figures of the ``size`` run alone, with their growth from 10M: docs/performance.md keeps them apart,
    as a run at that size is optional and rare."""
    only = Report(
        rows=[r for r in report.rows if r.size == size],
        pages=[e for e in report.pages if e["size"] == size],
        growth={f: {k: v for k, v in sizes.items() if k in ("10M", size)} for f, sizes in report.growth.items()},
        notes=[n for n in report.notes if n.startswith(size)],
    )
    return render(info, only, seconds)


def publish(text: str, block: str = "results", doc: Path = RESULTS_DOC) -> None:
    """Put a run's tables between ``block``'s markers in docs/performance.md, under a dated line."""
    start_marker, end_marker = MARKERS[block]
    page = doc.read_text(encoding="utf-8")
    head, start, rest = page.partition(start_marker)
    _, end, tail = rest.partition(end_marker)
    if not (start and end):
        print(f"\n({doc.name} has no {start_marker} … {end_marker} markers: not updated)")
        return
    stamp = (
        f"Measured on {time.strftime('%Y-%m-%d', time.gmtime())} (UTC) by `make bench"
        + (" SIZE=100M" if block == "100M" else "")
        + f"` on a machine with {len(os.sched_getaffinity(0))} CPUs (nproc) and Python {platform.python_version()}."
    )
    # One level down: the tables' sections sit under the page's own headings.
    tables = "\n".join("#" + line if line.startswith("## ") else line for line in text.splitlines())
    doc.write_text(f"{head}{start}\n{stamp}\n\n{tables}\n{end}{tail}", encoding="utf-8")
    print(f"(and into docs/{doc.name}, {block})")
