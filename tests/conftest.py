"""Shared pytest configuration. Fixtures live in plugin modules listed here."""

import sys
from collections.abc import Iterator

import pytest

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
    it). Each test gives back the ``__main__`` it started with, so no test depends on which ran before it."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main
