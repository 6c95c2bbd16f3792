"""Sign-in that exists: `orusage dashboard` with ORUSAGE_AUTH_* settings, Streamlit's OpenID Connect login
(`st.login`) against a real OpenID Connect provider on loopback (oidc-provider-mock: discovery, authorization
form, token endpoint, signed ID tokens), in Debian's Chromium.

Who gets in: an allowed address, anyone at an allowed domain; not another address, not an address the provider
has not verified, and nobody before signing in, whatever page the link names. With a password as well, both
are asked for (the password reaching Streamlit as a hash). The child holds no secret in its environment."""

from __future__ import annotations

import os
import signal
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

import httpx
import pytest
from oidc_provider_mock import run_server_in_thread
from playwright.sync_api import Browser, Page, expect

from core.settings import SECRET_SETTINGS
from tests.browser import VIEWPORT, chromium, free_port, require_chromium, screenshot, wait_finished

pytestmark = pytest.mark.browser

CLIENT_SECRET = "SENTINEL-oidc-client-secret-61a0"
COOKIE_SECRET = "SENTINEL-cookie-secret-0f9e8d7c6b5a"
PASSWORD = "SENTINEL-dashboard-password-42"
ALLOW = "alice@example.com, @corp.example"


@dataclass
class Dashboard:
    url: str
    idp: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with chromium() as shared:
        yield shared


@pytest.fixture(scope="module")
def idp() -> Iterator[str]:
    """A real OpenID Connect provider on loopback: any client ID and secret, users typed in on its form."""
    with run_server_in_thread(port=0) as server:
        yield f"http://localhost:{server.server_port}"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def served(idp: str, db: Path, folder: Path, **extra: str) -> Iterator[Dashboard]:
    """The real command, as a user starts it, with sign-in settings (and ``extra`` ones)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    env.update(
        ORUSAGE_DB=str(db),
        ORUSAGE_AUTH_SERVER_METADATA_URL=f"{idp}/.well-known/openid-configuration",
        ORUSAGE_AUTH_CLIENT_ID="openrouter-usage",
        ORUSAGE_AUTH_CLIENT_SECRET=CLIENT_SECRET,
        ORUSAGE_AUTH_COOKIE_SECRET=COOKIE_SECRET,
        ORUSAGE_AUTH_ALLOW=ALLOW,
        **extra,
    )
    log = folder / f"dashboard-{port}.log"
    command = [sys.executable, "-m", "orusage.cli", "dashboard", "--host", "localhost", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"orusage dashboard did not come up:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield Dashboard(url, idp, process, log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def signin_only(idp: str, demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with served(idp, demo_db, tmp_path_factory.mktemp("signin")) as dashboard:
        yield dashboard


@contextmanager
def fresh_page(browser: Browser, url: str) -> Iterator[Page]:
    """A new browser context (no cookies: a new visitor) on ``url``."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(url, wait_until="domcontentloaded", timeout=60_000)
        wait_finished(page)
        yield page
    finally:
        context.close()


