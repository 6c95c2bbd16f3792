"""`orusage export` as a user runs it: every table of the snapshot, read back by another engine (pyarrow),
equal to the tables; Parquet partitioned by UTC day; --from/--to; CSV; and the errors it refuses with."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pytest

from orusage.cli import main
from queries import rollups
from queries.store import snapshot_path
from tests.helpers import run_cli, same_rows

FIRST, LAST = date(2026, 11, 9), date(2026, 11, 15)
PARTITIONED = {"activity", "activity_by_key", "analytics_daily", "reconciliation", "budget_forecast"}


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        """SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns()
           WHERE table_name IN (SELECT table_name FROM duckdb_tables()) GROUP BY table_name"""
    ).fetchall()
    return {str(name): list(columns) for name, columns in rows if name not in rollups.TABLES}


def _expected(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    """The table's rows in the export's range, written out by hand."""
    where = ""
    if "date" in columns:
        where = f" WHERE date BETWEEN DATE '{FIRST}' AND DATE '{LAST}'"
    elif table == "generations":
        where = f" WHERE CAST(created_at AS DATE) BETWEEN DATE '{FIRST}' AND DATE '{LAST}'"
    elif table in ("api_key_snapshots", "credits", "model_endpoints"):
        where = f" WHERE CAST(fetched_at AS DATE) BETWEEN DATE '{FIRST}' AND DATE '{LAST}'"
    return con.execute(f'SELECT * FROM "{table}"{where} ORDER BY ALL').fetchall()


def _sorted_rows(table: pa.Table, columns: list[str]) -> list[tuple[Any, ...]]:
    """pyarrow rows in the table's column order, sorted as DuckDB's ORDER BY ALL would (NULLs last)."""
    rows = [tuple(r[c] for c in columns) for r in table.select(columns).to_pylist()]

    def key(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple((v is None, v if v is not None else 0) for v in row)

    return sorted(rows, key=key)


@pytest.fixture(scope="module")
def parquet_export(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "parquet"
    args = ["export", "--format", "parquet", "--out", str(out), "--from", str(FIRST), "--to", str(LAST)]
    result = run_cli(args, env={"ORUSAGE_DB": str(demo_db)})
    assert result.returncode == 0, result.stderr
    assert "exported" in result.stderr and "as parquet" in result.stderr
    return out


def test_parquet_read_back_by_pyarrow_equals_the_tables(parquet_export: Path, demo_db: Path) -> None:
    manifest = json.loads((parquet_export / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["from"] == str(FIRST) and manifest["to"] == str(LAST) and manifest["format"] == "parquet"
    con = duckdb.connect(str(snapshot_path(demo_db)), read_only=True)
    try:
        tables = _tables(con)
        assert set(manifest["tables"]) == set(tables), "every table, nothing else (views and rollups are derived)"
        for table, columns in tables.items():
            expected = _expected(con, table, columns)
            entry = manifest["tables"][table]
            assert entry["rows"] == len(expected), table
            if table in PARTITIONED:
                assert entry["partitioned_by"] == "date" and entry["path"] == table
                days = {p.name for p in (parquet_export / table).iterdir()}
                assert days == {f"date={d[columns.index('date')]}" for d in expected}, table
                if not expected:
                    continue
                schema = pa.schema([("date", pa.date32())])
                data = ds.dataset(
                    parquet_export / table, format="parquet", partitioning=ds.partitioning(schema, flavor="hive")
                )
                got = data.to_table()
            else:
                assert entry["partitioned_by"] is None and entry["path"] == f"{table}.parquet"
                got = ds.dataset(parquet_export / entry["path"], format="parquet").to_table()
            assert sorted(got.column_names) == sorted(columns), table
            assert same_rows(_sorted_rows(got, columns), expected), table
    finally:
        con.close()


def test_partitions_hold_one_day_each(parquet_export: Path) -> None:
    data = ds.dataset(
        parquet_export / "activity",
        format="parquet",
        partitioning=ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive"),
    )
    days = sorted({d for d in data.to_table(columns=["date"]).column("date").to_pylist()})
    assert days[0] == FIRST and days[-1] == LAST and len(days) == 7
    one_day = data.to_table(filter=ds.field("date") == pa.scalar(date(2026, 11, 12), pa.date32()))
    assert one_day.num_rows and set(one_day.column("date").to_pylist()) == {date(2026, 11, 12)}


def test_csv_export_and_a_second_run_over_it(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    out = tmp_path / "csv"
    for _ in range(2):  # a second export into the same folder replaces the first
        with pytest.raises(SystemExit) as ended:
            main(["export", "--format", "csv", "--out", str(out)])
        assert ended.value.code == 0
    con = duckdb.connect(str(snapshot_path(demo_db)), read_only=True)
    try:
        for table in ("activity", "models", "api_keys"):
            got = pacsv.read_csv(out / f"{table}.csv")
            count = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
            assert got.num_rows == count, table
        totals = pacsv.read_csv(out / "activity.csv").column("usage").to_pylist()
        assert sum(totals) == pytest.approx(con.execute("SELECT sum(usage) FROM activity").fetchall()[0][0])
        when = pacsv.read_csv(out / "ingest_runs.csv").column("started_at").to_pylist()
        assert all(isinstance(w, datetime) for w in when)
    finally:
        con.close()


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--format", "csv", "--from", "2026-11-15", "--to", "2026-11-09"], 2, "is after --to"),
        (["--format", "xlsx"], 2, "Invalid value for '--format'"),
        (["--format", "parquet", "--from", "15/11/2026"], 2, "Invalid value for '--from'"),
    ],
)
def test_refusals(
    demo_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    said: str,
) -> None:
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    with pytest.raises(SystemExit) as ended:
        main(["export", "--out", str(tmp_path / "x"), *args])
    assert ended.value.code == code
    assert said in capsys.readouterr().err


def test_a_folder_holding_something_else_is_left_alone(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    (tmp_path / "activity").mkdir()
    (tmp_path / "activity" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SystemExit) as ended:
        main(["export", "--format", "parquet", "--out", str(tmp_path), "--from", "2026-11-19"])
    assert ended.value.code == 2
    assert "notes.txt" in capsys.readouterr().err
    assert (tmp_path / "activity" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_no_snapshot_exits_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORUSAGE_DB", str(tmp_path / "none.duckdb"))
    with pytest.raises(SystemExit) as ended:
        main(["export", "--format", "csv", "--out", str(tmp_path / "out")])
    assert ended.value.code == 5
    assert "orusage ingest" in capsys.readouterr().err
