"""The password gate against guessing: after 5 wrong passwords, passwords are checked one at a time, with a pause
growing to 30 s between checks, for every session of the process (opening more sessions buys no more guesses).
Real Streamlit sessions (AppTest, two of them in one process) on a hand-driven clock; the password given as
the setting or, as `orusage dashboard` hands it over, as a scrypt hash in a file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.access import email_allowed, hash_password, parse_allowlist, password_matches_hash
from dashboard import gate, throttle
from dashboard.throttle import FORGET, MAX_DELAY, Throttle
from tests.dashboard_fixtures import APP, run_app

PASSWORD = "correct horse battery staple"


class Clock:
    """Seconds that move only when a session sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """A fresh process-wide throttle on a hand-driven clock (restored after: no state leaks between tests)."""
    fake = Clock()
    monkeypatch.setattr(throttle, "THROTTLE", Throttle(clock=fake, sleep=fake.sleep))
    monkeypatch.setattr(gate, "WRONG_DELAY", 0.0)
    yield fake


def test_the_throttle_rule() -> None:
    fake = Clock()
    guard = Throttle(clock=fake, sleep=fake.sleep)
    for _ in range(5):  # five mistakes cost nothing
        assert guard.reserve() == 0.0
        guard.failed()
    # From then on one check per pause, whichever session asks: 1 s, then doubling with each wrong password.
    assert [guard.reserve(), guard.reserve()] == [1.0, 2.0]
    guard.failed()  # the 6th: 2 s between checks, and none for 2 s from now
    assert guard.reserve() == pytest.approx(3.0)  # after the turns already handed out
    for _ in range(10):
        guard.failed()
    assert guard.delay() == MAX_DELAY  # capped
    assert guard.reserve() == pytest.approx(MAX_DELAY)
    assert guard.reserve() is None  # the next turn is 60 s away: refused without a check
    fake.now += FORGET + 1  # a quarter of an hour without a wrong password: forgotten
    assert guard.reserve() == 0.0 and guard.failures == 0


def _session(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> AppTest:
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    monkeypatch.setenv("ORUSAGE_TODAY", demo_today.isoformat())
    return run_app(AppTest.from_file(str(APP), default_timeout=30))


def _submit(at: AppTest, password: str) -> list[str]:
    at.text_input[0].input(password)
    at.button[0].click()
    run_app(at)
    return [e.value for e in at.error]


@pytest.mark.reliability("secret")
def test_wrong_passwords_in_one_session_slow_every_session(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, clock: Clock
) -> None:
    monkeypatch.setenv("ORUSAGE_DASHBOARD_PASSWORD", PASSWORD)
    attacker = _session(monkeypatch, demo_db, demo_today)
    for _ in range(5):
        assert _submit(attacker, "guess") == ["Wrong password."]
    assert clock.slept == []  # people mistype: no pause yet
    for _ in range(3):  # each further guess waits longer: 1, 2 then 4 s after the previous wrong one
        clock.now += 0.1
        assert _submit(attacker, "guess") == ["Wrong password."]
    assert clock.slept == pytest.approx([0.9, 1.9, 3.9])
    assert throttle.THROTTLE.failures == 8
    # Another browser session, the right password: it waits its turn too (8 s after the last check), then gets in.
    visitor = _session(monkeypatch, demo_db, demo_today)
    assert [t.value for t in visitor.title] == ["Password required"]
    before = len(clock.slept)
    assert _submit(visitor, PASSWORD) == []
    assert clock.slept[before:] == pytest.approx([8.0])
    assert [t.value for t in visitor.title] == ["Overview"]


@pytest.mark.reliability("secret")
def test_when_the_queue_is_full_a_password_is_not_checked_at_all(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, clock: Clock
) -> None:
    monkeypatch.setenv("ORUSAGE_DASHBOARD_PASSWORD", PASSWORD)
    for _ in range(10):
        throttle.THROTTLE.failed()  # ten wrong passwords so far: 30 s between checks
    assert throttle.THROTTLE.reserve() == pytest.approx(MAX_DELAY)  # another session's turn; the next is 60 s away
    at = _session(monkeypatch, demo_db, demo_today)
    (error,) = _submit(at, PASSWORD)
    assert error.startswith("Too many wrong passwords on this dashboard")
    assert [t.value for t in at.title] == ["Password required"]
    assert throttle.THROTTLE.failures == 10  # refused unchecked: neither a failure nor a success
    clock.now += 2 * MAX_DELAY
    assert _submit(at, PASSWORD) == [] and [t.value for t in at.title] == ["Overview"]


@pytest.mark.reliability("secret")
def test_the_password_as_a_hash_in_a_file(
    monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date, clock: Clock, tmp_path: Path
) -> None:
    """How `orusage dashboard` hands the password to its Streamlit child: no password in the environment."""
    hashed = tmp_path / "password.scrypt"
    hashed.write_text(hash_password(PASSWORD) + "\n", encoding="ascii")
    monkeypatch.delenv("ORUSAGE_DASHBOARD_PASSWORD", raising=False)
    monkeypatch.setenv("ORUSAGE_DASHBOARD_PASSWORD_HASH_FILE", str(hashed))
    at = _session(monkeypatch, demo_db, demo_today)
    assert [t.value for t in at.title] == ["Password required"]
    assert _submit(at, PASSWORD[:-1]) == ["Wrong password."]
    assert _submit(at, PASSWORD) == [] and [t.value for t in at.title] == ["Overview"]
    # A file that is not a hash: one line, and nothing of the dashboard.
    hashed.write_text("hunter2\n", encoding="ascii")
    broken = _session(monkeypatch, demo_db, demo_today)
    (error,) = [e.value for e in broken.error]
    assert "ORUSAGE_DASHBOARD_PASSWORD_HASH_FILE" in error and "not a password hash" in error
    assert "hunter2" not in error and not broken.title and not broken.text_input


def test_hashes_and_allowlists() -> None:
    encoded = hash_password("s3cret")
    assert encoded.startswith("scrypt$16384$8$1$") and "s3cret" not in encoded
    assert password_matches_hash("s3cret", encoded) and not password_matches_hash("s3cret ", encoded)
    assert hash_password("s3cret") != encoded  # salted
    assert not password_matches_hash("s3cret", "scrypt$1$1$1$AA$AA") and not password_matches_hash("x", "")
    allow = parse_allowlist("Alice@Example.com, @corp.example  ops.example")
    assert allow == ("alice@example.com", "@corp.example", "@ops.example")
    assert email_allowed("ALICE@example.com", allow) and email_allowed("bob@corp.example", allow)
    assert email_allowed("carol@ops.example", allow)
    assert not email_allowed("bob@example.com", allow)  # one address of that domain, not the domain
    assert not email_allowed("bob@evil.corp.example", allow)  # exactly the domain, not its subdomains
    assert not email_allowed("alice@example.com.evil.test", allow) and not email_allowed("@corp.example", allow)
    for bad in ("", "alice", "a@b@c.example", "*@example.com", "@localhost"):
        with pytest.raises(ValueError):
            parse_allowlist(bad)
