"""`orusage demo`: the whole path on an embedded demo account, no key and no network.

The fake OpenRouter server runs on a free loopback port inside this process; the real ingest talks to
it over HTTP exactly as it would to openrouter.ai; then the dashboard is served on the demo database.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from pydantic import SecretStr

from fake_openrouter.dataset import build
from fake_openrouter.keys import DEMO_MANAGEMENT_KEY
from fake_openrouter.server import FakeServer
from orusage.jobs import ingest_once
from orusage.serve import serve_dashboard
from orusage.settings import load_settings
from queries.store import data_dir, utcnow


def demo_db_path() -> Path:
    return data_dir() / "demo.duckdb"


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
            # The fake runs in this process on loopback: no need to pace /generation as for openrouter.ai.
            orusage_generations_rate=1000.0,
        )
        click.echo(f"Ingesting it over HTTP from the fake OpenRouter at {fake.base_url} …", err=True)
        click.echo(ingest_once(settings), err=True)
    click.echo(f"Demo data ready in {time.monotonic() - started:.1f}s.", err=True)
    if not serve:
        return 0
    return serve_dashboard(db_path, host=host, port=port)
