"""`orusage demo`: the whole path on an embedded demo account, no key and no network.

The fake OpenRouter server runs on a free loopback port inside this process; the real ingest talks to
it over HTTP exactly as it would to openrouter.ai; the demo's budgets (a config file of its own, beside the
demo database) are checked by the real `alerts check`, delivering to this terminal; then the dashboard is
served on the demo database, with that config.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from pydantic import SecretStr

from core.clock import utcnow
from core.settings import data_dir, load_settings
from fake_openrouter.dataset import build
from fake_openrouter.keys import DEMO_MANAGEMENT_KEY
from fake_openrouter.server import FakeServer
from orusage.alerts.runner import run_check
from orusage.jobs import ingest_once
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


def demo_db_path() -> Path:
    return data_dir() / "demo.duckdb"


def demo_config_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.stem}-alerts.toml")


def run_demo(db: Path | None, *, host: str, port: int, serve: bool) -> int:
    db_path = db or demo_db_path()
    started = time.monotonic()
    click.echo("Building the demo account (about 14 months of usage)…", err=True)
    dataset = build(now=utcnow())
    with FakeServer(dataset) as fake:
        settings = load_settings(
            openrouter_management_key=SecretStr(DEMO_MANAGEMENT_KEY),
            openrouter_base_url=fake.base_url,
            orusage_db=db_path,
            # The fake runs in this process on loopback: no need to pace /generation as for openrouter.ai. Two
            # weeks of records (the last complete ISO week whatever the weekday, and this one) let the
            # effective-price waterfall explain every step of those weeks' bills; older weeks keep a residual
            # (overrides and service tiers are per request, and no daily source reports them).
            orusage_generations_rate=1000.0,
            orusage_generations_days=DEMO_GENERATION_DAYS,
            orusage_generations_concurrency=16,
        )
        click.echo(f"Ingesting it over HTTP from the fake OpenRouter at {fake.base_url} …", err=True)
        click.echo(ingest_once(settings), err=True)
    config = demo_config_path(db_path)
    config.write_text(DEMO_CONFIG, encoding="utf-8")
    click.echo(f"Checking the demo budgets ({config}); alerts are delivered to this terminal:", err=True)
    click.echo(run_check(settings, click.echo, config_path=config).summary(), err=True)
    click.echo(f"Demo data ready in {time.monotonic() - started:.1f}s.", err=True)
    if not serve:
        return 0
    return serve_dashboard(db_path, host=host, port=port, config=config)
