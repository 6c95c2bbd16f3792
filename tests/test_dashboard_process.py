"""`orusage dashboard` as a process: its Streamlit child carries no secret setting (environment, command line),
gets the password only as a scrypt hash in a private file, and stops with it (SIGTERM and SIGINT forwarded and
waited for; SIGKILL of the parent stops the child too). Binding beyond localhost needs a guard or --allow-open.
Real processes, real signals, real sockets."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.access import password_matches_hash
from core.settings import PASSWORD_HASH_FILE_ENV, SECRET_SETTINGS
from orusage.serve import check_exposure
from tests.browser import free_port
from tests.fake_fixtures import API_KEY, MANAGEMENT_KEY
from tests.helpers import REPO, run_cli

DASHBOARD_PASSWORD = "SENTINEL-dashboard-password-5b7e"
SECRETS = {
    "OPENROUTER_MANAGEMENT_KEY": MANAGEMENT_KEY,
    "OPENROUTER_API_KEY": API_KEY,
    "ORUSAGE_WEBHOOK_URL": "http://127.0.0.1:9/hooks/SENTINEL-webhook-token-0c1d",
    "ORUSAGE_SLACK_WEBHOOK_URL": "https://hooks.example.test/services/SENTINEL-slack-token-9a8b",
    "ORUSAGE_SMTP_PASSWORD": "SENTINEL-smtp-password-3f2e",
    "ORUSAGE_DASHBOARD_PASSWORD": DASHBOARD_PASSWORD,
}


@dataclass
class Served:
    parent: subprocess.Popen[bytes]
    child: int
    port: int
    log: Path


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")  # exited; reaped by whoever adopted it (or waiting to be)


def _wait_for(condition: object, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds:g} s; log:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)


@contextmanager
def dashboard(tmp_path: Path, env: dict[str, str], *args: str) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / f"dashboard-{port}.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    command = [sys.executable, "-m", "orusage.cli", "dashboard", "--db", str(tmp_path / "none.duckdb"),
               "--host", "127.0.0.1", "--port", str(port), *args]  # fmt: skip
    with log.open("wb") as out:
        parent = subprocess.Popen(
            command,
            env={**base, **env},
            cwd=str(tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    served: Served | None = None
    try:
        _wait_for(lambda: _healthy(port) or parent.poll() is not None, 60, "the dashboard did not come up", log)
        assert parent.poll() is None, log.read_text()
        (child,) = _children(parent.pid)
        served = Served(parent, child, port, log)
        yield served
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if served is not None and not _gone(served.child):
            os.kill(served.child, signal.SIGKILL)


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = [item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item]
    return {k.decode(): v.decode(errors="replace") for k, v in pairs}


@pytest.mark.slow
@pytest.mark.reliability("secret")
def test_the_child_environment_carries_no_secret(tmp_path: Path) -> None:
    with dashboard(tmp_path, SECRETS) as served:
        env = _environ(served.child)
        cmdline = Path(f"/proc/{served.child}/cmdline").read_bytes().decode(errors="replace")
        assert "streamlit" in cmdline and env["ORUSAGE_DB"].endswith("none.duckdb")  # the real child, read
        assert not {name for name in env if name.upper() in SECRET_SETTINGS}
        for value in SECRETS.values():
            assert value not in "\n".join(env.values()) and value not in cmdline
        # The password arrives as a scrypt hash, in a file only this user can read, in a folder only they enter.
        hashed = Path(env[PASSWORD_HASH_FILE_ENV])
        assert stat.S_IMODE(hashed.stat().st_mode) == 0o600
        assert stat.S_IMODE(hashed.parent.stat().st_mode) == 0o700
        text = hashed.read_text()
        assert DASHBOARD_PASSWORD not in text
        assert password_matches_hash(DASHBOARD_PASSWORD, text) and not password_matches_hash("guess", text)
        parent_env = _environ(served.parent.pid)
        assert parent_env["ORUSAGE_DASHBOARD_PASSWORD"] == DASHBOARD_PASSWORD  # what the child was spared
        served.parent.send_signal(signal.SIGTERM)
        assert served.parent.wait(timeout=30) == 0
    assert not hashed.parent.exists(), "the private folder goes with the dashboard"


@pytest.mark.slow
@pytest.mark.reliability("crash")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_command_stops_the_streamlit_child(tmp_path: Path, signum: signal.Signals) -> None:
    with dashboard(tmp_path, {}) as served:
        assert _listening(served.port) and not _gone(served.child)
        served.parent.send_signal(signum)
        assert served.parent.wait(timeout=30) == 0, served.log.read_text()
        assert _gone(served.child), "the child was waited for: gone when the command returns"
        assert not _listening(served.port)


@pytest.mark.slow
@pytest.mark.reliability("crash")
def test_the_child_does_not_outlive_a_killed_command(tmp_path: Path) -> None:
    with dashboard(tmp_path, {}) as served:
        served.parent.send_signal(signal.SIGKILL)
        served.parent.wait(timeout=10)
        _wait_for(lambda: _gone(served.child), 30, "the Streamlit child outlived its parent", served.log)
        _wait_for(lambda: not _listening(served.port), 10, "the port is still served", served.log)


@pytest.mark.reliability("secret")
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "dashboard.example.test"])
def test_serving_beyond_localhost_without_a_guard_is_refused(tmp_path: Path, host: str) -> None:
    port = str(free_port())
    result = run_cli(["dashboard", "--db", str(tmp_path / "x.duckdb"), "--host", host, "--port", port], timeout=60)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"orusage: --host {host} would serve every page to the network with no password")
    assert "--allow-open" in line and "ORUSAGE_DASHBOARD_PASSWORD" in line
    assert result.stdout == ""  # nothing was started


def test_the_exposure_rule() -> None:
    warned: list[str] = []
    for host in ("localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "app.localhost"):
        check_exposure(host, guarded=False, allow_open=False, warn=warned.append)  # this machine only
    check_exposure("0.0.0.0", guarded=True, allow_open=False, warn=warned.append)  # a password or sign-in
    assert warned == []
    check_exposure("0.0.0.0", guarded=False, allow_open=True, warn=warned.append)
    assert len(warned) == 1 and "no password and no sign-in" in warned[0]


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"ORUSAGE_AUTH_CLIENT_ID": "orusage"}, "sign-in is half set up: ORUSAGE_AUTH_SERVER_METADATA_URL,"),
        ({"ORUSAGE_AUTH_ALLOW": "alice@example.com, @@"}, "ORUSAGE_AUTH_ALLOW is invalid: '@@' is not an e-mail"),
        ({"ORUSAGE_AUTH_REDIRECT_URI": "http://localhost:8501/"}, "must end with /oauth2callback"),
        ({"ORUSAGE_AUTH_SERVER_METADATA_URL": "http://idp.test/\x07"}, "has a control character"),
    ],
    ids=["half", "allowlist", "redirect", "metadata-url"],
)
def test_a_bad_sign_in_setup_is_refused_before_serving(tmp_path: Path, env: dict[str, str], says: str) -> None:
    result = run_cli(["dashboard", "--db", str(tmp_path / "x.duckdb"), "--port", str(free_port())], env, timeout=60)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert says in line and result.stdout == ""


def test_the_script_runs_from_the_installed_package() -> None:
    from orusage.serve import dashboard_script

    assert dashboard_script() == REPO / "dashboard" / "app.py"
