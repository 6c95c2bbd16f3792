"""The hourly fetch on its own, against the fake OpenRouter (spec-validated): one query per grouping for the
last 48 hours, split when an answer is truncated, rows that add up to the fake's own generations."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr

from fake_openrouter.dataset import Dataset
from fake_openrouter.server import FakeServer
from ingest.analytics import hourly
from ingest.client import OpenRouterClient
from ingest.pacing import Pacer
from tests.fake_fixtures import FAKE_NOW, MANAGEMENT_KEY

NOW = FAKE_NOW.replace(tzinfo=None)


def totals(rows: list[dict[str, object]]) -> dict[tuple[datetime, str], float]:
    out: dict[tuple[datetime, str], float] = {}
    for row in rows:
        key = (row["hour"], str(row["dim_key"]))
        assert key not in out  # one row per hour and grouped values
        out[key] = float(row["total_usage"])  # type: ignore[arg-type]
    return out


def test_the_window_is_yesterday_and_today_in_whole_hours() -> None:
    start, end = hourly.window(datetime(2026, 11, 20, 15, 30))
    assert (start, end) == (datetime(2026, 11, 19), datetime(2026, 11, 20, 16))


def test_a_truncated_answer_is_split_until_every_piece_fits(
    fake: FakeServer, fake_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    grouping = next(g for g in hourly.HOURLY_GROUPINGS if g.name == "model,app")
    with OpenRouterClient(fake.base_url, SecretStr(MANAGEMENT_KEY), retries=0) as client:
        whole = hourly.HourlyLoader(client, Pacer(10_000))
        one = whole.fetch(grouping, NOW)
        monkeypatch.setattr(hourly, "MAX_ROWS", 40)  # a small page: the fake says "truncated"
        split = hourly.HourlyLoader(client, Pacer(10_000))
        pieces = split.fetch(grouping, NOW)
    assert whole.queries == 1 and split.queries > 3
    assert totals(pieces.rows) == pytest.approx(totals(one.rows))
    start = datetime.combine(NOW.date() - timedelta(days=1), datetime.min.time())
    expected = fake_dataset.con.execute(
        "SELECT sum(usage + byok_usage_inference) FROM generations WHERE created_at >= ? AND created_at <= ?",
        [start, NOW],
    ).fetchone()
    assert expected is not None and sum(totals(one.rows).values()) == pytest.approx(expected[0])
