"""Serving the Streamlit dashboard as a child process."""

from __future__ import annotations

import signal
import subprocess
import sys
from importlib import resources
from pathlib import Path

from core.settings import CONFIG_ENV, DB_ENV, child_environment


def dashboard_script() -> Path:
    return Path(str(resources.files("dashboard").joinpath("app.py")))


def dashboard_command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(dashboard_script()),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def dashboard_env(db_path: Path, config: Path | None = None) -> dict[str, str]:
    """The dashboard only reads the store: it never gets a key. ``config``: the alerts config it names."""
    overrides = {DB_ENV: str(db_path)}
    if config is not None:
        overrides[CONFIG_ENV] = str(config)
    return child_environment(overrides)


def serve_dashboard(db_path: Path, *, host: str, port: int, config: Path | None = None) -> int:
    """Run Streamlit in the foreground until Ctrl-C; return its exit status."""
    print(f"Dashboard: http://{host}:{port}  (data: {db_path}; Ctrl-C to stop)", flush=True)
    child = subprocess.Popen(dashboard_command(host, port), env=dashboard_env(db_path, config))
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
        return 0
