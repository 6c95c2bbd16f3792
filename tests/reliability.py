"""Counts what the fault, crash, fuzz, bad-input, secrets, impossible-value, deadline, damaged-store and
concurrency suites tried, and prints it at the end of the run (the docs' reliability table is this summary).
Mark a test with ``@pytest.mark.reliability("fault")`` (or crash, fuzz, bad-input, secret, value, deadline,
damage, concurrency); fuzz tests also say how many examples each runs. A test whose counts are only known
once it has run (page runs, say) also calls ``tried(kind, line)``: the line is printed under its kind's
count."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator

import pytest

_passed: Counter[str] = Counter()
_failed: Counter[str] = Counter()
_examples: Counter[str] = Counter()
_lines: dict[str, list[str]] = {}
KINDS = ("fault", "crash", "fuzz", "bad-input", "secret", "value", "deadline", "damage", "concurrency")


def tried(kind: str, line: str) -> None:
    """Say what a test did, in numbers it measured, for the summary."""
    _lines.setdefault(kind, []).append(line)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability(kind, examples=0): counted in the reliability summary")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("reliability")
    if marker is None or report.when != "call":
        return
    kind = str(marker.args[0])
    if report.passed:
        _passed[kind] += 1
        _examples[kind] += int(marker.kwargs.get("examples", 0))
    elif report.failed:
        _failed[kind] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not (_passed or _failed):
        return
    terminalreporter.section("reliability: what was tried")
    for kind in KINDS:
        if _passed[kind] or _failed[kind]:
            examples = f" ({_examples[kind]} generated inputs)" if _examples[kind] else ""
            verdict = "nothing lost" if not _failed[kind] else f"{_failed[kind]} FAILED"
            terminalreporter.write_line(f"{kind:>11}: {_passed[kind] + _failed[kind]} cases{examples}: {verdict}")
            for line in _lines.get(kind, []):
                terminalreporter.write_line(f"{'':>13}{line}")
