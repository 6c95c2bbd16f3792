"""Stores with teams, for the allocation, FOCUS export, chargeback and Teams page tests (a pytest plugin,
listed in ``tests/conftest.py``).

* ``teams_db`` (session): the demo account (``demo_db``) with the demo's teams stored by a real
  ``orusage alerts check``; read-only for the tests (copy it to change it: ``copy_store``).
* ``tiny_db`` (session): ``tests/allocation_store``'s hand-computed store.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orusage.demo import DEMO_CONFIG
from queries.store import snapshot_path
from tests import allocation_store
from tests.fake_fixtures import FAKE_NOW
from tests.helpers import run_cli

TODAY = FAKE_NOW.date()
# The demo's own teams: a key/workspace team, an app team and a member team (the contractor's key).
TEAMS_CONFIG = DEMO_CONFIG
PINNED = {"ORUSAGE_NOW": FAKE_NOW.replace(tzinfo=None).isoformat(), "ORUSAGE_TODAY": TODAY.isoformat()}


def copy_store(source: Path, folder: Path) -> Path:
    """A copy of a store and its snapshot, for a test to change."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "orusage.duckdb"
    shutil.copyfile(source, db)
    shutil.copyfile(snapshot_path(source), snapshot_path(db))
    return db


@pytest.fixture(scope="session")
def teams_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("teams")
    db = copy_store(demo_db, folder)
    config = folder / "alerts.toml"
    config.write_text(TEAMS_CONFIG, encoding="utf-8")
    result = run_cli(["alerts", "check", "--db", str(db), "--config", str(config), "--quiet"], env=PINNED)
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return allocation_store.write(tmp_path_factory.mktemp("tiny") / "orusage.duckdb")
