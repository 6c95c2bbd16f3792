"""Serving the Streamlit dashboard as a child process.

The child gets no secret setting in its environment (``core.settings.child_environment``). What it needs of
them is written into a private folder (mode 700, files 600) that lives as long as this process: the dashboard
password as a scrypt hash, and Streamlit's ``[auth]`` secrets for sign-in. SIGTERM, SIGINT and SIGHUP are
forwarded to the child, which is waited for (and killed after a grace period); the child also gets SIGTERM
when this process dies, however it dies.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from types import FrameType

from core.access import hash_password
from core.errors import ConfigError
from core.settings import CONFIG_ENV, DB_ENV, PASSWORD_HASH_FILE_ENV, Settings, SignIn, child_environment, current
from core.urls import is_loopback

STOP_GRACE_S = 15.0  # Streamlit needs ~2.3 s to stop after SIGTERM
_FORWARDED = {signal.SIGTERM: signal.SIGTERM, signal.SIGINT: signal.SIGINT, signal.SIGHUP: signal.SIGTERM}
_PR_SET_PDEATHSIG = 1


def dashboard_script() -> Path:
    return Path(str(resources.files("dashboard").joinpath("app.py")))


def dashboard_command(host: str, port: int, secrets_file: Path | None = None) -> list[str]:
    command = [
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
    if secrets_file is not None:  # sign-in: this file only (a path, no secret, on the command line)
        command += ["--secrets.files", str(secrets_file)]
    return command


def dashboard_env(db_path: Path, config: Path | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The dashboard only reads the store: it never gets a key, a webhook URL or a password.
    ``config``: the alerts config it names; ``extra``: settings of our own (the password hash's file)."""
    overrides = {DB_ENV: str(db_path), **(extra or {})}
    if config is not None:
        overrides[CONFIG_ENV] = str(config)
    return child_environment(overrides)


def check_exposure(host: str, guarded: bool, allow_open: bool, warn: Callable[[str], None]) -> None:
    """Refuse to serve everything to a network with nobody asked who they are, unless told to."""
    if guarded or is_loopback(host):
        return
    if not allow_open:
        raise ConfigError(
            f"--host {host} would serve every page to the network with no password and no sign-in.",
            "Set ORUSAGE_DASHBOARD_PASSWORD or sign-in (docs/dashboard.md#access), or add --allow-open if every "
            "host that can reach it may see the data.",
        )
    warn(f"orusage: warning: serving on {host} with no password and no sign-in: anyone who reaches it sees everything.")


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string (json escapes no '/', TOML needs none)


def auth_secrets_toml(sign_in: SignIn) -> str:
    """Streamlit's ``[auth]`` section for ``st.login()`` with the default provider."""
    cookie = sign_in.cookie_secret.get_secret_value() if sign_in.cookie_secret else secrets.token_urlsafe(32)
    fields = {
        "redirect_uri": sign_in.redirect_uri,
        "cookie_secret": cookie,
        "client_id": sign_in.client_id,
        "client_secret": sign_in.client_secret.get_secret_value(),
        "server_metadata_url": sign_in.server_metadata_url,
    }
    return "[auth]\n" + "".join(f"{name} = {_toml_string(value)}\n" for name, value in fields.items())


def _write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return path


@contextmanager
def private_folder() -> Iterator[Path]:
    """A folder only this user can enter (mkdtemp makes it 700), removed when the dashboard stops."""
    folder = Path(tempfile.mkdtemp(prefix="orusage-dashboard-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Looked up here, not in the forked child: the parent may run threads (the demo does), and a child forked from a
# threaded process must not take the loader's locks before exec.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies, even by SIGKILL (Linux; elsewhere a no-op)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


class _Stopping(Exception):
    """Raised out of the wait by the first forwarded signal."""


def supervise(child: subprocess.Popen[bytes], grace: float = STOP_GRACE_S) -> int:
    """Wait for ``child``, forwarding SIGTERM/SIGINT (SIGHUP as SIGTERM). Once asked to stop, give it ``grace``
    seconds, then kill it. Returns the child's status, 0 when it stopped because it was asked to."""
    asked: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        with suppress(ProcessLookupError):
            child.send_signal(_FORWARDED[signal.Signals(signum)])
        if not asked:
            asked.append(signum)
            raise _Stopping

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        try:
            return child.wait()
        except _Stopping:
            pass
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve_dashboard(
    db_path: Path,
    *,
    host: str,
    port: int,
    config: Path | None = None,
    settings: Settings | None = None,
    allow_open: bool = False,
    warn: Callable[[str], None] | None = None,
) -> int:
    """Run Streamlit until it stops or this process is told to stop; return its exit status."""
    settings = settings or current()
    warn = warn or (lambda line: print(line, file=sys.stderr, flush=True))
    sign_in = settings.sign_in(host, port)
    password = settings.orusage_dashboard_password
    check_exposure(host, password is not None or sign_in is not None, allow_open, warn)
    with private_folder() as folder:
        extra: dict[str, str] = {}
        if password is not None:
            hashed = _write_private(folder / "password.scrypt", hash_password(password.get_secret_value()) + "\n")
            extra[PASSWORD_HASH_FILE_ENV] = str(hashed)
        secrets_file = _write_private(folder / "secrets.toml", auth_secrets_toml(sign_in)) if sign_in else None
        shown = f"[{host}]" if ":" in host else host
        guard = " and ".join(n for n, on in (("sign-in", sign_in), ("password", password)) if on) or "no password"
        print(f"Dashboard: http://{shown}:{port}  (data: {db_path}; {guard}; Ctrl-C to stop)", flush=True)
        child = subprocess.Popen(
            dashboard_command(host, port, secrets_file),
            env=dashboard_env(db_path, config, extra),
            start_new_session=True,  # Ctrl-C reaches it once, forwarded from here
            preexec_fn=_die_with_parent,  # prctl only, before exec (no locks taken)
        )
        return supervise(child)