def _shows(page: Page, title: str) -> None:
    """The page's title is ``title`` (waiting for the script run that draws it)."""
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text(title, timeout=60_000)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def _sign_in(page: Page, dashboard: Dashboard, email: str) -> None:
    """Click "Sign in", type the user on the provider's form, come back signed in."""
    _shows(page, "Sign-in required")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{dashboard.idp}/oauth2/authorize**", timeout=30_000)
    page.fill("input[name=sub]", email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{dashboard.url}/**", timeout=30_000)
    wait_finished(page)


def _nothing_of_the_dashboard(page: Page) -> None:
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 0
    assert page.locator('[data-testid="stMetric"]').count() == 0


@pytest.mark.reliability("secret")
@pytest.mark.parametrize("path", ["", "budgets", "generations?q=x", "health"])
def test_nothing_is_shown_before_signing_in(browser: Browser, signin_only: Dashboard, path: str) -> None:
    with fresh_page(browser, f"{signin_only.url}/{path}") as page:
        _shows(page, "Sign-in required")
        _nothing_of_the_dashboard(page)
        if not path:
            screenshot(page, "sign-in.png")


@pytest.mark.reliability("secret")
@pytest.mark.parametrize("email", ["alice@example.com", "Bob@Corp.Example"], ids=["address", "domain"])
def test_an_allowed_user_signs_in_and_out(browser: Browser, signin_only: Dashboard, email: str) -> None:
    with fresh_page(browser, signin_only.url) as page:
        _sign_in(page, signin_only, email)
        _shows(page, "Overview")
        expect(page.locator('[data-testid="stVegaLiteChart"] svg.marks').first).to_be_visible(timeout=60_000)
        page.goto(f"{signin_only.url}/budgets", wait_until="domcontentloaded")  # remembered: the cookie
        wait_finished(page)
        _shows(page, "Budgets")
        # Signing out ends the provider's session too (OpenID Connect RP-initiated logout), then comes back.
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{signin_only.idp}/oauth2/end_session**", timeout=30_000)
        page.get_by_role("button", name="End session").click()
        page.wait_for_url(f"{signin_only.url}/**", timeout=30_000)
        wait_finished(page)
        _shows(page, "Sign-in required")
        _nothing_of_the_dashboard(page)


@pytest.mark.reliability("secret")
def test_an_address_not_on_the_allowlist_is_refused(browser: Browser, signin_only: Dashboard) -> None:
    with fresh_page(browser, signin_only.url) as page:
        _sign_in(page, signin_only, "mallory@example.com")  # the allowed address's domain, another address
        _shows(page, "Not allowed")
        assert "mallory@example.com may not open this dashboard." in page.inner_text("body")
        _nothing_of_the_dashboard(page)
        page.goto(f"{signin_only.url}/keys", wait_until="domcontentloaded")
        wait_finished(page)
        _shows(page, "Not allowed")
        _nothing_of_the_dashboard(page)


@pytest.mark.reliability("secret")
def test_an_address_the_provider_has_not_verified_is_refused(browser: Browser, signin_only: Dashboard) -> None:
    user = "eve@corp.example"  # an allowed domain, but the provider vouches for nothing
    answer = httpx.put(f"{signin_only.idp}/users/{user}", json={"email": user, "email_verified": False}, timeout=10)
    assert answer.status_code < 300, answer.text
    with fresh_page(browser, signin_only.url) as page:
        _sign_in(page, signin_only, user)
        _shows(page, "Not allowed")
        assert "has not verified the address" in page.inner_text("body")
        _nothing_of_the_dashboard(page)


def _child_environment(parent: int) -> dict[str, str]:
    (child,) = [int(p) for p in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
    raw = Path(f"/proc/{child}/environ").read_bytes()
    return dict(item.decode().split("=", 1) for item in raw.split(b"\0") if b"=" in item)


@pytest.mark.reliability("secret")
def test_sign_in_and_password_together(
    browser: Browser, idp: str, demo_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with served(idp, demo_db, tmp_path_factory.mktemp("both"), ORUSAGE_DASHBOARD_PASSWORD=PASSWORD) as dashboard:
        env = _child_environment(dashboard.process.pid)
        assert not {name for name in env if name.upper() in SECRET_SETTINGS}
        for secret in (CLIENT_SECRET, COOKIE_SECRET, PASSWORD):
            assert all(secret not in value for value in env.values())
        folder = Path(env["ORUSAGE_DASHBOARD_PASSWORD_HASH_FILE"]).parent
        secrets_toml = folder / "secrets.toml"  # Streamlit's [auth], for this process only
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(secrets_toml.stat().st_mode) == 0o600
        assert CLIENT_SECRET in secrets_toml.read_text()
        with fresh_page(browser, dashboard.url) as page:
            _sign_in(page, dashboard, "alice@example.com")
            _shows(page, "Password required")  # signed in is not enough when a password is set
            _nothing_of_the_dashboard(page)
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Open the dashboard").click()
            page.wait_for_timeout(500)
            wait_finished(page)
            _shows(page, "Overview")
        dashboard.process.send_signal(signal.SIGTERM)
        assert dashboard.process.wait(timeout=30) == 0
    assert not folder.exists(), "the secrets file goes with the dashboard"
    assert CLIENT_SECRET not in dashboard.log.read_text(errors="replace")
