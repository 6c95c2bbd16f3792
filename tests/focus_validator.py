"""The official FOCUS validator (``focus-validator`` 1.0.0, the FinOps Foundation's), run as a command on the
files the tests write.

It pins numpy < 2 and pandas < 3 and needs an old ``multimethod``, so it cannot share the project's
environment: ``ensure_venv()`` makes a virtualenv of its own at ``.venv-focus/`` in the checkout (gitignored)
from the pinned ``tests/focus/validator-requirements.txt`` (with ``uv`` when ``make install`` left one, else
``venv`` + pip), once: later runs reuse it while the pins are unchanged. Built beside its place and renamed
into it, under a lock, so parallel test workers and a killed run never leave half a venv.
``python -m tests.focus_validator`` (``make focus-validator``) makes it ahead of the tests.

Two verdicts per file (``validate``):

* the official "1.0" rule set, with ``tests/focus/validator-overrides.yaml`` skipping the five checks that
  name columns FOCUS 1.0 renamed (the rule set still has the preview's ``InvoiceIssuer``, ``Provider``,
  ``Publisher``, ``ResourceID`` and 0.5's ``ChargeType``);
* ``corrected=True``: the same rule set with those five column names changed to 1.0's and nothing skipped,
  so those checks run too, on the columns FOCUS 1.0 names.

The validator reads the currency list from a path relative to its working directory, so it is run from its
own site-packages folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv-focus"
REQUIREMENTS = REPO / "tests" / "focus" / "validator-requirements.txt"
OVERRIDES = REPO / "tests" / "focus" / "validator-overrides.yaml"
MARKER = ".requirements-sha256"
VERSION = "1.0"
# The validator's stale column names → FOCUS 1.0's (see validator-overrides.yaml).
RENAMED = {"InvoiceIssuer": "InvoiceIssuerName", "Provider": "ProviderName", "Publisher": "PublisherName",
           "ResourceID": "ResourceId", "ChargeType": "ChargeCategory"}  # fmt: skip


def _pins() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _ready(venv: Path) -> bool:
    marker = venv / MARKER
    return _python(venv).exists() and marker.exists() and marker.read_text(encoding="utf-8").strip() == _pins()


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    with open(REPO / ".venv-focus.lock", "a+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} … failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def _build(target: Path) -> None:
    uv = REPO / ".uv" / "bin" / "uv"
    if uv.exists():
        _run([str(uv), "venv", "-q", "--python", sys.executable, str(target)])
        _run([str(uv), "pip", "install", "-q", "--python", str(_python(target)), "-r", str(REQUIREMENTS)])
    else:
        _run([sys.executable, "-m", "venv", str(target)])
        pip = [str(_python(target)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        _run([*pip, "-r", str(REQUIREMENTS)])
    (target / MARKER).write_text(_pins() + "\n", encoding="utf-8")


def ensure_venv() -> Path:
    """The validator's python, making its virtualenv first when it is missing or its pins changed."""
    if _ready(VENV):
        return _python(VENV)
    with _lock():
        if _ready(VENV):  # another worker made it while this one waited
            return _python(VENV)
        building = VENV.with_name(f"{VENV.name}.building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        _build(building)
        shutil.rmtree(VENV, ignore_errors=True)
        building.rename(VENV)
    return _python(VENV)


def _site_packages(python: Path) -> Path:
    where = "import focus_validator, os; print(os.path.dirname(os.path.dirname(focus_validator.__file__)))"
    out = subprocess.run([str(python), "-c", where], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def corrected_rules(python: Path, target: Path) -> Path:
    """A copy of the validator's own 1.0 rule set whose stale column names are FOCUS 1.0's (``RENAMED``);
    returns the rule-set folder to pass as ``--rule-set-path``."""
    source = _site_packages(python) / "focus_validator" / "rules" / "version_sets" / VERSION
    folder = target / "version_sets"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / VERSION).mkdir(parents=True)
    for rule in sorted(source.glob("*.yaml")):
        text = rule.read_text(encoding="utf-8")
        for old, new in RENAMED.items():
            text = re.sub(rf"^column_id: {old}$", f"column_id: {new}", text, flags=re.M)
            text = re.sub(rf"\b{old}\b(?=\s+IN\s)", new, text)  # the SQL of SkuPriceId_Nullable
        (folder / VERSION / rule.name).write_text(text, encoding="utf-8")
    return folder


@dataclass
class Verdict:
    tests: int
    failed: list[str] = field(default_factory=list)  # check ids
    errored: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def errors(self) -> int:
        return len(self.failed) + len(self.errored)


def validate(data_file: Path, *, corrected: bool = False) -> Verdict:
    """Run the validator on ``data_file`` (.csv or .parquet) and read its JUnit report."""
    python = ensure_venv()
    with tempfile.TemporaryDirectory(prefix="focus-validator-") as tmp:
        report = Path(tmp) / "report.xml"
        args = [str(python), "-m", "focus_validator.main", "--data-file", str(data_file.resolve()),
                "--validate-version", VERSION, "--output-type", "unittest",
                "--output-destination", str(report)]  # fmt: skip
        if corrected:
            args += ["--rule-set-path", str(corrected_rules(python, Path(tmp)))]
        else:
            args += ["--override-file", str(OVERRIDES)]
        run = subprocess.run(args, capture_output=True, text=True, cwd=_site_packages(python), check=False, timeout=600)
        if run.returncode != 0 or not report.exists():
            raise RuntimeError(f"focus-validator did not run ({run.returncode}): {run.stderr.strip()[-3000:]}")
        root = ET.parse(report).getroot()
        verdict = Verdict(tests=int(root.get("tests", "0")), output=run.stdout + run.stderr)
        for case in root.iter("testcase"):
            name = str(case.get("name", "")).split(" :: ")[0]
            if case.find("failure") is not None:
                verdict.failed.append(name)
            elif case.find("error") is not None:
                verdict.errored.append(name)
            elif case.find("skipped") is not None:
                verdict.skipped.append(name)
        return verdict


if __name__ == "__main__":
    print(ensure_venv())
