"""The `orusage alerts` command group (registered by ``orusage.cli``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from orusage.options import CONTEXT, FC, db_option


def _config_option() -> Callable[[FC], FC]:
    return click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The alerts config (default: $ORUSAGE_CONFIG or ~/.config/openrouter-usage/config.toml).",
    )


@click.group(context_settings=CONTEXT)
def alerts() -> None:
    """Budgets and alerts: check spend against the budgets in the config file and send what is new; list,
    acknowledge and snooze open alerts; test the delivery channels.

    The config file is $ORUSAGE_CONFIG (default ~/.config/openrouter-usage/config.toml);
    docs/budgets-and-alerts.md has a commented example.
    """


@alerts.command(context_settings=CONTEXT)
@db_option()
@_config_option()
@click.option("--dry-run", is_flag=True, help="Print what would be sent; change nothing, send nothing.")
@click.option("--exit-code", is_flag=True, help="Exit with status 1 when alerts were sent (for CI-style callers).")
@click.option("-q", "--quiet", is_flag=True, help="No summary line (alerts still go to their channels).")
def check(db: Path | None, config: Path | None, dry_run: bool, exit_code: bool, quiet: bool) -> None:
    """Evaluate every budget and rule on the stored data, then send each new alert once.

    Alerts: thresholds crossed (the current period, and a period that has just ended once its last day
    is final), forecasts, spend spikes, anomalies of any model, key, app or provider (no configuration),
    credits running out, key hygiene, stale data, price changes and expiring models; recovery notices when
    a condition clears; reminders of open alerts. A delivery that fails is kept and retried at the next
    run (exit 4 meanwhile). Takes the writer lock like `orusage ingest` (waiting up to a minute for it),
    but not while sending; `--dry-run` only reads the snapshot.
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


@alerts.command("list", context_settings=CONTEXT)
@db_option()
@click.option("--all", "everything", is_flag=True, help="Every alert (the last 200), not only the open ones.")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON, for machines.")
def list_(db: Path | None, everything: bool, as_json: bool) -> None:
    """List the open alerts, newest first: id, age, kind, budget (or account) and title, and whether each
    is acknowledged, snoozed or still undelivered somewhere.

    Reads the latest snapshot only, so it is safe while an ingest runs. Use the id with `orusage alerts
    ack` and `orusage alerts snooze`.
    """
    from core.clock import alerts_now
    from core.settings import load_settings
    from orusage.alerts.operate import list_alerts, render_list

    settings = load_settings(**({"orusage_db": db} if db else {}))
    now = alerts_now()
    found = list_alerts(settings.orusage_db, now, everything)
    if as_json:
        click.echo(json.dumps([a.__dict__ for a in found], default=str, indent=2))
    else:
        click.echo(render_list(found, now, everything))


@alerts.command(context_settings=CONTEXT)
@db_option()
@click.argument("alert_id", metavar="ID", type=int)
def ack(db: Path | None, alert_id: int) -> None:
    """Acknowledge open alert ID: no more reminders while it stays open; its recovery notice still goes out.

    ID is the number `orusage alerts list` shows. A writer command (waits for a running ingest).
    """
    from core.clock import alerts_now
    from core.settings import load_settings
    from orusage.alerts.operate import acknowledge

    settings = load_settings(**({"orusage_db": db} if db else {}))
    alert = acknowledge(settings.orusage_db, alert_id, alerts_now())
    click.echo(f"acknowledged alert {alert_id}: {alert.title} (no more reminders; its recovery notice still goes out)")


@alerts.command(context_settings=CONTEXT)
@db_option()
@click.argument("alert_id", metavar="ID", type=int)
@click.option(
    "--for",
    "length",
    metavar="DURATION",
    required=True,
    help="How long: e.g. 30m, 24h, 2d, 1w (at most a year).",
)
def snooze(db: Path | None, alert_id: int, length: str) -> None:
    """Mute every message of open alert ID's rule and scope (its budget and kind) for a while.

    Evaluation goes on: what is raised or cleared meanwhile is recorded (see `orusage alerts list --all`)
    but not sent, and no reminder goes out; after the snooze, open alerts that still hold are reminded as
    usual. A writer command (waits for a running ingest).
    """
    from core.clock import alerts_now
    from core.settings import load_settings
    from orusage.alerts.operate import parse_duration
    from orusage.alerts.operate import snooze as snooze_alert

    settings = load_settings(**({"orusage_db": db} if db else {}))
    alert, until = snooze_alert(settings.orusage_db, alert_id, parse_duration(length), alerts_now())
    click.echo(f"snoozed alert {alert_id} ({alert.kind}, {alert.budget or 'account'}) until {until:%Y-%m-%d %H:%M} UTC")


@alerts.command("test-send", context_settings=CONTEXT)
@db_option()
@_config_option()
@click.option("--channel", default=None, help="Only this channel (webhook, slack, discord, teams, email, stdout).")
def test_send(db: Path | None, config: Path | None, channel: str | None) -> None:
    """Send a test message to each channel of the config's [delivery] section and say which got it.

    A channel that was disabled (it failed 5 runs in a row) and takes the test message is re-enabled, and
    what it missed meanwhile is sent to it as one digest. Exit 4 when a channel fails.
    """
    from core.settings import load_settings
    from orusage.alerts.operate import SendTestFailedError, send_probes
    from orusage.alerts.runner import prepare

    settings = load_settings(**({"orusage_db": db} if db else {}))
    prepared = prepare(settings, click.echo, config)
    result = send_probes(prepared, channel)
    for name in result.ok:
        click.echo(
            f"{name}: ok" + (" (re-enabled; its missed messages sent as a digest)" if name in result.reenabled else "")
        )
    for line in result.failed:
        click.echo(f"{line}")
    if result.digest is not None and result.digest.failures:
        click.echo(f"digest: {result.digest.failures[0]}")
    if result.failed:
        raise SendTestFailedError(
            f"test-send: {len(result.failed)} of {len(result.failed) + len(result.ok)} channels failed.",
            "Check the [delivery] section of the alerts config and its secrets.",
        )
