"""Operating the alerts on a hand-made store, with a real webhook receiver on loopback: reminders, `alerts
list`, `ack` and `snooze` round trips, a destination that fails five runs in a row then recovers (by
`test-send` or a change of its config) with one digest, claims and leases across a crash, the writer lock
released while sending, and two processes racing on one store sending each message once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from orusage.alerts import outbox
from orusage.alerts.config import Config, load_config
from orusage.alerts.delivery import Channel, Message, WebhookChannel
from orusage.alerts.runner import RunResult, check, evaluate_and_claim
from orusage.cli import cli
from orusage.status import load_report, render_text
from queries import writes
from queries.store import Writer
from tests.alert_endpoints import TOKEN, Receiver, running_receiver
from tests.budget_store import NOW, build
from tests.helpers import query, run_cli

QUIET = """[alerts]
price_change_days = 0
expiry_days = 0
credits_days = 0
key_no_limit = false
key_unused_days = 0
key_limit_percent = 0
stale_hours = 26

[anomalies]
enabled = false
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("ops") / "orusage.duckdb"
    build(db)
    return db


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "orusage.duckdb"
    copy.write_bytes(built.read_bytes())
    return copy


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def config(folder: Path, url: str, extra: str = "") -> Path:
    path = folder / "alerts.toml"
    path.write_text(f'{QUIET}{extra}\n[delivery.webhook]\nurl = "{url}"\n', encoding="utf-8")
    return path


def channels(cfg: Config) -> list[Channel]:
    assert cfg.delivery.webhook_url is not None
    return [WebhookChannel(cfg.delivery.webhook_url, timeout=5)]


def run(db: Path, cfg_path: Path, hours: float) -> RunResult:
    cfg = load_config(cfg_path)
    return check(db, cfg, channels(cfg), clock=lambda: NOW + timedelta(hours=hours))


def good_ingest(db: Path, hours: float) -> None:
    at = NOW + timedelta(hours=hours)
    with Writer(db) as writer, writer.transaction() as con:
        writes.finish_run(con, writes.start_run(con, "ingest", at - timedelta(minutes=5)), "ok", at, 1, 1)


def cli_at(db: Path, hours: float, *args: str) -> str:
    env = {"ORUSAGE_DB": str(db), "ORUSAGE_NOW": (NOW + timedelta(hours=hours)).isoformat()}
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def titles(receiver: Receiver) -> list[str]:
    return [b["title"] for b in receiver.bodies]


STALE = "Usage data is stale: ingest is not running"


def stale_id(db: Path) -> int:
    return int(query(db, "SELECT max(alert_id) FROM alerts WHERE kind = 'stale'")[0][0])


def test_reminders_until_acknowledged_and_the_recovery_still_goes_out(
    db: Path, receiver: Receiver, tmp_path: Path
) -> None:
    cfg = config(tmp_path, receiver.url)
    assert run(db, cfg, 30).sent == 1
    alert_id = stale_id(db)
    listed = cli_at(db, 31, "alerts", "list")
    line = next(row for row in listed.splitlines() if row.strip().startswith(str(alert_id)))
    assert "1 h 0 min" in line and "stale" in line and STALE in line
    assert run(db, cfg, 45).sent == 0  # 15 h later: not yet
    reminded = run(db, cfg, 55)  # 25 h after it was sent
    assert reminded.sent == 1 and reminded.reminded == 1
    assert titles(receiver) == [STALE, f"Reminder: {STALE}"]
    assert receiver.bodies[1]["event"] == "reminder"
    said = cli_at(db, 56, "alerts", "ack", str(alert_id))
    assert f"acknowledged alert {alert_id}: {STALE}" in said
    assert "acknowledged" in cli_at(db, 56, "alerts", "list")
    assert run(db, cfg, 81).sent == 0  # acknowledged: no more reminders
    good_ingest(db, 82)
    assert run(db, cfg, 83).sent == 1  # …but the recovery notice still goes out
    assert titles(receiver)[-1] == "Usage data is fresh again"
    assert cli_at(db, 84, "alerts", "list").strip() == "No open alert."
    assert "cleared" in cli_at(db, 84, "alerts", "list", "--all")


