"""Two accounts on one fake OpenRouter: as on the real one, one base URL serves both and the key chooses.

Over real HTTP (a FakeServer on loopback, httpx). Expected values come from each account's own data set
(SQL over its generations, its ``Account``), never from another answer of the server; money with a tolerance.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest

from fake_openrouter.account import SECOND_VOLUME
from fake_openrouter.api_activity import WINDOW_DAYS
from fake_openrouter.dataset import Dataset, build
from fake_openrouter.keys import (
    DEMO_API_KEY_NAME,
    DEMO_SECOND_API_KEY,
    DEMO_SECOND_API_KEY_NAME,
    DEMO_SECOND_MANAGEMENT_KEY,
    key_hash,
)
from fake_openrouter.server import FakeServer, banner
from tests.fake_fixtures import API_KEY, FAKE_NOW, MANAGEMENT_KEY, client_for, start_fake
from tests.spec_validation import COLLECTOR, REPO_ROOT

UNKNOWN_KEY = "sk-or-v1-" + "f" * 64


@pytest.fixture(scope="module")
def second_dataset() -> Dataset:
    return build(FAKE_NOW, second=True)


@pytest.fixture(scope="module")
def both(fake_dataset: Dataset, second_dataset: Dataset) -> Iterator[FakeServer]:
    server = FakeServer(
        fake_dataset, on_response=COLLECTOR.on_response, analytics_rate_per_minute=None, others=(second_dataset,)
    ).start()
    yield server
    server.stop()


def _get(server: FakeServer, key: str | None, path: str, **params: str) -> httpx.Response:
    with client_for(server, key) as client:
        return client.get(path, params=params)


def _scalar(ds: Dataset, sql: str, params: list[Any] | None = None) -> Any:
    row = ds.con.cursor().execute(sql, params or []).fetchone()
    assert row is not None
    return row[0]


def _activity_window(ds: Dataset) -> list[datetime]:
    """[start, end) of /activity's window: the last 30 completed UTC days (naive UTC, like created_at)."""
    today = datetime.combine(ds.today, time())
    return [today - timedelta(days=WINDOW_DAYS), today]


def _default_keys(ds: Dataset) -> dict[str, str]:
    """What /keys lists without parameters: the default workspace's enabled keys, name -> hash."""
    account = ds.account
    return {
        k.name: k.hash
        for k in account.keys
        if k.workspace_id == account.default_workspace.id and k.created_at <= ds.now and not k.disabled(ds.now)
    }


def test_the_second_account_is_another_organisation(fake_dataset: Dataset, second_dataset: Dataset) -> None:
    first, second = fake_dataset.account, second_dataset.account
    assert not {k.hash for k in first.keys} & {k.hash for k in second.keys}
    assert first.management_key.hash != second.management_key.hash
    assert not {w.id for w in first.workspaces} & {w.id for w in second.workspaces}
    assert not {m.id for m in first.members} & {m.id for m in second.members}
    # Real separate accounts can both have a key called "staging": same name, another key.
    staging = [next(k for k in a.keys if k.name == "staging") for a in (first, second)]
    assert staging[0].hash != staging[1].hash
    # Its keys' traffic is its own, and smaller.
    usage = [_scalar(ds, "SELECT sum(usage) FROM generations") for ds in (fake_dataset, second_dataset)]
    assert usage[1] < usage[0] * (SECOND_VOLUME + 0.25)
    hashes = {
        r[0] for r in second_dataset.con.cursor().execute("SELECT DISTINCT api_key_hash FROM generations").fetchall()
    }
    assert hashes <= {k.hash for k in second.keys}


def test_credits_follow_the_management_key(both: FakeServer, fake_dataset: Dataset, second_dataset: Dataset) -> None:
    for key, ds in ((MANAGEMENT_KEY, fake_dataset), (DEMO_SECOND_MANAGEMENT_KEY, second_dataset)):
        answer = _get(both, key, "/credits")
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data["total_usage"] == pytest.approx(_scalar(ds, "SELECT sum(usage) FROM generations"), abs=1e-6)
        assert data["total_credits"] == pytest.approx(ds.total_credits, abs=1e-9)


