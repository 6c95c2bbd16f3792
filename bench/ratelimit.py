"""Ingest at the rate limit: the first ingest of a large account (50 keys, 300 models, 200 apps, 3 workspaces,
12 members; the fake's generator at 10× the demo's volume, about a million generations), whose analytics
backfill is the most queries ``orusage ingest`` ever sends, against the floor OpenRouter's limit sets.

OpenRouter allows 64 analytics queries a minute (a sliding window); ``orusage ingest`` paces itself at 60. To
fit the benchmark's time, the fake's limiter and the ingest's pacer both run on a clock twice as fast as real
time: 64 a (fake) minute is 128 a real minute, and the pacer is the project's own, set as ``orusage ingest``
sets it (60 a minute, on that clock), so it behaves as it would at 64 a minute, twice as soon. (Ten times as
fast, 640 a minute, leaves 94 ms per query: less than this machine's two cores need to answer and store a
7,000-row answer, so the run would measure that work instead of the pacing.) N is every query sent: the plan's,
plus one more wherever an answer came back truncated (over 10,000 rows) and was resumed from the day it
stopped in. The floor is N ÷ 128 a minute; the goal is a backfill within 1.15× of it, N ≥ 256, and not one 429.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench import generate, proc
from bench.report import Report, Row, met, table

VOLUME = 10.0
LIMIT = 64  # OpenRouter's, per minute of the fake's clock
SCALE = 2.0
GOAL_RATIO = 1.15
MIN_QUERIES = 256


def bench_ratelimit(report: Report, work: Path) -> None:
    from fake_openrouter.keys import DEMO_MANAGEMENT_KEY

    folder = work / "ratelimit"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    out = folder / "ratelimit.json"
    print(f"ingest at the rate limit: a large account, limit {LIMIT} a minute at {SCALE:g}× speed …", flush=True)
    with proc.FakeProcess(
        latency_s=0.0, now=generate.ANCHOR.isoformat(), large=VOLUME, analytics_limit=LIMIT, time_scale=SCALE
    ) as fake:
        env = {
            "ORUSAGE_DB": str(folder / "orusage.duckdb"),
            "OPENROUTER_BASE_URL": fake.base_url,
            "OPENROUTER_MANAGEMENT_KEY": DEMO_MANAGEMENT_KEY,
            "BENCH_TIME_SCALE": str(SCALE),
        }
        with open(folder / "ingest.log", "w") as log:
            child = proc.run("bench.ratelimit_child", str(out), env=env, stdout=log)
    if child.returncode != 0 or not out.exists():
        report.notes.append(f"ingest at the rate limit failed (exit {child.returncode}); see {folder}")
        return
    found = json.loads(out.read_text())
    sent = sum(found["sent"].values())
    refused = int(fake.stats.get("refused_429", -1))
    per_minute = LIMIT * SCALE
    floor = sent * 60.0 / per_minute
    wall = float(found["backfill_seconds"])
    ratio = wall / floor if floor else float("inf")
    planned = sum(found["planned"].values())
    report.add(
        Row(
            f"first ingest of a large account: analytics backfill of N = {sent} queries ({planned} planned, "
            f"{sent - planned} more to resume truncated answers), the limit at {per_minute:.0f} a minute",
            "—",
            f"{wall:.1f} s; {refused} answered 429; whole ingest {found['ingest_seconds']:.1f} s, "
            f"peak RSS {child.peak_rss_mb:,.0f} MB",
            baseline=f"floor N ÷ {per_minute:.0f}/min = {floor:.1f} s",
            ratio=f"{ratio:.2f}× the floor",
            goal=f"≤ {GOAL_RATIO}× the floor, no 429, N ≥ {MIN_QUERIES}",
            met=met(ratio <= GOAL_RATIO and refused == 0 and sent >= MIN_QUERIES),
        )
    )
    rows = [
        [grouping, str(found["planned"].get(grouping, 0)), str(found["sent"].get(grouping, 0))]
        for grouping in sorted(set(found["planned"]) | set(found["sent"]))
    ]
    rows.append(["all", str(planned), str(sent)])
    report.sections.append(
        (
            "Ingest at the rate limit: analytics queries per grouping (the first ingest of the large account)",
            table(["grouping", "planned", "sent (with the resumptions of truncated answers)"], rows)
            + f"\n\n{found['keys']} keys, {found['models']} models; the pacer waited "
            f"{found['paced_seconds']:.1f} s (real time) in all.",
        )
    )
    shutil.rmtree(folder, ignore_errors=True)
