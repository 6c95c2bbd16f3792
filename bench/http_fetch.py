"""``GET /generation`` throughput against the fake with 50 ms injected latency: a plain sequential loop of
httpx GETs (the baseline) against the project's fetcher (``ingest.generations.fetch.Fetcher``: a bounded
thread pool sharing one ``OpenRouterClient``, paced by ``rate_pacer``), at a stated rate cap (12× the
sequential rate), and at the project's default settings. The time each request was let go is noted, so the
cap is checked too: the most requests sent in any one second."""

from __future__ import annotations

import bisect
import math
import time
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from bench.proc import FakeProcess
from fake_openrouter.keys import DEMO_MANAGEMENT_KEY
from ingest.client import OpenRouterClient
from ingest.generations.fetch import Fetcher, rate_pacer
from ingest.pacing import Pacer

LATENCY_S = 0.05
SEQUENTIAL_REQUESTS = 100
FETCHER_REQUESTS = 1000
CAP_TIMES = 12  # the cap, in times the sequential rate


@dataclass(frozen=True)
class Throughput:
    name: str
    requests: int
    seconds: float
    cap: float | None = None
    concurrency: int = 1
    most_in_a_second: int = 0  # requests let go in the busiest one-second window

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


class NotingPacer(Pacer):
    """``rate_pacer(rate)``, noting when it lets each request go."""

    def __init__(self, rate: float) -> None:
        made = rate_pacer(rate)
        super().__init__(made.per_window, made.window_s, burst=made.burst)
        self.sent: list[float] = []

    def _take(self, now: float) -> None:
        super()._take(now)
        self.sent.append(now)  # the pacer's own clock reading, not the moment a thread got round to it

    def most_in_a_second(self) -> int:
        sent = sorted(self.sent)
        return max((bisect.bisect_left(sent, t + 1.0) - i for i, t in enumerate(sent)), default=0)


def fetcher(base_url: str, ids: list[str], rate: float, concurrency: int, name: str) -> Throughput:
    pacer = NotingPacer(rate)
    with OpenRouterClient(base_url, SecretStr(DEMO_MANAGEMENT_KEY), retries=0) as client:
        fetch = Fetcher(client, pacer, concurrency=concurrency, fresh_retries=0)
        started = time.perf_counter()
        got = sum(1 for _, answer in fetch.fetch(ids) if answer is not None)
        seconds = time.perf_counter() - started
    if got != len(ids):
        raise RuntimeError(f"{name}: {len(ids) - got} of {len(ids)} generations not fetched")
    return Throughput(name, len(ids), seconds, rate, concurrency, pacer.most_in_a_second())


def measure() -> list[Throughput]:
    with FakeProcess(latency_s=LATENCY_S, ids=FETCHER_REQUESTS) as fake:
        ids = fake.ids
        seq = sequential(fake.base_url, ids[:SEQUENTIAL_REQUESTS])
        # The cap: 12× the sequential rate, rounded up to 10 req/s (≥ 10×, with room: a paced client never
        # quite reaches its cap, so a cap of exactly 10× would leave the 10× goal to chance); enough threads
        # that the cap, not the round trip, is the limit: cap × latency in flight, twice over, as on 2 busy
        # cores the round trip of 50 ms injected often takes 80 ms and more.
        cap = math.ceil(seq.per_second * CAP_TIMES / 10) * 10
        concurrency = math.ceil(cap * LATENCY_S * 2)
        capped = fetcher(fake.base_url, ids, cap, concurrency, f"fetcher, cap {cap}/s, {concurrency} in flight")
        default = fetcher(fake.base_url, ids[:200], 20.0, 8, "fetcher, defaults (20/s, 8 in flight)")
    return [seq, capped, default]