def test_activity_follows_the_management_key(both: FakeServer, fake_dataset: Dataset, second_dataset: Dataset) -> None:
    totals = []
    for key, ds in ((MANAGEMENT_KEY, fake_dataset), (DEMO_SECOND_MANAGEMENT_KEY, second_dataset)):
        answer = _get(both, key, "/activity")
        assert answer.status_code == 200, answer.text
        rows = answer.json()["data"]
        window = _activity_window(ds)
        cur = ds.con.cursor()
        found = cur.execute(
            "SELECT sum(usage), count(*) FROM generations WHERE created_at >= ? AND created_at < ?", window
        )
        usage, requests = found.fetchone() or (None, None)
        assert sum(r["usage"] for r in rows) == pytest.approx(usage, abs=1e-6)
        assert sum(r["requests"] for r in rows) == requests
        totals.append(sum(r["usage"] for r in rows))
    # The accounts differ clearly: the second spends about a third of the first.
    assert totals[1] < 0.6 * totals[0]
    # A key's own activity: the second account's regular key hash, asked with the second management key.
    storefront = key_hash(DEMO_SECOND_API_KEY)
    rows = _get(both, DEMO_SECOND_MANAGEMENT_KEY, "/activity", api_key_hash=storefront).json()["data"]
    window = _activity_window(second_dataset)
    expected = _scalar(
        second_dataset,
        "SELECT sum(usage) FROM generations WHERE created_at >= ? AND created_at < ? AND api_key_hash = ?",
        [*window, storefront],
    )
    assert expected > 0 and sum(r["usage"] for r in rows) == pytest.approx(expected, abs=1e-6)


def test_keys_follow_the_management_key(both: FakeServer, fake_dataset: Dataset, second_dataset: Dataset) -> None:
    listed = {}
    for key, ds in ((MANAGEMENT_KEY, fake_dataset), (DEMO_SECOND_MANAGEMENT_KEY, second_dataset)):
        answer = _get(both, key, "/keys")
        assert answer.status_code == 200, answer.text
        items = answer.json()["data"]
        assert {i["name"]: i["hash"] for i in items} == _default_keys(ds)
        spent = dict(ds.con.cursor().execute("SELECT api_key_hash, sum(usage) FROM generations GROUP BY 1").fetchall())
        for item in items:
            assert item["usage"] == pytest.approx(spent.get(item["hash"], 0.0), abs=1e-6)
        listed[key] = {i["name"]: i["hash"] for i in items}
    first, second = listed[MANAGEMENT_KEY], listed[DEMO_SECOND_MANAGEMENT_KEY]
    assert DEMO_API_KEY_NAME in first and DEMO_API_KEY_NAME not in second
    assert DEMO_SECOND_API_KEY_NAME in second and DEMO_SECOND_API_KEY_NAME not in first
    assert first["staging"] != second["staging"]
    # One account's workspace is unknown to the other: its keys stay out of reach.
    agents = next(w.id for w in second_dataset.account.workspaces if not w.is_default)
    assert _get(both, MANAGEMENT_KEY, "/keys", workspace_id=agents).status_code == 404
    in_agents = _get(both, DEMO_SECOND_MANAGEMENT_KEY, "/keys", workspace_id=agents).json()["data"]
    assert {i["hash"] for i in in_agents} == {k.hash for k in second_dataset.account.keys if k.workspace_id == agents}


def test_other_management_endpoints_follow_the_key(both: FakeServer, second_dataset: Dataset) -> None:
    workspaces = _get(both, DEMO_SECOND_MANAGEMENT_KEY, "/workspaces").json()
    assert {w["id"] for w in workspaces["data"]} == {w.id for w in second_dataset.account.workspaces}
    members = _get(both, DEMO_SECOND_MANAGEMENT_KEY, "/organization/members").json()
    assert {m["email"] for m in members["data"]} == {m.email for m in second_dataset.account.members}
    me = _get(both, DEMO_SECOND_MANAGEMENT_KEY, "/key").json()["data"]
    assert me["is_management_key"] and me["label"] == second_dataset.account.management_key.label


@pytest.mark.parametrize(
    ("path", "key"),
    [("/credits", UNKNOWN_KEY), ("/activity", UNKNOWN_KEY), ("/keys", UNKNOWN_KEY), ("/key", UNKNOWN_KEY),
     ("/credits", None), ("/key", None), ("/models", UNKNOWN_KEY)],
)  # fmt: skip
def test_a_key_of_neither_account_is_answered_as_by_one_account(
    both: FakeServer, fake_dataset: Dataset, path: str, key: str | None
) -> None:
    """No key, or a key neither account holds: the same answer as a one-account server gives (401)."""
    alone = start_fake(fake_dataset)
    try:
        expected = _get(alone, key, path)
    finally:
        alone.stop()
    answer = _get(both, key, path)
    assert answer.status_code == expected.status_code == 401
    assert answer.content == expected.content


def _first_generation(ds: Dataset) -> tuple[str, float]:
    row = ds.con.cursor().execute("SELECT id, usage FROM generations ORDER BY created_at, id LIMIT 1").fetchone()
    assert row is not None
    return str(row[0]), float(row[1])


