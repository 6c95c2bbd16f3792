"""Settings are read once, in one place, the same way for every way of starting the tool: the environment
and a `.env` in the working folder, for the CLI, `orusage dashboard` and `streamlit run dashboard/app.py`."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import clock, settings
from core.errors import ConfigError
from orusage.serve import dashboard_env
from tests.dashboard_fixtures import run_app, texts
from tests.helpers import REPO

APP = REPO / "dashboard" / "app.py"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ORUSAGE_*/OPENROUTER_* variable set, and a working folder of the test's own (for its `.env`)."""
    for name in list(os.environ):
        if name.upper().startswith(("ORUSAGE_", "OPENROUTER_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_dot_env_is_read_and_the_environment_wins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text(f"ORUSAGE_DB={clean_env / 'from-dotenv.duckdb'}\nORUSAGE_TODAY=2026-11-20\n")
    assert settings.current().orusage_db == clean_env / "from-dotenv.duckdb"
    assert clock.today_utc() == date(2026, 11, 20)
    monkeypatch.setenv("ORUSAGE_DB", str(clean_env / "from-env.duckdb"))
    assert settings.current().orusage_db == clean_env / "from-env.duckdb"


def test_a_changed_dot_env_is_read_again(clean_env: Path) -> None:
    dot = clean_env / ".env"
    dot.write_text("ORUSAGE_TODAY=2026-11-20\n")
    assert clock.today_utc() == date(2026, 11, 20)
    dot.write_text("ORUSAGE_TODAY=2026-11-21\n# a longer file: another size, whatever the clock's resolution\n")
    assert clock.today_utc() == date(2026, 11, 21)


def test_a_bad_value_is_one_line_naming_the_setting(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORUSAGE_HTTP_TIMEOUT", "-3")
    with pytest.raises(ConfigError, match=r"^ORUSAGE_HTTP_TIMEOUT is invalid: .*\.$"):
        settings.current()


def test_the_dashboard_view_holds_no_secret(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-or-v1-" + "s3cr3t" * 8
    monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", secret)
    monkeypatch.setenv("ORUSAGE_DASHBOARD_PASSWORD", "hunter2-hunter2")
    view = settings.dashboard_view()
    assert secret not in repr(view) and "hunter2" not in repr(view) and view.password_required
    assert settings.dashboard_password_matches("hunter2-hunter2") and not settings.dashboard_password_matches("x")
    env = dashboard_env(clean_env / "db.duckdb")
    assert not set(env) & set(settings.SECRET_SETTINGS) and secret not in env.values()


def test_streamlit_run_honours_dot_env(clean_env: Path, demo_db: Path, demo_today: date) -> None:
    """`streamlit run dashboard/app.py` started where a `.env` names the store shows that store."""
    (clean_env / ".env").write_text(f"ORUSAGE_DB={demo_db}\nORUSAGE_TODAY={demo_today.isoformat()}\n")
    at = run_app(AppTest.from_file(str(APP), default_timeout=30))
    assert not at.exception and at.title[0].value == "Overview"
    assert "No data yet" not in texts(at)
