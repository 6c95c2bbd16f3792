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


def start_fake(dataset: Dataset, validate: bool = True) -> FakeServer:
    """A started server; spec-mode ones report their responses to the spec validator."""
    return FakeServer(dataset, on_response=COLLECTOR.on_response if validate else None).start()


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
