"""Counts what the fault, crash, fuzz, bad-input, secrets, impossible-value, deadline, damaged-store and
concurrency suites tried, and prints it at the end of the run, under pytest-xdist too (the docs' reliability
table is this summary).
Mark a test with ``@pytest.mark.reliability("fault")`` (or crash, fuzz, bad-input, secret, value, deadline,
damage, concurrency); fuzz tests also say how many examples each runs. A test whose counts are only known
once it has run (page runs, say) also calls ``tried(kind, line)``: the line is printed under its kind's
count."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from typing import cast

import pluggy
import pytest

_passed: Counter[str] = Counter()
_failed: Counter[str] = Counter()
_examples: Counter[str] = Counter()
_lines: dict[str, list[str]] = {}
_said: list[tuple[str, str]] = []  # what the running test said with `tried`, until its report is made
KINDS = ("fault", "crash", "fuzz", "bad-input", "secret", "value", "deadline", "damage", "concurrency")


def tried(kind: str, line: str) -> None:
    """Say what a test did, in numbers it measured, for the summary."""
    _said.append((kind, line))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability(kind, examples=0): counted in the reliability summary")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    # The counts travel in the report's user properties: under pytest-xdist the test runs in a worker and
    # only its report reaches the process that prints the summary.
    outcome = yield
    report = outcome.get_result()
    if report.when != "call":
        return
    marker = item.get_closest_marker("reliability")
    if marker is not None:
        report.user_properties.append(("reliability", (str(marker.args[0]), int(marker.kwargs.get("examples", 0)))))
    report.user_properties.extend(("reliability-line", said) for said in _said)
    _said.clear()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "reliability":
            kind, examples = cast(tuple[str, int], value)
            if report.passed:
                _passed[kind] += 1
                _examples[kind] += examples
            elif report.failed:
                _failed[kind] += 1
        elif name == "reliability-line":
            kind, line = cast(tuple[str, str], value)
            _lines.setdefault(kind, []).append(line)


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
