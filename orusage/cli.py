"""The `orusage` command. Every failure a user can cause or meet ends in one line and an exit code:

0 ok · 2 usage or configuration · 3 authentication or key type · 4 OpenRouter unavailable after retries ·
5 database locked or unreadable.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from core.errors import EXIT_USAGE, OrusageError
from core.scrub import ScrubFilter, scrub
from core.settings import DEFAULT_ACCOUNT, debug_enabled
from orusage.alerts.commands import alerts
from orusage.options import CONTEXT, db_option


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:  # whatever a log line quotes, never a secret
        handler.addFilter(ScrubFilter())
    # httpx logs every request's URL at INFO, and webhook and Slack URLs carry tokens: it stays quiet, -v
    # or not (our own log lines say what was fetched).
    logging.getLogger("httpx").setLevel(logging.WARNING)


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="openrouter-usage", prog_name="orusage")
@click.option("-v", "--verbose", is_flag=True, help="Log each step (to stderr).")
def cli(verbose: bool) -> None:
    """openrouter-usage: usage analytics and cost dashboard for an OpenRouter account.

    \b
    Start here:
      orusage demo        try it on an embedded demo account (no key needed)
      orusage ingest      pull your account's usage into the local DuckDB file
      orusage dashboard   browse it at http://localhost:8501

    Settings come from the environment or a .env file: OPENROUTER_MANAGEMENT_KEY (required for ingest;
    OPENROUTER_MANAGEMENT_KEYS=NAME=KEY,... for several accounts), OPENROUTER_BASE_URL, ORUSAGE_DB.
    Exit codes: 0 ok, 2 usage or config, 3 authentication or key type, 4 OpenRouter unavailable,
    5 database locked or unreadable.
    """
    _configure_logging(verbose)


@cli.command(context_settings=CONTEXT)
@db_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line (for cron).")
@click.option(
    "--watch",
    "watch_interval",
    metavar="INTERVAL",
    default=None,
    help="Keep running: ingest every INTERVAL (e.g. 1h, 30m), surviving transient errors.",
)
@click.option(
    "--alerts", "with_alerts", is_flag=True, help="Then check budgets and send alerts (as `orusage alerts check`)."
)
def ingest(db: Path | None, quiet: bool, watch_interval: str | None, with_alerts: bool) -> None:
    """Pull activity, API keys, credits and models from OpenRouter into the DuckDB file.

    Needs OPENROUTER_MANAGEMENT_KEY (a management key: Settings › Management keys on openrouter.ai),
    or OPENROUTER_MANAGEMENT_KEYS=NAME=KEY,... to ingest several accounts into one store, one after the
    other (every account is tried; the exit code is the worst of theirs).
    The first run also backfills a year of history per model, app, provider, key, workspace and
    member through OpenRouter's analytics (paced under its 64 requests a minute: a few minutes);
    later runs fetch only what is new, plus today's and yesterday's spend per hour (for the alerts).
    Incremental and idempotent: run it as often as you like (e.g. hourly from cron); a run that is
    killed loses nothing, and the next run completes it. OpenRouter keeps only the last 30 days of
    activity, so run it at least weekly.
    """
    from core.settings import load_settings
    from orusage.jobs import ingest_once, parse_interval, watch

    settings = load_settings(**({"orusage_db": db} if db else {}))
    prepared = None
    if with_alerts:  # the config is checked before the ingest, so a mistake in it fails fast
        from orusage.alerts.runner import prepare

        prepared = prepare(settings, click.echo)
    after = prepared.after_ingest if prepared else None
    if watch_interval:
        watch(settings, parse_interval(watch_interval), quiet=quiet, echo=click.echo, after=after)
        return
    summary = ingest_once(settings, quiet=quiet, after=after)
    if not quiet:
        click.echo(summary)
    if prepared:
        prepared.raise_for_failures()


def _account_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from core.settings import ACCOUNT_NAME

    if value is not None and not ACCOUNT_NAME.fullmatch(value):
        raise click.BadParameter(
            f"{value!r} is not an account name: 1-40 lower-case letters, digits, '-' or '_'.", ctx, param
        )
    return value


@cli.command("import", context_settings=CONTEXT)
@db_option()
@click.option("-q", "--quiet", is_flag=True, help="No summary line.")
@click.option(
    "--force",
    is_flag=True,
    help="Read every file, even one imported before (recognised by its size, first and last MiB and line count).",
)
@click.option(
    "--account",
    default=None,
    metavar="NAME",
    callback=_account_name,
    help="The account the exports belong to (a name of OPENROUTER_MANAGEMENT_KEYS; default: the only account, "
    "'default').",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(db: Path | None, quiet: bool, force: bool, account: str | None, files: tuple[Path, ...]) -> None:
    """Import website activity exports (CSV, one row per generation): FILE... from openrouter.ai.

    Both layouts are understood (24 columns since 2026, 23 before), columns in any order. Rows are
    merged with what /generation gave (API values win, the export fills in the rest); importing a
    file twice changes nothing, and a file imported before is recognised and skipped without being
    read (--force reads it anyway). A file that is not an export, is cut short, is not UTF-8 or has a
    value of the wrong type is named with its line, exit status 2, and nothing is imported: the files
    of one command are imported together, in one transaction, all of them or none.
    """
    from core.settings import load_settings
    from orusage.importer import import_once

    settings = load_settings(**({"orusage_db": db} if db else {}))
    summary = import_once(settings, list(files), force=force, account=account or DEFAULT_ACCOUNT)
    if not quiet:
        click.echo(summary)


@cli.command(context_settings=CONTEXT)
@db_option()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON, for machines.")
def status(db: Path | None, as_json: bool) -> None:
    """Say what is stored, per source and per day, what is missing and what to do about it.

    Reads the latest snapshot only, so it is safe while an ingest runs. Lists the last runs and how
    they ended.
    """
    import json

    from core.clock import today_utc
    from core.settings import load_settings
    from orusage.status import load_report, render_text

    settings = load_settings(**({"orusage_db": db} if db else {}))
    report = load_report(settings.orusage_db, today_utc(), settings.orusage_broadcast_destination)
    click.echo(json.dumps(report.to_json(), default=str, indent=2) if as_json else render_text(report))


@cli.command(context_settings=CONTEXT)
@db_option()
def doctor(db: Path | None) -> None:
    """Check the key, OpenRouter, the database, the snapshot and the schedule; say what to fix.

    Run it before putting `orusage ingest` into cron. Exits 0 when everything needed works
    (warnings included), else with the code of the first failure (see docs/commands.md, “Exit codes”).
    """
    from core.settings import load_settings
    from orusage.doctor import run_doctor
    from orusage.jobs import client_for

    settings = load_settings(**({"orusage_db": db} if db else {}))
    checks, code = run_doctor(settings, client_for)
    for check in checks:
        click.echo(check.line())
    click.echo("All good." if code == 0 else "Fix the FAIL lines above, then run `orusage doctor` again.")
    sys.exit(code)


@cli.command(context_settings=CONTEXT)
@db_option()
@click.option("--host", default="localhost", show_default=True, help="Address to listen on.")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--allow-open",
    is_flag=True,
    help="Serve beyond localhost with no password and no sign-in (refused without it; a warning with it).",
)
def dashboard(db: Path | None, host: str, port: int, allow_open: bool) -> None:
    """Serve the dashboard (Streamlit) on the DuckDB file's latest snapshot.

    It only reads, so it can run while `orusage ingest` writes. It listens on localhost by default; on
    any other address it needs ORUSAGE_DASHBOARD_PASSWORD or sign-in (ORUSAGE_AUTH_*), or --allow-open.
    The Streamlit process gets no secret setting in its environment; SIGTERM and Ctrl-C stop it too.
    """
    from core.settings import load_settings
    from orusage.serve import serve_dashboard

    settings = load_settings(**({"orusage_db": db} if db else {}))
    warn = lambda line: click.echo(line, err=True)  # noqa: E731
    sys.exit(
        serve_dashboard(settings.orusage_db, host=host, port=port, settings=settings, allow_open=allow_open, warn=warn)
    )


@cli.command(context_settings=CONTEXT)
@db_option()
@click.option("--host", default="localhost", show_default=True, help="Address for the dashboard.")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="Dashboard port.")
@click.option("--no-serve", is_flag=True, help="Only ingest the demo account, do not serve the dashboard.")
def demo(db: Path | None, host: str, port: int, no_serve: bool) -> None:
    """Try everything on an embedded demo account: no key, no network.

    Starts the fake OpenRouter server on a free loopback port, runs the real ingest against it over
    HTTP into a separate demo database (~/.local/share/openrouter-usage/demo.duckdb), and serves the
    dashboard on it at http://localhost:8501.
    """
    from orusage.demo import run_demo

    sys.exit(run_demo(db, host=host, port=port, serve=not no_serve))


@cli.command(context_settings=CONTEXT)
@db_option()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Beyond loopback only with ORUSAGE_RECEIVE_TOKEN set.",
)
@click.option(
    "--port", default=4318, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on (OTLP's 4318)."
)
@click.option(
    "--every",
    "every_s",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1.0, 3600.0),
    metavar="SECONDS",
    help="Merge what arrived into the store and publish the snapshot at most this often.",
)
def receive(db: Path | None, host: str, port: int, every_s: float) -> None:
    """Receive OpenRouter Broadcast deliveries: every generation as it happens, with its trace tags.

    Point a Webhook (or OpenTelemetry Collector) destination at http(s)://YOUR-HOST/v1/traces with the
    header Authorization: Bearer $ORUSAGE_RECEIVE_TOKEN; put a TLS proxy in front (docs/broadcast.md).
    Each delivery is kept in a spool beside the database before it is acknowledged, never with prompts or
    completions; every --every seconds the spool is merged into the store (each generation once, under
    /generation's and the website CSV's values) and the snapshot published. Runs until Ctrl-C.
    """
    from core.settings import load_settings
    from orusage.receive import run_receiver

    settings = load_settings(**({"orusage_db": db} if db else {}))
    sys.exit(run_receiver(settings, host=host, port=port, every_s=every_s, echo=click.echo))


@cli.command("fake-openrouter", context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any).")
@click.option(
    "--now",
    "now_text",
    default=None,
    metavar="ISO-TIME",
    help="Anchor the data set on this UTC time, e.g. 2026-11-20T15:30:00Z (default: now).",
)
@click.option("--quirks", is_flag=True, help="Also emit what real responses do beyond the spec (NOTES.md).")
@click.option("--seed", default=7, show_default=True, help="Seed of the deterministic data set.")
@click.option(
    "--two-accounts",
    is_flag=True,
    help="Also serve a second, separate demo account at the same URL: the management key chooses the account "
    "(both keys are printed at start-up).",
)
def fake_openrouter(host: str, port: int, now_text: str | None, quirks: bool, seed: int, two_accounts: bool) -> None:
    """Run the fake OpenRouter API (for tests, demos and trying the ingest).

    It serves OpenRouter's API under /api/v1 from one seeded per-generation data set, and accepts the
    demo keys printed at start-up. Point OPENROUTER_BASE_URL at it.
    """
    from fake_openrouter.server import serve

    now = _parse_now(now_text)
    serve(host, port, now, quirks, seed, two_accounts=two_accounts)


cli.add_command(alerts)


@cli.group(context_settings=CONTEXT)
def report() -> None:
    """Reports built from the stored usage: `weekly` reviews one ISO week's costs, `chargeback` splits a
    month's spend between teams.

    Reports read the latest snapshot only, so they are safe while an ingest runs.
    """


@report.command("weekly", context_settings=CONTEXT)
@db_option()
@click.option(
    "--week",
    "week_text",
    metavar="YYYY-Www",
    default=None,
    help="The ISO week (Monday to Sunday, UTC), e.g. 2026-W47 (default: the last complete week).",
)
@click.option(
    "--format",
    "kind",
    type=click.Choice(["html", "md", "json"]),
    default=None,
    help="html (charts embedded), md (charts as PNG files beside it), json (default: --out's suffix, else html).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The file to write (default: print to stdout; Markdown then has no charts).",
)
@click.option(
    "--send",
    is_flag=True,
    help="Also send it through the alerts config's channels, once per week and channel (recorded in the store).",
)
@click.option("--resend", is_flag=True, help="Send it again to channels that already have this week's report.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The alerts config whose [delivery] channels --send uses (default: $ORUSAGE_CONFIG).",
)
def report_weekly(
    db: Path | None,
    week_text: str | None,
    kind: str | None,
    out: Path | None,
    send: bool,
    resend: bool,
    config_path: Path | None,
) -> None:
    """Review one week's costs: why spend changed (volume, mix, price), top movers, efficiency, budgets, what-if.

    The week is compared with the one before; the current week is reviewed up to yesterday against the
    same weekdays of the week before. Writes HTML, Markdown or JSON (the same numbers as the dashboard's
    Weekly review page); --send delivers it: e-mail as HTML with inline charts, the webhook as Markdown,
    each channel once per week (a rerun skips the channels that have it; --resend sends it again).
    """
    from core.settings import load_settings
    from orusage.review.report import run_weekly

    settings = load_settings(**({"orusage_db": db} if db else {}))
    run_weekly(settings, week_text, kind, out, send=send, config_path=config_path, echo=click.echo, resend=resend)


@report.command("chargeback", context_settings=CONTEXT)
@db_option()
@click.option(
    "--month",
    metavar="YYYY-MM",
    default=None,
    help="The month (UTC), e.g. 2026-11 (default: the last complete month; the current one runs to yesterday).",
)
@click.option(
    "--format",
    "kind",
    type=click.Choice(["csv", "md", "html", "json"]),
    default=None,
    help="csv (one row per team, model and key), md, html or json (default: --out's suffix, else md).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The file to write (default: print to stdout).",
)
def report_chargeback(db: Path | None, month: str | None, kind: str | None, out: Path | None) -> None:
    """Split one month's spend between teams: per team, per model and per key within each, unallocated apart.

    Teams are the alerts config's [teams], as the last `orusage alerts check` stored them, applied to the
    whole month as they stand today. Each dollar goes to one line (a key or workspace rule first, then
    app, then member); the lines add up to the account's spend for the month, as the dashboard's Teams
    page and the FOCUS export's tags show it.
    """
    from core.settings import load_settings
    from orusage.chargeback import run_chargeback

    settings = load_settings(**({"orusage_db": db} if db else {}))
    run_chargeback(settings, month, kind, out, click.echo)


@cli.command(context_settings=CONTEXT)
@db_option()
@click.option(
    "--format",
    "kind",
    type=click.Choice(["csv", "parquet", "focus"]),
    required=True,
    help="csv or parquet: every table of the snapshot; focus: the account's spend as one FOCUS 1.0 file.",
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="The folder to write into."
)
@click.option(
    "--from",
    "first",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First UTC day (YYYY-MM-DD) of dated tables, or of the FOCUS file (default: the last complete month).",
)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last UTC day, included.")
@click.option(
    "--as",
    "file_type",
    type=click.Choice(["csv", "parquet"]),
    default=None,
    help="With --format focus: the file type, CSV (default) or Parquet (zstd).",
)
@click.option(
    "--compress", is_flag=True, help="Gzip CSV files (.csv.gz); table exports' Parquet is zstd instead of snappy."
)
@click.option(
    "--since-last",
    is_flag=True,
    help="With --format focus: only the final days not yet sent to this folder in this format (for cron).",
)
@click.option("-q", "--quiet", is_flag=True, help="No summary on success (for cron): only errors are printed.")
def export(
    db: Path | None,
    kind: str,
    out: Path,
    first: datetime | None,
    last: datetime | None,
    file_type: str | None,
    compress: bool,
    since_last: bool,
    quiet: bool,
) -> None:
    """Export the snapshot's tables, or the account's spend as a FOCUS 1.0 file, for finance.

    \b
    --format csv|parquet: every table, Parquet tables with a UTC day partitioned by it (hive style:
      TABLE/date=2026-11-19/…); --from/--to limit the tables that have a day; a manifest.json lists them.
    --format focus: one FOCUS 1.0 file (CSV, --compress for .csv.gz, or --as parquet) of the account's
      spend per UTC day, model and API key, teams in its Tags; default range: the last complete month.
      --since-last sends only final days not sent to the folder before (recorded in the store; days
      OpenRouter revises afterwards are listed by `orusage status`).

    Reads the latest snapshot; a --since-last run also records what it sent, waiting for a running ingest.
    """
    from core.clock import today_utc, utcnow
    from core.errors import ConfigError
    from core.settings import load_settings

    settings = load_settings(**({"orusage_db": db} if db else {}))
    start, end = (first.date() if first else None), (last.date() if last else None)
    if kind != "focus":
        if file_type or since_last:
            raise ConfigError(f"--{'as' if file_type else 'since-last'} works with --format focus only.")
        from orusage.export import export as run_export

        done = run_export(settings.orusage_db, out, kind, start, end, compress=compress)
        if not quiet:
            click.echo(
                f"exported {len(done)} tables, {sum(e.rows for e in done):,} rows, as {kind} into {out}", err=True
            )
        return
    from orusage import focus_export

    request = focus_export.Request(out, file_type or "csv", compress, start, end, since_last)
    result = focus_export.run(
        settings.orusage_db,
        request,
        today_utc(),
        utcnow(),
        settings.orusage_billing_account_id,
        settings.orusage_billing_account_name,
    )
    for line in [] if quiet else result.lines():
        click.echo(line, err=True)


def _parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC).replace(tzinfo=None)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO time such as 2026-11-20T15:30:00Z", param_hint="--now"
        ) from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line and an exit code for every error, never a traceback."""
    try:
        cli.main(args=argv, prog_name="orusage", standalone_mode=False)
    except OrusageError as exc:
        click.echo(scrub(f"orusage: {exc}"), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("orusage: interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("orusage: interrupted; completed units are stored, run again to finish.", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        if debug_enabled():
            raise
        click.echo(
            scrub(
                f"orusage: unexpected error: {type(exc).__name__}: {first_line(exc)} "
                "(set ORUSAGE_DEBUG=1 for details, and please report it)."
            ),
            err=True,
        )
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
