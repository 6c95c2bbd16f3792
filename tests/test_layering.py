"""The house's rules, checked: only the settings module reads the environment, and every import-linter
contract in pyproject.toml bites (a forbidden import added to a copy of the code breaks exactly it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import REPO

PACKAGES = ("core", "queries", "review", "charts", "ingest", "dashboard", "orusage", "fake_openrouter")
SETTINGS = REPO / "core" / "settings.py"
READS_ENV = re.compile(r"\bos\.environ\b|\bos\.getenv\b|\bgetenv\(|\benviron\[|from os import[^\n]*\benviron\b")


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = [str(p.relative_to(REPO)) for p in _sources() if p != SETTINGS and READS_ENV.search(p.read_text())]
    assert readers == [], f"read settings through core.settings, not the environment: {readers}"
    assert READS_ENV.search(SETTINGS.read_text())  # the pattern does find what it looks for


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


# For each contract: a module and the import that it must refuse there.
VIOLATIONS: dict[str, tuple[str, str]] = {
    "layers": ("core/clock.py", "import queries.store"),
    "core is the ground floor": ("core/fmt.py", "import pandas"),
    "only queries talks to DuckDB": ("dashboard/frames.py", "import duckdb"),
    "the data layer has no web UI": ("review/weeks.py", "import altair"),
    "reports, alerts": ("orusage/review/render.py", "import dashboard.ui"),
    "the dashboard reads the store": ("dashboard/frames.py", "import ingest.pacing"),
    "the fake OpenRouter imports nothing of ours": ("fake_openrouter/keys.py", "import core.fmt"),
    "only the CLI's demo and fake commands": ("orusage/doctor.py", "import fake_openrouter.keys"),
}


def _violation(name: str) -> tuple[str, str]:
    found = [v for prefix, v in VIOLATIONS.items() if name.startswith(prefix)]
    assert len(found) == 1, f"add a deliberate violation of {name!r} to VIOLATIONS"
    return found[0]


def test_every_contract_has_a_violation_to_try() -> None:
    names = [str(c["name"]) for c in _contracts()]
    assert names and all(_violation(n) for n in names)
    assert len(VIOLATIONS) == len(names)


def test_every_ignore_says_why() -> None:
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    block = text.split("[tool.importlinter]", 1)[1]
    ignores = re.findall(r"^\s+\"[\w.]+ -> [\w.*]+\",?(.*)$", block, re.M)
    assert ignores and all(comment.strip().startswith("#") for comment in ignores)


@pytest.fixture(scope="module")
def copy_of_the_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("house")
    for package in PACKAGES:
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "400"}  # one line per contract
    command = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_contracts_hold_on_the_copy(copy_of_the_code: Path) -> None:
    result = _lint(copy_of_the_code)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("contract", [str(c["name"]) for c in _contracts()])
def test_a_forbidden_import_breaks_the_contract(copy_of_the_code: Path, contract: str) -> None:
    module, line = _violation(contract)
    path = copy_of_the_code / module
    original = path.read_text(encoding="utf-8")
    head, sep, rest = original.partition("from __future__ import annotations\n")
    assert sep, f"{module} has no __future__ import to put the violation after"
    path.write_text(f"{head}{sep}{line}  # a deliberate violation\n{rest}", encoding="utf-8")
    try:
        result = _lint(copy_of_the_code)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode != 0, f"{contract!r} did not notice `{line}` in {module}"
    broken = [ln for ln in result.stdout.splitlines() if " BROKEN" in ln]
    assert any(contract[:40] in b for b in broken), result.stdout[-3000:]
