"""The fake's large account (``fake_openrouter.large``, for the benchmarks): as many keys, models, apps and
members as it says, served by every endpoint the ingest reads, answering within the spec (the responses go to
the spec validator like every other fake's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from fake_openrouter.dataset import Dataset, build
from fake_openrouter.large import LargeAccount
from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from tests.fake_fixtures import FAKE_NOW, MANAGEMENT_KEY, start_fake

SIZE = LargeAccount(keys=50, models=300, apps=200, members=12, volume=0.3)


@pytest.fixture(scope="module")
def large() -> Dataset:
    return build(FAKE_NOW, large=SIZE)


@pytest.fixture(scope="module")
def server(large: Dataset) -> Iterator[FakeServer]:
    fake = start_fake(large)
    yield fake
    fake.stop()


def test_the_large_account_has_what_it_says(large: Dataset) -> None:
    counts = large.con.execute(
        """SELECT count(DISTINCT api_key_hash), count(DISTINCT model), count(DISTINCT app_id),
                  count(DISTINCT workspace_id) FROM generations"""
    ).fetchone()
    assert counts == (SIZE.keys, SIZE.models, SIZE.apps, 3)
    assert len(large.account.members) == SIZE.members and len({m.id for m in large.models}) == SIZE.models


def test_every_endpoint_the_ingest_reads_serves_it(server: FakeServer, large: Dataset) -> None:
    with OpenRouterClient(server.base_url, SecretStr(MANAGEMENT_KEY), retries=0) as client:
        workspaces = client.workspaces()
        keys = client.all_keys([w.id for w in workspaces])
        models = client.models()
        members = client.organization_members()
        variant = next(m for m in large.models if "-v" in m.id)
        endpoints = client.model_endpoints(variant.id)
    assert len(workspaces) == 3 and len(keys) == SIZE.keys and members is not None and len(members) == SIZE.members
    assert {m.canonical_slug for m in models} >= {m.canonical_slug for m in large.models if m.created <= large.today}
    assert endpoints.id == variant.id and len(endpoints.endpoints) == len(variant.providers)
