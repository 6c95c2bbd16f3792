"""`orusage demo`: the whole path on an embedded demo account, no key and no network.

The fake OpenRouter server runs on a free loopback port inside this process; the real ingest talks to
it over HTTP exactly as it would to openrouter.ai; the demo's budgets (a config file of its own, beside the
demo database) are checked by the real `alerts check`, delivering to this terminal; then the dashboard is
served on the demo database, with that config.

The live feed too: a Broadcast receiver (the one `orusage receive` runs) listens on another loopback port,
the fake posts it the traces of yesterday's and today's generations before the ingest (losing two on the
way, as a real delivery can be lost: Data health shows them missing), and while the dashboard is served
the fake bills a new generation every ``LIVE_EVERY_S`` seconds, which the receiver merges and publishes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import click
from pydantic import SecretStr

from core.clock import utcnow
from core.settings import data_dir, load_settings
from fake_openrouter.dataset import build
from fake_openrouter.keys import DEMO_MANAGEMENT_KEY
from fake_openrouter.server import FakeServer
from ingest.broadcast.server import Receiver, ReceiverConfig
from ingest.broadcast.spool import Spool, spool_path
from orusage.alerts.runner import run_check
from orusage.jobs import ingest_once
from orusage.receive import merge_once
from orusage.serve import serve_dashboard

# Budgets sized for the demo account (about $6 a day), so that some are crossed and some forecast to be.
# Names are the demo account's own keys, workspaces and apps.
DEMO_CONFIG = """\
# The demo account's budgets, written by `orusage demo` (rewritten at each run). Yours go in
# ~/.config/openrouter-usage/config.toml: see docs/budgets-and-alerts.md.
[teams.research]
keys = ["notebooks", "eval-harness"]
workspaces = ["Research"]

[teams.support]
apps = ["Acme Support Bot", "Docs Assistant"]

# A member's team: the spend of the keys they created (see the Teams page and `orusage report chargeback`).
[teams.contractors]
members = ["kenji.contractor@example.net"]

[[budget]]
name = "account"
scope = "account"
period = "month"
limit_usd = 160

[[budget]]
name = "research"
scope = "team:research"
period = "week"
limit_usd = 12

[[budget]]
name = "claude"
scope = ["model:anthropic/*"]
period = "day"
limit_usd = 2
thresholds = [100]

[[budget]]
name = "support"
scope = "team:support"
period = "month"
limit_usd = 40

[delivery.stdout]
"""


DEMO_GENERATION_DAYS = 14

# The demo receiver's token: it listens on loopback, for the fake in this process only (not a secret).
DEMO_RECEIVE_TOKEN = "demo-receive-token"


def demo_db_path() -> Path:
    return data_dir() / "demo.duckdb"


def demo_config_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.stem}-alerts.toml")


LIVE_EVERY_S = 20.0  # while the dashboard is served: a new generation, its trace, a merge
LIVE_TAGS = ({"project": "demo", "feature": "chat"}, {"project": "demo", "feature": "search"})


def _broadcast_history(fake: FakeServer, receiver: Receiver) -> None:
    """Yesterday's and today's traces, posted before the ingest merges them; two are lost on the way."""
    fake.broadcast_to(receiver.url, token=DEMO_RECEIVE_TOKEN, privacy_mode=True)
    now = fake.now().replace(tzinfo=None)
    midnight = datetime(now.year, now.month, now.day)
    fake.add_broadcast_fault("drop", 2)
    report = fake.send_broadcast(since=midnight - timedelta(days=1), until=now)
    click.echo(
        f"Broadcast: the fake posted {len(report.ids)} traces to the live-feed receiver ({len(report.dropped)} lost).",
        err=True,
    )


def _live_traffic(fake: FakeServer, db_path: Path, spool: Spool, stop: threading.Event) -> None:
    count = 0
    while not stop.wait(LIVE_EVERY_S):
        with contextlib.suppress(Exception):  # a demo nicety: never in the way of the dashboard
            fake.bill(1, trace=LIVE_TAGS[count % len(LIVE_TAGS)])
            merge_once(db_path, spool)
        count += 1


def run_demo(db: Path | None, *, host: str, port: int, serve: bool) -> int:
    db_path = db or demo_db_path()
    started = time.monotonic()
    click.echo("Building the demo account (about 14 months of usage)…", err=True)
    dataset = build(now=utcnow())
    spool = Spool(spool_path(db_path))
    receiver = Receiver(
        "127.0.0.1", 0, ReceiverConfig(spool, SecretStr(DEMO_RECEIVE_TOKEN), 8 * 1024 * 1024, utcnow)
    ).start()
    stop = threading.Event()
    try:
        # The fake runs in this process on loopback: it need not limit analytics as openrouter.ai does, nor
        # the ingest pace them (at 60 a minute a year of analytics waited about 47 s of the demo's start).
        with FakeServer(dataset, analytics_rate_per_minute=None) as fake:
            settings = load_settings(
                openrouter_management_key=SecretStr(DEMO_MANAGEMENT_KEY),
                openrouter_base_url=fake.base_url,
                orusage_db=db_path,
                orusage_analytics_rate=100_000,
                orusage_generations_rate=1000.0,  # nor /generation
                # Two weeks of records (the last complete ISO week whatever the weekday, and this one) let the
                # effective-price waterfall explain every step of those weeks' bills; older weeks keep a
                # residual (overrides and service tiers are per request, and no daily source reports them).
                orusage_generations_days=DEMO_GENERATION_DAYS,
                orusage_generations_concurrency=16,
            )
            _broadcast_history(fake, receiver)
            click.echo(f"Ingesting it over HTTP from the fake OpenRouter at {fake.base_url} …", err=True)
            click.echo(ingest_once(settings), err=True)
            config = demo_config_path(db_path)
            config.write_text(DEMO_CONFIG, encoding="utf-8")
            click.echo(f"Checking the demo budgets ({config}); alerts are delivered to this terminal:", err=True)
            click.echo(run_check(settings, click.echo, config_path=config).summary(), err=True)
            click.echo(f"Demo data ready in {time.monotonic() - started:.1f}s.", err=True)
            if not serve:
                return 0
            click.echo(f"Live feed: a new generation every {LIVE_EVERY_S:.0f} s (see the Generations page).", err=True)
            live = threading.Thread(target=_live_traffic, args=(fake, db_path, spool, stop), daemon=True)
            live.start()
            try:
                # The demo's data is made up: serving it beyond localhost only warns.
                return serve_dashboard(db_path, host=host, port=port, config=config, allow_open=True)
            finally:
                stop.set()
                live.join(timeout=30)
    finally:
        receiver.stop()
