"""Data health tells the truth: one track per real source and grouping, with a human name, and the same gaps
as `orusage status` — on a demo store ingested by the real ingest (per-generation records included), the
clock pinned at the fake's ``now``."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from queries import writes
from queries.store import Writer
from tests.dashboard_fixtures import chart_data, open_app, write_demo_store
from tests.helpers import query, run_cli


def _table(at: object, column: str) -> pd.DataFrame | None:
    for frame in at.dataframe:  # type: ignore[attr-defined]
        if column in frame.value.columns:
            value: pd.DataFrame = frame.value
            return value
    return None


def _status(db: Path, today: date) -> dict[str, object]:
    result = run_cli(["status", "--db", str(db), "--json"], {"ORUSAGE_TODAY": today.isoformat()})
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_no_phantom_track(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> None:
    """The per-generation coverage rows once fell into an empty analytics grouping: a red track
    "analytics by " with ~362 missing days and "run `orusage ingest`", while `orusage status` said
    nothing was missing."""
    at = open_app(monkeypatch, demo_db, demo_today, page="health")
    runs = chart_data(at, "coverage_strip")
    tracks = set(runs["track"])
    assert not any(t.strip() in ("analytics by", "analytics per") or t.endswith(" ") for t in tracks), tracks
    assert "per-generation records" in tracks
    gaps = _table(at, "reason")
    status_gaps = _status(demo_db, demo_today)["gaps"]
    assert status_gaps == []
    assert gaps is None, gaps


def test_every_track_matches_status(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> None:
    """Every track has a human name, one state per day of the strip, and exactly the missing days that
    `orusage status` names for it; the page's gap table is status's gap list."""
    at = open_app(monkeypatch, demo_db, demo_today, page="health")
    runs = chart_data(at, "coverage_strip")
    report = _status(demo_db, demo_today)
    sources = {str(s["source"]) for s in report["sources"]}  # type: ignore[attr-defined]
    assert set(runs["track"]) == sources | {"per-generation records"}
    assert all("," not in t and "_" not in t for t in runs["track"]), set(runs["track"])  # words, not columns
    last = demo_today - timedelta(days=1)
    strip_first = last - timedelta(days=363)
    gaps = report["gaps"]  # type: ignore[assignment]
    for track, part in runs.groupby("track"):
        assert int(part["days"].sum()) == 364, track  # one state per day, no overlap, no hole
        missing = int(part.loc[part["state"] == "missing", "days"].sum())
        named = sum(
            (min(date.fromisoformat(g["last_day"]), last) - max(date.fromisoformat(g["first_day"]), strip_first)).days
            + 1
            for g in gaps  # type: ignore[attr-defined]
            if g["source"] == track and not g["partial"] and date.fromisoformat(g["last_day"]) >= strip_first
        )
        assert missing == named, track
    table = _table(at, "reason")
    columns = ("track", "days", "reason")
    shown = [] if table is None else [(str(t), int(d), str(r)) for t, d, r in table[list(columns)].itertuples(False)]
    assert shown == [(g["source"], g["days"], g["reason"]) for g in gaps]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def gapped_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, date]:
    """A hand-made store whose coverage has every kind of hole: account activity with a lost stretch, a
    key missing recent days (others not: partial), analytics never fetched for some days, 31-day metrics,
    a per-key grouping, and per-generation records (which expect nothing)."""
    db = write_demo_store(tmp_path_factory.mktemp("gapped") / "orusage.duckdb")
    today = query(db, "SELECT CAST(max(fetched_at) AS DATE) FROM api_key_snapshots")[0][0]
    keys = [h for (h,) in query(db, "SELECT hash FROM api_keys WHERE deleted_at IS NULL ORDER BY hash")][:3]
    d = lambda n: today - timedelta(days=n)  # noqa: E731
    at = datetime.combine(today, datetime.min.time())
    records = [
        ("activity", "", "", "", d(80), d(50)),
        ("activity", "", "", "", d(40), d(1)),
        ("activity", "", keys[0], "", d(30), d(1)),
        ("activity", "", keys[1], "", d(30), d(1)),
        ("activity", "", keys[2], "", d(30), d(6)),
        ("analytics", "model", "", "long", d(364), d(200)),
        ("analytics", "model", "", "long", d(190), d(1)),
        ("analytics", "model", "", "short", d(31), d(1)),
        ("analytics", "model,provider", "", "short", d(20), d(1)),
        ("analytics", "api_key_hash,model", keys[0], "long", d(364), d(1)),
        ("analytics", "api_key_hash,model", keys[1], "long", d(100), d(1)),
        ("generations", "", "api", "", d(2), d(1)),
        ("generations", "", "export", "", d(70), d(60)),
    ]
    with Writer(db) as writer, writer.transaction() as con:
        for source, dims, scope, metrics, first, last in records:
            writes.record_coverage(
                con, source=source, dimensions=dims, scope=scope, metrics=metrics, first_day=first, last_day=last,
                fetched_at=at, rows_received=1,
            )  # fmt: skip
    return db, today


def test_every_track_matches_status_with_gaps(monkeypatch: pytest.MonkeyPatch, gapped_store: tuple[Path, date]) -> None:
    db, today = gapped_store
    at = open_app(monkeypatch, db, today, page="health")
    runs = chart_data(at, "coverage_strip")
    report = _status(db, today)
    gaps = report["gaps"]
    assert isinstance(gaps, list)
    by_track = {g["source"] for g in gaps}
    assert by_track == {
        "activity (account)",
        "activity per API key",
        "analytics per model",
        "analytics per model × provider",
        "analytics per API key × model",
    }, by_track
    assert set(runs["track"]) == {s["source"] for s in report["sources"]} | {"per-generation records"}  # type: ignore[attr-defined]
    lost = next(g for g in gaps if g["source"] == "activity (account)")
    assert (lost["first_day"], lost["days"]) == ((today - timedelta(days=49)).isoformat(), 9)
    assert "covered by analytics" in lost["reason"]
    key_gap = next(g for g in gaps if g["source"] == "activity per API key")
    assert key_gap["partial"] and key_gap["days"] == 5 and "run `orusage ingest`" in key_gap["reason"]
    last = today - timedelta(days=1)
    strip_first = last - timedelta(days=363)
    for track, part in runs.groupby("track"):
        assert int(part["days"].sum()) == 364, track
        missing = int(part.loc[part["state"] == "missing", "days"].sum())
        partly = int(part.loc[part["state"] == "partly stored", "days"].sum())
        whole = [g for g in gaps if g["source"] == track and not g["partial"]]
        some = [g for g in gaps if g["source"] == track and g["partial"]]

        def clip(g: dict[str, object]) -> int:
            inside = min(date.fromisoformat(str(g["last_day"])), last) - max(
                date.fromisoformat(str(g["first_day"])), strip_first
            )
            return inside.days + 1

        assert missing == sum(clip(g) for g in whole), track
        assert partly >= sum(clip(g) for g in some), track
    table = _table(at, "reason")
    assert table is not None
    assert [(str(t), int(n)) for t, n in zip(table["track"], table["days"], strict=True)] == [
        (g["source"], g["days"]) for g in gaps
    ]
    generations = runs.loc[runs["track"] == "per-generation records"]
    assert set(generations["state"]) == {"stored", "outside reach"}
    assert int(generations.loc[generations["state"] == "stored", "days"].sum()) == 13