def test_a_snooze_mutes_its_rule_and_scope_and_evaluation_goes_on(db: Path, receiver: Receiver, tmp_path: Path) -> None:
    cfg = config(tmp_path, receiver.url)
    run(db, cfg, 30)
    first = stale_id(db)
    said = cli_at(db, 31, "alerts", "snooze", str(first), "--for", "2d")
    assert f"snoozed alert {first} (stale, account) until {NOW + timedelta(hours=79):%Y-%m-%d %H:%M} UTC" in said
    good_ingest(db, 32)
    assert run(db, cfg, 33).sent == 0  # the recovery is recorded, muted
    assert run(db, cfg, 60).sent == 0  # stale again (a new episode): recorded, muted
    second = stale_id(db)
    assert second != first
    listed = cli_at(db, 61, "alerts", "list", "--all")
    assert f"snoozed until {NOW + timedelta(hours=79):%Y-%m-%d %H:%M} UTC" in listed
    assert query(db, "SELECT DISTINCT status FROM alert_deliveries WHERE alert_id = ?", [second]) == [("muted",)]
    assert titles(receiver) == [STALE]
    assert run(db, cfg, 80).sent == 0  # the snooze is over, but the muted alert was "notified" 20 h ago
    assert run(db, cfg, 85).sent == 1 and titles(receiver)[-1] == f"Reminder: {STALE}"  # open and still holding


def test_snooze_and_ack_refuse_what_is_not_open(db: Path, receiver: Receiver, tmp_path: Path) -> None:
    env = {"ORUSAGE_DB": str(db), "ORUSAGE_NOW": NOW.isoformat()}
    missing = run_cli(["alerts", "ack", "999"], env)
    assert missing.returncode == 2 and missing.stderr.startswith("orusage: no alert 999.")
    run(db, config(tmp_path, receiver.url), 30)
    good_ingest(db, 31)
    run(db, config(tmp_path, receiver.url), 32)  # cleared
    closed = run_cli(["alerts", "snooze", str(stale_id(db)), "--for", "1h"], env)
    assert closed.returncode == 2 and "is not open (cleared)" in closed.stderr
    bad = run_cli(["alerts", "snooze", str(stale_id(db)), "--for", "soon"], env)
    assert bad.returncode == 2 and "--for 'soon' is not a duration" in bad.stderr
    assert "Traceback" not in missing.stderr + closed.stderr + bad.stderr


def test_a_destination_failing_five_runs_in_a_row_is_disabled_then_gets_one_digest(
    db: Path, receiver: Receiver, tmp_path: Path
) -> None:
    cfg = config(tmp_path, receiver.url)
    receiver.status = 503
    for hour in range(30, 35):  # five runs: the stale alert is tried and fails each time
        result = run(db, cfg, hour)
    assert receiver.requests == 5 and result.disabled == ["webhook"]
    assert "disabled: webhook (messages kept" in result.summary()
    good_ingest(db, 35)
    held = run(db, cfg, 36)  # the recovery is queued, not tried: the channel is disabled
    assert receiver.requests == 5 and held.failures == []
    text = render_text(load_report(db, NOW.date()))
    assert "webhook: DISABLED since" in text and "after 5 failing runs" in text and "2 message(s) kept" in text
    assert "HTTP 503 Service Unavailable" in text and TOKEN not in text

    receiver.status = 200
    env = {"ORUSAGE_DB": str(db), "ORUSAGE_CONFIG": str(cfg), "ORUSAGE_NOW": (NOW + timedelta(hours=37)).isoformat()}
    sent = CliRunner().invoke(cli, ["alerts", "test-send"], env=env)
    assert sent.exit_code == 0, sent.output
    assert "webhook: ok (re-enabled; its missed messages sent as a digest)" in sent.output
    test, digest = receiver.bodies
    assert test["title"] == "Test message from openrouter-usage" and test["event"] == "test"
    assert digest["title"] == "2 alert messages held while webhook was disabled" and digest["event"] == "digest"
    assert f"[raised] {STALE}" in digest["text"] and "[cleared] Usage data is fresh again" in digest["text"]
    rows = query(db, "SELECT status, count(*), count(DISTINCT digest_of) FROM alert_deliveries GROUP BY 1")
    assert rows == [("sent", 2, 1)]
    assert query(db, "SELECT disabled_at, failures_in_a_row FROM alert_channels") == [(None, 0)]
    assert run(db, cfg, 38).sent == 0  # nothing sent twice


