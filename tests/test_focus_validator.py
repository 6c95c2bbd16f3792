"""The official FOCUS validator (focus-validator 1.0.0, FOCUS 1.0) on every FOCUS file these tests write: the
demo's last complete month and a generated year, as CSV (gzipped too) and as Parquet, a store with BYOK,
several teams, an unknown key and a price change, and an empty period.

Each file gets two verdicts (tests/focus_validator.py): the validator's own 1.0 rules with the five checks
that name pre-1.0 columns overridden (they must be the only ones skipped), and a copy of those rules naming
FOCUS 1.0's columns, nothing skipped. Both must report 0 errors. The validator runs in a virtualenv of its
own, made on first use; each run takes seconds, hence ``slow``.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from queries import focus
from tests import allocation_store as S
from tests import focus_validator as fv
from tests.focus_fixtures import PINNED
from tests.test_focus_export import TINY_ENV, export, only

pytestmark = pytest.mark.slow

_OVERRIDES = fv.OVERRIDES.read_text(encoding="utf-8").splitlines()
SKIPPED = {line.strip()[2:] for line in _OVERRIDES if line.startswith("  - ")}
DECIMALS = {f"{c.name}_IsDecimal" for c in focus.COLUMNS if c.kind == "decimal" and c.name in focus.FOCUS_COLUMNS}


def assert_valid(path: Path, *, corrected: bool = True) -> None:
    verdict = fv.validate(path)
    assert verdict.errors == 0, (verdict.failed, verdict.errored, verdict.output[-2000:])
    assert set(verdict.skipped) == SKIPPED and verdict.tests > 100
    if corrected:
        strict = fv.validate(path, corrected=True)
        assert strict.errors == 0 and strict.skipped == [], (strict.failed, strict.errored, strict.output[-2000:])


def gunzipped(path: Path) -> Path:
    target = path.with_name(path.name.removesuffix(".gz"))
    with gzip.open(path, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


@pytest.mark.parametrize("as_", ["csv", "parquet"])
def test_the_hand_computed_store(tiny_db: Path, tmp_path: Path, as_: str) -> None:
    export(tiny_db, tmp_path, "--from", S.D0.isoformat(), "--to", S.D2.isoformat(), "--as", as_)
    assert_valid(only(tmp_path))


@pytest.mark.parametrize("as_", ["csv", "parquet"])
def test_the_demos_last_complete_month(teams_db: Path, tmp_path: Path, as_: str) -> None:
    export(teams_db, tmp_path, "--as", as_, env=PINNED)
    path = only(tmp_path)
    assert path.name.startswith("openrouter-focus-1.0_2026-10-01_2026-10-31.")
    assert_valid(path)


def test_a_generated_year(teams_db: Path, tmp_path: Path) -> None:
    """A year of the fake's generated account (analytics, then /activity for the last 30 days)."""
    year = ["--from", "2025-11-21", "--to", "2026-11-19"]
    export(teams_db, tmp_path / "pq", *year, "--as", "parquet", env=PINNED)
    assert_valid(only(tmp_path / "pq"))
    export(teams_db, tmp_path / "gz", *year, "--compress", env=PINNED)
    assert_valid(gunzipped(only(tmp_path / "gz")), corrected=False)


def test_an_empty_period(tiny_db: Path, tmp_path: Path) -> None:
    span = ["--from", "2026-01-01", "--to", "2026-01-31"]
    export(tiny_db, tmp_path / "pq", *span, "--as", "parquet")
    assert_valid(only(tmp_path / "pq"), corrected=False)  # the corrected rules' SQL check breaks on no rows
    export(tiny_db, tmp_path / "csv", *span, env=TINY_ENV)
    verdict = fv.validate(only(tmp_path / "csv"))
    # A CSV carries no types: with no row, pandas reads every column as text, so the validator's dtype
    # checks of FOCUS's decimal columns are all it can fail, and it fails exactly those.
    assert set(verdict.failed) == DECIMALS and not verdict.errored and set(verdict.skipped) == SKIPPED
