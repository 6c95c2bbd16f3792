"""Shared pytest configuration. Fixtures live in plugin modules listed here."""

import sys
from collections.abc import Iterator

import pytest

_MAIN = sys.modules.get("__main__")  # pytest's (or xdist's worker's), before any page ran

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