def test_a_regular_key_of_the_second_account_sees_only_its_account(
    both: FakeServer, fake_dataset: Dataset, second_dataset: Dataset
) -> None:
    storefront = second_dataset.account.key_by_hash(key_hash(DEMO_SECOND_API_KEY))
    assert storefront is not None and storefront.name == DEMO_SECOND_API_KEY_NAME
    me = _get(both, DEMO_SECOND_API_KEY, "/key")
    assert me.status_code == 200, me.text
    data = me.json()["data"]
    assert data["label"] == storefront.label and not data["is_management_key"]
    spent = _scalar(second_dataset, "SELECT sum(usage) FROM generations WHERE api_key_hash = ?", [storefront.hash])
    assert spent > 0 and data["usage"] == pytest.approx(spent, abs=1e-6)
    # Management endpoints refuse it, as they refuse the first account's regular key.
    assert _get(both, DEMO_SECOND_API_KEY, "/credits").status_code == 403
    # /generation: its own account's generations, not the other's (and the other way round).
    first_id, _ = _first_generation(fake_dataset)
    second_id, second_usage = _first_generation(second_dataset)
    own = _get(both, DEMO_SECOND_API_KEY, "/generation", id=second_id)
    assert own.status_code == 200, own.text
    assert own.json()["data"]["total_cost"] == pytest.approx(second_usage, abs=1e-9)
    assert _get(both, DEMO_SECOND_API_KEY, "/generation", id=first_id).status_code == 404
    assert _get(both, API_KEY, "/generation", id=second_id).status_code == 404
    assert _get(both, API_KEY, "/generation", id=first_id).status_code == 200


def test_requests_are_recorded_by_kind_of_key(both: FakeServer) -> None:
    both.clear_requests()
    for key in (DEMO_SECOND_MANAGEMENT_KEY, DEMO_SECOND_API_KEY, UNKNOWN_KEY):
        _get(both, key, "/key")
    assert [r.auth for r in both.requests] == ["management", "regular", "unknown"]


def test_accounts_served_together_share_now_and_no_key(fake_dataset: Dataset, second_dataset: Dataset) -> None:
    with pytest.raises(ValueError, match="share a key"):
        FakeServer(fake_dataset, others=(fake_dataset,))
    with pytest.raises(ValueError, match="same now"):
        FakeServer(fake_dataset, others=(replace(second_dataset, now=FAKE_NOW + timedelta(days=1)),))
    with pytest.raises(ValueError, match="not both"):
        from fake_openrouter.large import LargeAccount

        build(FAKE_NOW, second=True, large=LargeAccount(keys=2, models=5, apps=3, members=2, volume=0.01))


def test_banner_names_both_accounts_and_their_keys() -> None:
    url = "http://127.0.0.1:8080/api/v1"
    one = banner(url, FAKE_NOW, quirks=False)
    assert one.splitlines() == [
        f"Fake OpenRouter (spec mode, now=2026-11-20T15:30:00+00:00) at {url}",
        f"  management key ('demo-management'): {MANAGEMENT_KEY}",
        f"  regular key ('production-backend'):  {API_KEY}",
        f"Try: OPENROUTER_BASE_URL={url} OPENROUTER_MANAGEMENT_KEY={MANAGEMENT_KEY} orusage ingest",
    ]
    two = banner(url, FAKE_NOW, quirks=True, two_accounts=True)
    for key in (MANAGEMENT_KEY, API_KEY, DEMO_SECOND_MANAGEMENT_KEY, DEMO_SECOND_API_KEY):
        assert key in two
    assert two.splitlines()[-1] == (
        f'Try: OPENROUTER_BASE_URL={url} OPENROUTER_MANAGEMENT_KEYS="main={MANAGEMENT_KEY},'
        f'second={DEMO_SECOND_MANAGEMENT_KEY}" orusage ingest'
    )


def test_serve_two_accounts_in_a_subprocess() -> None:
    """`orusage fake-openrouter --two-accounts` prints both management keys, and each reads its own account."""
    args = ["-m", "orusage.cli", "fake-openrouter", "--port", "0", "--now", "2026-11-20T15:30:00Z", "--two-accounts"]
    proc = subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Try:"):
            line = proc.stdout.readline()
            assert line, "".join(lines)  # the process ended before its Try line
            lines.append(line)
        text = "".join(lines)
        match = re.search(r"(http://127\.0\.0\.1:\d+/api/v1)", lines[0])
        keys = re.search(r'OPENROUTER_MANAGEMENT_KEYS="main=(\S+),second=(\S+)"', lines[-1])
        assert match and keys, text
        assert keys.groups() == (MANAGEMENT_KEY, DEMO_SECOND_MANAGEMENT_KEY)
        base = match.group(1)
        usage = [
            httpx.get(f"{base}/credits", headers={"Authorization": f"Bearer {key}"}).json()["data"]["total_usage"]
            for key in keys.groups()
        ]
        assert usage[1] < 0.6 * usage[0]
        refused = httpx.get(f"{base}/credits", headers={"Authorization": f"Bearer {UNKNOWN_KEY}"})
        assert refused.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
