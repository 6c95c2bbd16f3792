"""Shared pytest configuration. Fixtures live in plugin modules listed here."""

import os
import sys
from collections.abc import Iterator

import pytest

_MAIN = sys.modules.get("__main__")  # pytest's (or xdist's worker's), before any page ran

# The fakes of the tests have no rate limit (it runs on the real clock, and many tests share one server), so
# nothing is paced either: pacing a year of analytics at OpenRouter's 60 a minute slept about 47 s per ingest.
# The pacer and the limit are tested on a hand-driven clock (tests/test_analytics_rules.py,
# tests/test_ingest_analytics.py, tests/test_fake_analytics.py); a test that wants pacing says so.
UNPACED = "100000"
os.environ["ORUSAGE_ANALYTICS_RATE"] = UNPACED

pytest_plugins = [
    "tests.fake_fixtures",
    "tests.dashboard_fixtures",
    "tests.reliability",
    "tests.focus_fixtures",
]


@pytest.fixture(autouse=True)
def _main_module_kept() -> Iterator[None]:
    """Streamlit's AppTest runs a page as the module ``__main__`` and leaves it in ``sys.modules``: a process
    started later with multiprocessing's spawn method would run that page again as its own main (and die of
    it). After each test the process's own ``__main__`` is put back (module fixtures run pages too), so no
    test depends on which ran before it."""
    yield
    if _MAIN is not None:
        sys.modules["__main__"] = _MAIN
