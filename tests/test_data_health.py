"""Data health tells the truth: one track per real source and grouping, with a human name, and the same gaps
as `orusage status` — on a demo store ingested by the real ingest (per-generation records included), the
clock pinned at the fake's ``now``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.dashboard_fixtures import chart_data, open_app
from tests.helpers import run_cli


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
    """Each track's missing days on the page are the days `orusage status` names, track by track; every
    track has a human name and a source; the strip covers each track's year without overlaps."""
    at = open_app(monkeypatch, demo_db, demo_today, page="health")
    runs = chart_data(at, "coverage_strip")
    report = _status(demo_db, demo_today)
    sources = {str(s["source"]) for s in report["sources"]}  # type: ignore[attr-defined]
    shown = set(runs["track"])
    assert shown == sources | {"per-generation records"}, (shown, sources)
    last = demo_today - timedelta(days=1)
    for track, part in runs.groupby("track"):
        assert int(part["days"].sum()) == 364, track  # one state per day of the strip, no overlap
        assert pd.to_datetime(part["last"]).max().date() == last
        missing = part.loc[part["state"] == "missing", "days"].sum()
        line = next(s for s in report["sources"] if s["source"] == track) if track in sources else None  # type: ignore[attr-defined]
        if line is not None:
            strip_first = last - timedelta(days=363)
            named = sum(
                g["days"]
                for g in report["gaps"]  # type: ignore[attr-defined]
                if g["track"] == track and date.fromisoformat(g["first_day"]) >= strip_first
            )
            assert missing == named, track
