"""``python -m bench.broadcast [--deliveries N] [--senders K]``: how fast the live feed takes deliveries in
and merges them, on this machine. Not part of ``make bench``'s tables (no baseline to compare with); the
figures are quoted in docs/broadcast.md.

* the receiver: N OTLP/JSON deliveries (each one generation's trace, as the fake sends them, Privacy Mode
  on) posted by K concurrent senders over keep-alive connections: deliveries per second and the latency
  of an answer (each one is parsed, reduced to the allowlist, written, fsynced and renamed before it);
* the merge: the N spooled deliveries into a fresh store, then the same N again (all duplicates).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from core.clock import utcnow
from fake_openrouter.broadcast import Destination
from fake_openrouter.dataset import build
from fake_openrouter.server import FakeServer
from ingest.broadcast.merge import merge_spool
from ingest.broadcast.server import Receiver, ReceiverConfig
from ingest.broadcast.spool import Spool, spool_path
from queries.store import Writer

TOKEN = "bench-token"
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def _bodies(count: int) -> list[bytes]:
    dataset = build(NOW)
    with FakeServer(dataset) as fake:
        rows = fake.broadcaster.rows(since=datetime(2026, 11, 1), until=datetime(2026, 11, 20), limit=count)
        destination = Destination("http://unused", privacy_mode=True)
        return [json.dumps(fake.broadcaster.payload(row, destination)).encode() for row in rows]


def _post_all(url: str, bodies: list[bytes], senders: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    chunks = [bodies[i::senders] for i in range(senders)]

    def send(chunk: list[bytes]) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        with httpx.Client(headers=headers, timeout=60) as client:
            for body in chunk:
                started = time.perf_counter()
                answer = client.post(url, content=body)
                took = time.perf_counter() - started
                assert answer.status_code == 200, answer.text
                with lock:
                    latencies.append(took)

    threads = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--senders", type=int, default=8)
    args = parser.parse_args()
    bodies = _bodies(args.deliveries)
    size = statistics.mean(len(b) for b in bodies)
    print(f"{len(bodies)} deliveries of {size / 1024:.1f} KiB on average, {args.senders} senders")
    db = Path(tempfile.mkdtemp(prefix="bench-broadcast-")) / "orusage.duckdb"
    spool = Spool(spool_path(db))
    receiver = Receiver("127.0.0.1", 0, ReceiverConfig(spool, SecretStr(TOKEN), 8 << 20, utcnow)).start()
    try:
        for round_name in ("first", "again (duplicates)"):
            started = time.perf_counter()
            latencies = sorted(_post_all(receiver.url, bodies, args.senders))
            took = time.perf_counter() - started
            p50 = latencies[len(latencies) // 2] * 1000
            p99 = latencies[int(len(latencies) * 0.99)] * 1000
            rate = len(bodies) / took
            print(f"receive ({round_name}): {rate:,.0f} deliveries/s; answer p50 {p50:.1f} ms, p99 {p99:.1f} ms")
            started = time.perf_counter()
            with Writer(db) as writer:
                result = merge_spool(writer, spool)
            took = time.perf_counter() - started
            print(
                f"merge ({round_name}): {result.deliveries:,} deliveries in {took:.2f} s "
                f"({result.deliveries / took:,.0f}/s, snapshot published included): {result.summary()}"
            )
    finally:
        receiver.stop()
    print(f"store: {db} ({db.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
