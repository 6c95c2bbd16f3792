"""The fake OpenRouter for the benchmarks, in its own process: prints one JSON line (base_url, ids), then
serves until its standard input closes."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from fake_openrouter.dataset import build
from fake_openrouter.server import FakeServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--ids", type=int, default=0, help="print this many generation ids (older than a day)")
    parser.add_argument("--now", default=None, help="the data set's now (ISO, UTC); default the real now")
    args = parser.parse_args()
    now = datetime.fromisoformat(args.now).replace(tzinfo=UTC) if args.now else datetime.now(UTC)
    dataset = build(now)
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
    server = FakeServer(dataset, latency_s=args.latency, analytics_rate_per_minute=None)
    with server:
        print(json.dumps({"base_url": server.base_url, "ids": ids}), flush=True)
        sys.stdin.read()  # until the parent closes the pipe


if __name__ == "__main__":
    main()
