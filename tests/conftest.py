"""Shared pytest configuration. Fixtures live in plugin modules listed here."""

pytest_plugins = [
    "tests.fake_fixtures",
    "tests.dashboard_fixtures",
    "tests.reliability",
    "tests.focus_fixtures",
]
