"""A damaged store (issue 16): random 4 KB blocks of a real DuckDB file overwritten. The writer refuses it
with exit 5 and one line before writing anything (the file left byte for byte as it was, no snapshot
published from it), however the file came to be damaged; a damaged snapshot is reported by its readers the same way; and
`doctor` reads every block and checks the schema version both ways.

Which copies are damaged is decided by an oracle independent of the code under test: DuckDB itself, reading
every row of every table back (a block overwritten where nothing lives is no damage).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import duckdb
import pytest

from fake_openrouter.server import FakeServer
from queries.migrations import available
from queries.store import snapshot_path
from tests.fake_fixtures import MANAGEMENT_KEY
from tests.helpers import run_cli
from tests.hostile_peers import assert_no_secret

BLOCK = 4096


def _env(server: FakeServer, db: Path) -> dict[str, str]:
    return {"OPENROUTER_BASE_URL": server.base_url, "OPENROUTER_MANAGEMENT_KEY": MANAGEMENT_KEY, "ORUSAGE_DB": str(db),
            "ORUSAGE_HISTORY_DAYS": "31", "ORUSAGE_GENERATIONS_DAYS": "0"}  # fmt: skip


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def damage(path: Path, seed: int, blocks: int = 8) -> None:
    """Overwrite ``blocks`` random 4 KB blocks of the file with random bytes."""
    rnd = random.Random(seed)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        for _ in range(blocks):
            fh.seek(rnd.randrange(size // BLOCK) * BLOCK)
            fh.write(rnd.randbytes(BLOCK))


def readable(path: Path) -> bool:
    """The oracle: can DuckDB open the file and read every row of every table back?"""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall():
            con.execute(f'SELECT * FROM "{table}"').fetchall()
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


@pytest.fixture(scope="module")
def stored(fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("damage") / "orusage.duckdb"
    result = run_cli(["ingest", "--quiet"], _env(fake, db))
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture(scope="module")
def damaged(stored: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three copies the oracle cannot read back (of the first seeds tried)."""
    folder = tmp_path_factory.mktemp("damaged")
    found: list[Path] = []
    for seed in range(40):
        copy = folder / f"seed-{seed}" / "orusage.duckdb"
        copy.parent.mkdir()
        shutil.copyfile(stored, copy)
        damage(copy, seed)
        if not readable(copy):
            found.append(copy)
        if len(found) == 3:
            return found
    raise AssertionError(f"only {len(found)} of 40 damaged copies were unreadable")


@pytest.mark.slow
@pytest.mark.reliability("damage")
@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_damaged_store_is_refused_and_left_as_it_was(which: int, damaged: list[Path], fake: FakeServer) -> None:
    db = damaged[which]
    before = db.read_bytes()
    result = run_cli(["ingest"], _env(fake, db))
    assert result.returncode == 5, result.stderr
    line = _one_line(result.stderr)
    assert str(db) in line and "damaged" in line and "left as it is" in line, line
    assert db.read_bytes() == before
    assert not snapshot_path(db).exists()  # nothing published from it
    assert sorted(p.name for p in db.parent.iterdir()) == ["orusage.duckdb", "orusage.duckdb.lock"]  # no WAL
    doctor = run_cli(["doctor"], _env(fake, db))
    assert doctor.returncode == 5 and "[FAIL] database file:" in doctor.stdout, doctor.stdout
    assert "All good" not in doctor.stdout and db.read_bytes() == before
    assert_no_secret([MANAGEMENT_KEY], [result.stdout + result.stderr, doctor.stdout + doctor.stderr], db)


@pytest.mark.slow
@pytest.mark.reliability("damage")
def test_damage_after_a_clean_run_is_found_too(stored: Path, fake: FakeServer, tmp_path: Path) -> None:
    """A store the last writer closed cleanly (and so need not read whole again) damaged in place later."""
    db = tmp_path / "orusage.duckdb"
    shutil.copyfile(stored, db)
    first = run_cli(["ingest", "--quiet"], _env(fake, db))  # reads it whole once, then remembers it
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "orusage.duckdb.verified").exists()
    published = snapshot_path(db).read_bytes()
    for seed in range(40):
        damage(db, 1000 + seed)
        if not readable(db):
            break
    else:
        raise AssertionError("no damage the oracle could see")
    before = db.read_bytes()
    result = run_cli(["ingest"], _env(fake, db))
    assert result.returncode == 5, result.stderr
    assert "damaged" in _one_line(result.stderr)
    assert db.read_bytes() == before and snapshot_path(db).read_bytes() == published
    assert_no_secret([MANAGEMENT_KEY], [first.stdout + first.stderr, result.stdout + result.stderr], db)


@pytest.mark.slow
@pytest.mark.reliability("damage")
def test_a_damaged_snapshot_is_reported(stored: Path, tmp_path: Path) -> None:
    db = tmp_path / "orusage.duckdb"
    shutil.copyfile(stored, db)
    snap = snapshot_path(db)
    shutil.copyfile(snapshot_path(stored), snap)
    for seed in range(40):
        damage(snap, 2000 + seed)
        if not readable(snap):
            break
    else:
        raise AssertionError("no damage the oracle could see")
    # `export` reads every table of the snapshot, so it surely meets the damage (`status` reads a few).
    result = run_cli(["export", "--db", str(db), "--format", "csv", "--out", str(tmp_path / "out")])
    assert result.returncode == 5, result.stderr
    line = _one_line(result.stderr)
    assert "snapshot" in line and ("damaged" in line or "cannot read" in line), line


def _set_schema(db: Path, version: int) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute("DELETE FROM schema_migrations WHERE version > ?", [version])
        if version > max(m.version for m in available()):
            con.execute("INSERT INTO schema_migrations VALUES (?, 'from_the_future', now()::TIMESTAMP, 'x')", [version])
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.reliability("damage")
def test_doctor_checks_the_schema_both_ways(stored: Path, fake: FakeServer, tmp_path: Path) -> None:
    newest = max(m.version for m in available())
    newer, older = tmp_path / "newer" / "orusage.duckdb", tmp_path / "older" / "orusage.duckdb"
    for db, version in ((newer, newest + 1), (older, newest - 1)):
        db.parent.mkdir()
        shutil.copyfile(stored, db)
        shutil.copyfile(snapshot_path(stored), snapshot_path(db))
        _set_schema(db, version)
    result = run_cli(["doctor"], _env(fake, newer))
    assert result.returncode == 5, result.stdout
    assert f"[FAIL] schema: the store's schema is {newest + 1}, newer than" in result.stdout, result.stdout
    assert "All good" not in result.stdout
    refused = run_cli(["ingest"], _env(fake, newer))  # as the ingest says too
    assert refused.returncode == 5 and "newer openrouter-usage" in refused.stderr
    result = run_cli(["doctor"], _env(fake, older))
    assert result.returncode == 0, result.stdout
    assert f"[warn] schema: the store's schema is {newest - 1}" in result.stdout and "All good" in result.stdout
