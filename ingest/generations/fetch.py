"""``GET /generation?id=`` for many ids: a few requests in flight, paced, the early 404 retried.

Threads, not asyncio: the work is a few dozen blocking HTTP calls in flight at most, the existing
``OpenRouterClient`` (httpx, connection pool, retries, typed errors) is synchronous and safe to share
between threads, and the store is written from the calling thread only. A small pool keeps one client,
one set of error rules and one pacer for the whole project; an async client would duplicate all three.

A generation younger than a few seconds answers 404; each such id is asked again after 1, 2, 4, 8 s
(``fresh_retries``), then left for the next run. Every request, retries included, passes the pacer.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from ingest.client import OpenRouterClient
from ingest.errors import NotFoundError
from ingest.generations.schema import Generation, GenerationResponse
from ingest.pacing import Pacer

BURST_S = 0.1  # the requests of this many seconds may go at once, never more than the rate in any second


def rate_pacer(
    per_second: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Pacer:
    """``per_second`` requests a second, spread out. Never more than ⌊rate⌋ in any ⌊rate⌋/rate seconds (for
    a whole rate: never more than the rate in any second); a tenth of a second's worth may go at once, to
    make up for slots nobody was ready for (see ``ingest.pacing``)."""
    if per_second <= 0:
        raise ValueError("the rate must be positive")
    per_window = max(1, math.floor(per_second))
    return Pacer(
        per_window,
        per_window / per_second,
        burst=max(1, math.ceil(per_second * BURST_S)),
        clock=clock,
        sleep=sleep,
    )


class Fetcher:
    def __init__(
        self,
        client: OpenRouterClient,
        pacer: Pacer,
        *,
        concurrency: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        fresh_retries: int = 4,
        fresh_backoff: float = 1.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = client
        self.pacer = pacer
        self.concurrency = concurrency
        self.fresh_retries = fresh_retries
        self.fresh_backoff = fresh_backoff
        self._sleep = sleep
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.requests = 0
        self.not_found = 0  # 404 answers (each retried, up to fresh_retries times)

    def _count(self, not_found: bool = False) -> None:
        with self._lock:
            if not_found:
                self.not_found += 1
            else:
                self.requests += 1

    def one(self, gen_id: str) -> Generation | None:
        """The generation, or None if it still answered 404 after every retry."""
        delay = self.fresh_backoff
        for attempt in range(self.fresh_retries + 1):
            if self._stop.is_set():
                return None
            self.pacer.wait()
            self._count()
            try:
                return self.client.get("/generation", {"id": gen_id}, model=GenerationResponse).data
            except NotFoundError:
                self._count(not_found=True)
                if attempt == self.fresh_retries:
                    return None
                self._sleep(delay)
                delay *= 2
        return None

    def fetch(self, ids: Sequence[str]) -> Iterator[tuple[str, Generation | None]]:
        """(id, answer or None) for every id, in completion order. At most ``concurrency`` requests are in
        flight and only a few more are queued, so stopping (an error, Ctrl-C) abandons little work."""
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="generation")
        pending: dict[Future[Generation | None], str] = {}
        queue = iter(ids)
        try:
            while True:
                while len(pending) < 2 * self.concurrency:
                    gen_id = next(queue, None)
                    if gen_id is None:
                        break
                    pending[pool.submit(self.one, gen_id)] = gen_id
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    gen_id = pending.pop(future)
                    yield gen_id, future.result()  # re-raises the worker's OrusageError here
        finally:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
