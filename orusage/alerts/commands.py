"""The `orusage alerts` command group (registered by ``orusage.cli``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
def alerts() -> None:
    """Budgets and alerts: check spend against the budgets in the config file and send what is new.

    The config file is $ORUSAGE_CONFIG (default ~/.config/openrouter-usage/config.toml);
    docs/budgets-and-alerts.md has a commented example.
    """


@alerts.command(context_settings=CONTEXT)
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The DuckDB file (default: $ORUSAGE_DB or ~/.local/share/openrouter-usage/orusage.duckdb).",
)
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The alerts config (default: $ORUSAGE_CONFIG or ~/.config/openrouter-usage/config.toml).",
)
@click.option("--dry-run", is_flag=True, help="Print what would be sent; change nothing, send nothing.")
@click.option("--exit-code", is_flag=True, help="Exit with status 1 when alerts were sent (for CI-style callers).")
@click.option("-q", "--quiet", is_flag=True, help="No summary line (alerts still go to their channels).")
def check(db: Path | None, config: Path | None, dry_run: bool, exit_code: bool, quiet: bool) -> None:
    """Evaluate every budget and rule on the stored data, then send each new alert once.

    Alerts: thresholds crossed (current period only), forecasts, spend spikes, credits running out,
    stale data, price changes and expiring models; recovery notices when a spike, forecast or stale-data
    alert clears. A delivery that fails is kept and retried at the next run (exit 4 meanwhile). Takes
    the writer lock like `orusage ingest`; `--dry-run` only reads the snapshot.
    """
    from core.settings import load_settings
    from orusage.alerts.runner import run_check

    settings = load_settings(**({"orusage_db": db} if db else {}))
    result = run_check(settings, click.echo, config_path=config, dry_run=dry_run)
    for warning in result.warnings:
        click.echo(f"orusage: warning: {warning}", err=True)
    if not quiet:
        click.echo(result.summary())
    result.raise_for_failures()
    if exit_code and result.sent and not dry_run:
        sys.exit(1)
