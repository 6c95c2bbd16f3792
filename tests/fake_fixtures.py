"""Pytest fixtures for the fake OpenRouter server (a plugin: ``pytest_plugins = ["tests.fake_fixtures"]``).

The clock is pinned at ``FAKE_NOW``. Spec-mode fakes report every response to ``tests.spec_validation``, which
fails the session if any of them breaks the OpenAPI spec; quirks-mode fakes break it on purpose and are not
checked.

- ``fake_now``: the pinned datetime. ``management_key`` / ``api_key``: the demo keys (also as constants).
- ``fake_dataset`` (session): the spec-mode data set. ``fake`` (session): a running spec-mode FakeServer.
- ``fake_quirks_dataset`` / ``fake_quirks`` (session): the same in quirks mode.
- ``fresh_fake`` (function): its own spec-mode server over the session data set, for faults or stopping.
- ``client_for(server, key)``: an httpx client on a server's base URL with that key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from fake_openrouter.dataset import Dataset, build
from fake_openrouter.keys import DEMO_API_KEY, DEMO_MANAGEMENT_KEY
from fake_openrouter.server import FakeServer

pytest.register_assert_rewrite("tests.spec_validation")  # imported here before pytest loads it as a plugin
from tests.spec_validation import COLLECTOR  # noqa: E402

pytest_plugins = ["tests.spec_validation"]

FAKE_NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
MANAGEMENT_KEY = DEMO_MANAGEMENT_KEY
API_KEY = DEMO_API_KEY


def client_for(server: FakeServer, key: str | None = MANAGEMENT_KEY, timeout: float = 10.0) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=timeout)


def start_fake(dataset: Dataset, validate: bool = True, analytics_rate_per_minute: int | None = None) -> FakeServer:
    """A started server; spec-mode ones report their responses to the spec validator.

    The analytics rate limit is off unless asked for: it runs on the real clock here, and many tests
    share one server. The limit and the client's pacing are tested on a hand-driven clock instead
    (``start_clocked_fake``).
    """
    return FakeServer(
        dataset,
        on_response=COLLECTOR.on_response if validate else None,
        analytics_rate_per_minute=analytics_rate_per_minute,
    ).start()


@pytest.fixture(scope="session")
def fake_now() -> datetime:
    return FAKE_NOW


@pytest.fixture(scope="session")
def management_key() -> str:
    return MANAGEMENT_KEY


@pytest.fixture(scope="session")
def api_key() -> str:
    return API_KEY


@pytest.fixture(scope="session")
def fake_dataset() -> Dataset:
    return build(FAKE_NOW)


@pytest.fixture(scope="session")
def fake(fake_dataset: Dataset) -> Iterator[FakeServer]:
    server = start_fake(fake_dataset)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_quirks_dataset() -> Dataset:
    return build(FAKE_NOW, quirks=True)


@pytest.fixture(scope="session")
def fake_quirks(fake_quirks_dataset: Dataset) -> Iterator[FakeServer]:
    server = start_fake(fake_quirks_dataset, validate=False)
    yield server
    server.stop()


@pytest.fixture
def fresh_fake(fake_dataset: Dataset) -> Iterator[FakeServer]:
    server = start_fake(fake_dataset)
    yield server
    server.stop()


# --- Clocked fakes: time-dependent behaviour (analytics rate limit, fresh generations) on a hand-driven clock.
#
# - ``FakeClock``: seconds like time.monotonic, moved only by ``advance``.
# - ``start_clocked_fake(dataset, clock, ...)``: like ``start_fake``, with the FakeServer's time options.
# - ``fake_clock`` (function) + ``clocked_fake`` (function): a fresh spec-mode server on that clock, with the real
#   analytics limit (64 a minute per key): advance the clock instead of sleeping.
# - ``fake_unlimited`` (session): a spec-mode server on a pinned clock without the analytics rate limit.


class FakeClock:
    """A clock that only moves when told to (seconds, like time.monotonic)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def start_clocked_fake(
    dataset: Dataset,
    clock: FakeClock,
    *,
    analytics_rate_per_minute: int | None = 64,
    latency_s: float = 0.0,
    validate: bool = True,
) -> FakeServer:
    """A started server on ``clock``; spec-mode ones report their responses to the spec validator."""
    return FakeServer(
        dataset,
        on_response=COLLECTOR.on_response if validate else None,
        clock=clock,
        analytics_rate_per_minute=analytics_rate_per_minute,
        latency_s=latency_s,
    ).start()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked_fake(fake_dataset: Dataset, fake_clock: FakeClock) -> Iterator[FakeServer]:
    server = start_clocked_fake(fake_dataset, fake_clock)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_unlimited(fake_dataset: Dataset) -> Iterator[FakeServer]:
    server = start_clocked_fake(fake_dataset, FakeClock(), analytics_rate_per_minute=None)
    yield server
    server.stop()