def test_a_change_of_its_config_re_enables_a_disabled_destination(db: Path, receiver: Receiver, tmp_path: Path) -> None:
    receiver.status = 503
    for hour in range(30, 35):
        run(db, config(tmp_path, receiver.url), hour)
    with running_receiver() as fixed:
        result = run(db, config(tmp_path, fixed.url), 36)  # a new URL: re-enabled, its one message sent
        assert result.sent == 1 and result.disabled == []
        assert [b["title"] for b in fixed.bodies] == [STALE]


class LockProbe:
    """A channel that, while sending, checks that nobody holds the writer lock."""

    name = "webhook"
    fingerprint = "probe"

    def __init__(self, db: Path) -> None:
        self.db, self.sent = db, 0

    def send(self, message: Message) -> None:
        with Writer(self.db):  # would raise StoreLockedError (exit 5) if the run still held it
            self.sent += 1


def test_the_writer_lock_is_not_held_while_a_channel_sends(db: Path, tmp_path: Path) -> None:
    probe = LockProbe(db)
    result = check(
        db, load_config(config(tmp_path, "https://unused.example/x")), [probe], clock=lambda: NOW + timedelta(hours=30)
    )
    assert probe.sent == 1 and result.sent == 1


def test_a_sender_that_dies_after_sending_is_taken_over_once_its_lease_ends(
    db: Path, receiver: Receiver, tmp_path: Path
) -> None:
    cfg = load_config(config(tmp_path, receiver.url))
    chans = channels(cfg)
    at = NOW + timedelta(hours=30)
    with Writer(db) as writer:
        batch = evaluate_and_claim(writer, cfg, chans, clock=lambda: at)
    outbox.send_all(batch.sends, {c.name: c for c in chans})  # sent… and the process dies before recording
    assert receiver.requests == 1
    assert check(db, cfg, chans, clock=lambda: at + timedelta(minutes=5)).sent == 0  # still claimed
    assert receiver.requests == 1
    again = check(db, cfg, chans, clock=lambda: at + outbox.LEASE + timedelta(minutes=1))
    assert again.sent == 1 and receiver.requests == 2  # at least once: sent again, with the same id
    first, second = (h["x-orusage-delivery-id"] for h in receiver.headers)
    assert first == second and len(first) == 36
    assert query(db, "SELECT status, attempts, claimed_by FROM alert_deliveries") == [("sent", 1, None)]


@pytest.mark.slow
def test_two_checks_racing_on_one_store_send_each_message_once(db: Path, receiver: Receiver, tmp_path: Path) -> None:
    receiver.delay = 1.0  # a slow receiver: the second run gets the lock while the first is sending
    cfg = config(tmp_path, receiver.url, '\n[[budget]]\nname = "month"\nscope = "account"\nperiod = "month"\n'
                 "limit_usd = 30\nthresholds = [50]\nforecast = false\nspike = false\n")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    env.update(ORUSAGE_DB=str(db), ORUSAGE_CONFIG=str(cfg), ORUSAGE_NOW=(NOW + timedelta(hours=30)).isoformat())
    cwd = tmp_path / "cwd"  # empty: no stray .env is read
    cwd.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "orusage.cli", "alerts", "check"],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert receiver.requests == 2 and sorted(titles(receiver)) == sorted(
        [STALE, "Budget 'month' reached 50% (2026-11)"]
    )
    ids = [h["x-orusage-delivery-id"] for h in receiver.headers]
    assert len(set(ids)) == 2
    sent = sorted(int(out.split(" messages sent")[0].rsplit(" ", 1)[1]) for out, _ in outputs)
    assert sent == [0, 2]  # one run sent both; the other found them claimed or sent
    assert query(db, "SELECT status, count(*) FROM alert_deliveries GROUP BY 1") == [("sent", 2)]
