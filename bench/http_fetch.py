"""``GET /generation`` throughput against the fake with 50 ms injected latency: a plain sequential loop of
httpx GETs (the baseline) against the project's fetcher (``ingest.generations.fetch.Fetcher``: a bounded
thread pool sharing one ``OpenRouterClient``, paced by ``rate_pacer``), at a stated rate cap ≥ 10× the
sequential rate, and at the project's default settings."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from bench.proc import FakeProcess
from fake_openrouter.keys import DEMO_MANAGEMENT_KEY
from ingest.client import OpenRouterClient
from ingest.generations.fetch import Fetcher, rate_pacer

LATENCY_S = 0.05
SEQUENTIAL_REQUESTS = 100
FETCHER_REQUESTS = 1000


@dataclass(frozen=True)
class Throughput:
    name: str
    requests: int
    seconds: float
    cap: float | None = None
    concurrency: int = 1

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def sequential(base_url: str, ids: list[str]) -> Throughput:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {DEMO_MANAGEMENT_KEY}"}) as client:
        client.get("/generation", params={"id": ids[0]}).raise_for_status()  # connect outside the timing
        started = time.perf_counter()
        for gen_id in ids:
            client.get("/generation", params={"id": gen_id}).raise_for_status()
        return Throughput("sequential httpx loop", len(ids), time.perf_counter() - started)


def fetcher(base_url: str, ids: list[str], rate: float, concurrency: int, name: str) -> Throughput:
    with OpenRouterClient(base_url, SecretStr(DEMO_MANAGEMENT_KEY), retries=0) as client:
        fetch = Fetcher(client, rate_pacer(rate), concurrency=concurrency, fresh_retries=0)
        started = time.perf_counter()
        got = sum(1 for _, answer in fetch.fetch(ids) if answer is not None)
        seconds = time.perf_counter() - started
    if got != len(ids):
        raise RuntimeError(f"{name}: {len(ids) - got} of {len(ids)} generations not fetched")
    return Throughput(name, len(ids), seconds, rate, concurrency)


def measure() -> list[Throughput]:
    with FakeProcess(latency_s=LATENCY_S, ids=FETCHER_REQUESTS) as fake:
        ids = fake.ids
        seq = sequential(fake.base_url, ids[:SEQUENTIAL_REQUESTS])
        # The cap: 10× the sequential rate, rounded up to 10 req/s; enough threads that the cap, not the
        # 50 ms round trip, is the limit (cap × latency in flight, plus half again).
        cap = math.ceil(seq.per_second * 10 / 10) * 10
        concurrency = math.ceil(cap * LATENCY_S * 1.5)
        capped = fetcher(fake.base_url, ids, cap, concurrency, f"fetcher, cap {cap}/s, {concurrency} in flight")
        default = fetcher(fake.base_url, ids[:200], 20.0, 8, "fetcher, defaults (20/s, 8 in flight)")
    return [seq, capped, default]
