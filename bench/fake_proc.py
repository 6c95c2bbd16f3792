"""The fake OpenRouter for the benchmarks, in its own process: prints one JSON line (base_url, ids), serves until
its standard input closes, then prints one more (what it answered to POST /analytics/query: how many, how many
429s)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime

from fake_openrouter.dataset import build
from fake_openrouter.large import LargeAccount
from fake_openrouter.server import FakeServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--ids", type=int, default=0, help="print this many generation ids (older than a day)")
    parser.add_argument("--now", default=None, help="the data set's now (ISO, UTC); default the real now")
    parser.add_argument("--large", type=float, default=None, help="a large account, this many times the volume")
    parser.add_argument("--analytics-limit", type=int, default=None, help="analytics queries per (fake) minute")
    parser.add_argument("--time-scale", type=float, default=1.0, help="the fake's clock runs this much faster")
    args = parser.parse_args()
    now = datetime.fromisoformat(args.now).replace(tzinfo=UTC) if args.now else datetime.now(UTC)
    large = LargeAccount(volume=args.large) if args.large else None
    dataset = build(now, large=large)
    ids: list[str] = []
    if args.ids:
        rows = (
            dataset.cursor()
            .execute(
                "SELECT id FROM generations WHERE created_at < ? ORDER BY created_at DESC LIMIT ?",
                [now.replace(tzinfo=None).replace(hour=0, minute=0, second=0, microsecond=0), args.ids],
            )
            .fetchall()
        )
        ids = [str(r[0]) for r in rows]
    scale = args.time_scale

    def clock() -> float:
        return time.monotonic() * scale

    server = FakeServer(dataset, latency_s=args.latency, analytics_rate_per_minute=args.analytics_limit, clock=clock)
    with server:
        print(json.dumps({"base_url": server.base_url, "ids": ids}), flush=True)
        sys.stdin.read()  # until the parent closes the pipe
        queries = [r for r in server.requests if r.endpoint == "/analytics/query"]
        print(json.dumps({"analytics_queries": len(queries), "refused_429": sum(r.status == 429 for r in queries)}))


if __name__ == "__main__":
    main()
