"""`orusage report chargeback` as finance runs it: the team lines on the hand-computed store, every format
read back as its reader would, and the demo's month: team lines + unallocated = the account's month within
$0.000001, each team's models and keys adding up to the team."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from queries.store import read_snapshot
from tests import allocation_store as S
from tests.focus_fixtures import PINNED
from tests.helpers import run_cli
from tests.test_allocation import close, independent_spend

TINY_ENV = {"ORUSAGE_TODAY": S.TODAY.isoformat()}
CENT_MILLIONTH = 1e-6


def chargeback(db: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = run_cli(["report", "chargeback", "--db", str(db), *args], env=env or TINY_ENV)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_team_lines_are_the_hand_computed_ones(tiny_db: Path) -> None:
    report = json.loads(chargeback(tiny_db, "--month", "2026-10", "--format", "json"))
    lines = {t["line"]["name"]: t for t in report["teams"]}
    expected = {"alpha": 8.0, "beta": 8.5, "gamma": 2 * 3.5 / 6, "unallocated": 4 * 3.5 / 6, "zeta": 0.0}
    assert set(lines) == set(expected)
    for team, spend in expected.items():
        assert close(lines[team]["line"]["spend"], spend), team
    assert [t["line"]["name"] for t in report["teams"]][-1] == "unallocated"
    assert lines["alpha"]["kind"] == "key" and lines["beta"]["kind"] == "app" and lines["unallocated"]["kind"] is None
    assert abs(report["total"] - 20.0) <= CENT_MILLIONTH and abs(report["account_spend"] - 20.0) <= CENT_MILLIONTH
    assert close(lines["beta"]["line"]["byok"], 2.5 / 6 + 1.0)  # K2's BYOK upstream, in the shares beta took
    assert report["month"] == "2026-10" and report["complete"] is False  # October, as of 2026-10-20
    assert any("zeta" in note and "earlier by name" in note for note in report["notes"])
    assert any("estimated" in note for note in report["notes"])
    keys = {k["name"]: k["spend"] for k in lines["gamma"]["keys"]}
    assert keys.keys() == {"k3"} and close(keys["k3"], 2 * 3.5 / 6)
    unknown = [k for k in lines["unallocated"]["keys"] if k["key"] is None]
    assert [k["name"] for k in unknown] == ["keys not stored"]


def test_csv_rows_add_up(tiny_db: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(chargeback(tiny_db, "--month", "2026-10", "--format", "csv"))))
    teams = [r for r in rows if r["level"] == "team"]
    (total,) = [r for r in rows if r["level"] == "total"]
    assert abs(sum(float(r["spend_usd"]) for r in teams) - float(total["spend_usd"])) <= CENT_MILLIONTH
    assert abs(float(total["spend_usd"]) - 20.0) <= CENT_MILLIONTH
    for team in teams:
        for level in ("model", "key"):
            parts = [float(r["spend_usd"]) for r in rows if r["level"] == level and r["team"] == team["team"]]
            assert abs(sum(parts) - float(team["spend_usd"])) <= CENT_MILLIONTH, (team["team"], level)


def test_markdown_and_html_read_as_documents(tiny_db: Path, tmp_path: Path) -> None:
    md = chargeback(tiny_db, "--month", "2026-10")  # Markdown by default
    tokens = MarkdownIt().enable("table").parse(md)
    cells = [t.content for t in tokens if t.type == "inline"]
    assert "Chargeback · 2026-10" in cells and "unallocated" in cells and "API key (estimated)" in cells
    assert "as they stand today" in md and "month to date" in md
    out = tmp_path / "chargeback.html"
    result = run_cli(["report", "chargeback", "--db", str(tiny_db), "--month", "2026-10", "--out", str(out)],
                     env=TINY_ENV)  # fmt: skip
    assert result.returncode == 0 and "wrote the 2026-10 chargeback" in result.stderr

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.cells: list[str] = []
            self.inside = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.inside = tag == "td"

        def handle_data(self, data: str) -> None:
            if self.inside:
                self.cells.append(data)

    parsed = Cells()
    parsed.feed(out.read_text(encoding="utf-8"))
    assert {"alpha", "beta", "gamma", "zeta", "unallocated", "Total", "$20.00"} <= set(parsed.cells)


def test_default_month_is_the_last_complete_one(tiny_db: Path) -> None:
    report = json.loads(chargeback(tiny_db, "--format", "json", env={"ORUSAGE_TODAY": "2026-11-02"}))
    assert report["month"] == "2026-10" and report["complete"] is True and report["last"] == "2026-10-31"


@pytest.mark.parametrize(("month", "message"), [("2026-13", "is not a month"), ("2026-11", "no day of it is over")])
def test_bad_months_are_one_line_and_exit_2(tiny_db: Path, month: str, message: str) -> None:
    result = run_cli(["report", "chargeback", "--db", str(tiny_db), "--month", month], env=TINY_ENV)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("month", ["2026-10", "2026-11"])
def test_demo_month_lines_add_up_to_the_account(teams_db: Path, month: str) -> None:
    report = json.loads(chargeback(teams_db, "--month", month, "--format", "json", env=PINNED))
    first, last = date.fromisoformat(report["first"]), date.fromisoformat(report["last"])
    with read_snapshot(teams_db) as con:
        expected = independent_spend(con, first, last)
    assert abs(sum(t["line"]["spend"] for t in report["teams"]) - expected) <= CENT_MILLIONTH
    names = [t["line"]["name"] for t in report["teams"]]
    assert {"research", "support", "contractors", "unallocated"} <= set(names)
    for team in report["teams"]:
        for part in ("models", "keys"):
            assert abs(sum(x["spend"] for x in team[part]) - team["line"]["spend"]) <= CENT_MILLIONTH
