"""`orusage status`: what is stored, since when, what is missing and what to do about it.

The wording rules are pure functions of the coverage records, so they are tested without a server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from core import fmt
from core.urls import without_urls
from ingest.broadcast.spool import Spool, spool_path
from orusage.export_status import ExportsStatus, exports_status
from orusage.export_status import lines as export_lines
from queries import alert_channels
from queries import broadcast as qb
from queries import coverage_tracks as ct
from queries import generations as gq
from queries import reconciliation as rq
from queries import status as q
from queries.coverage_tracks import Gap, activity_gaps, covered_days
from queries.store import read_snapshot, snapshot_path

__all__ = ["Gap", "Report", "activity_gaps", "build_report", "load_report", "render_text"]


@dataclass
class SourceLine:
    source: str
    covered_first: date | None
    covered_last: date | None
    covered_days: int
    missing_days: int
    detail: str = ""


@dataclass
class GenerationsStatus:
    """Per-generation records: how many, from which source, which days are held whole."""

    rows: int
    api: int
    export: int
    both: int
    first: datetime | None
    last: datetime | None
    with_key: int
    with_app: int
    app_labels: int
    complete_days: int
    complete_first: date | None
    complete_last: date | None


@dataclass
class Difference:
    date: date
    model: str
    metric: str
    activity: float | None
    analytics: float | None
    generations: float | None
    difference: float

    def sentence(self) -> str:
        values = ", ".join(
            f"{name} {_number(self.metric, value)}"
            for name, value in (
                ("activity", self.activity),
                ("analytics", self.analytics),
                ("generations", self.generations),
            )
            if value is not None
        )
        return f"{self.date} {self.model}: {self.metric} {values} (off by {_number(self.metric, self.difference)})"


@dataclass
class ReconciliationStatus:
    compared: int
    days: int
    models: int
    first_day: date | None
    last_day: date | None
    sources: list[str]
    checked_at: datetime | None
    differences: list[Difference] = field(default_factory=list)
    tolerance: str = f"counts equal, money within ${rq.MONEY_TOLERANCE}"

    @property
    def agree(self) -> bool:
        return not self.differences


def _number(metric: str, value: float) -> str:
    return fmt.usd_precise(value) if metric in rq.MONEY_METRICS else f"{value:,.0f}"


@dataclass
class TraceDayLine:
    date: date
    analytics_requests: int | None  # None: analytics does not hold the day yet
    sampling_rate: float
    expected: float | None
    received: int
    missing: int | None


@dataclass
class BroadcastStatus:
    """The live feed (docs/broadcast.md): the destination's settings, what arrived, what is missing."""

    received: int
    broadcast_only: int
    deliveries: int
    duplicates: int
    spans_without_id: int
    last_received_at: datetime | None
    destination: dict[str, Any] | None
    destination_note: str | None
    warnings: list[str]
    days: list[TraceDayLine]
    missing: int
    spool_waiting: int
    spool_oldest: datetime | None
    spool_unreadable: int


@dataclass
class Report:
    database: str
    snapshot: str
    schema_version: int
    duckdb_version: str
    data_as_of: datetime | None
    today: date
    sources: list[SourceLine] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    runs: list[q.RunRow] = field(default_factory=list)
    generations: GenerationsStatus | None = None
    reconciliation: ReconciliationStatus | None = None
    broadcast: BroadcastStatus | None = None
    exports: ExportsStatus | None = None
    alert_channels: list[alert_channels.ChannelHealth] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["gaps"] = [{**asdict(g), "days": g.days, "text": g.sentence()} for g in self.gaps]
        if self.reconciliation is not None:
            data["reconciliation"]["agree"] = self.reconciliation.agree
            data["reconciliation"]["differences"] = [
                {**asdict(d), "text": d.sentence()} for d in self.reconciliation.differences
            ]
        if self.exports is not None:
            data["exports"]["revised"] = [{**asdict(d), "text": d.sentence()} for d in self.exports.revised]
        return data


def _line(track: ct.Track, gaps: Sequence[Gap]) -> SourceLine:
    covered = track.covered()
    missing = sum(g.days for g in gaps)
    detail = f"{len(track.scopes)} keys" if track.per_key else ""
    return SourceLine(track.name, min(covered, default=None), max(covered, default=None), len(covered), missing, detail)


def build_report(
    *,
    database: Path,
    facts: q.StoreFacts,
    coverage: Sequence[q.CoverageRow],
    runs: Sequence[q.RunRow],
    data_as_of: datetime | None,
    key_names: dict[str, str],
    today: date,
) -> Report:
    """Every track (``queries.coverage_tracks``: the Data health page's own) with its gaps."""
    report = Report(
        database=str(database),
        snapshot=str(snapshot_path(database)),
        schema_version=facts.schema_version,
        duckdb_version=facts.written_by_duckdb,
        data_as_of=data_as_of,
        today=today,
        runs=list(runs),
    )
    for track in ct.tracks(coverage):
        if track.source == "generations":
            continue  # reported apart (GenerationsStatus): nothing is expected of them
        gaps = ct.track_gaps(track, coverage, today, key_names)
        report.sources.append(_line(track, gaps))
        report.gaps.extend(gaps)
    return report


def generations_status(facts: gq.GenerationFacts, coverage: Sequence[q.CoverageRow]) -> GenerationsStatus:
    whole = covered_days(r for r in coverage if r.source == "generations")
    return GenerationsStatus(
        rows=facts.rows,
        api=facts.api,
        export=facts.export,
        both=facts.both,
        first=facts.first,
        last=facts.last,
        with_key=facts.with_key,
        with_app=facts.with_app,
        app_labels=facts.app_labels,
        complete_days=len(whole),
        complete_first=min(whole, default=None),
        complete_last=max(whole, default=None),
    )


def reconciliation_status(summary: rq.Summary) -> ReconciliationStatus:
    return ReconciliationStatus(
        compared=summary.compared,
        days=summary.days,
        models=summary.models,
        first_day=summary.first_day,
        last_day=summary.last_day,
        sources=list(summary.sources),
        checked_at=summary.checked_at,
        differences=[
            Difference(c.date, c.model_permaslug, c.metric, c.activity, c.analytics, c.generations, c.difference)
            for c in summary.differences
        ],
    )


def broadcast_status(trace: qb.TraceReport, spool: Spool) -> BroadcastStatus | None:
    """None when Broadcast plays no part: nothing received, no destination, nothing spooled."""
    waiting, oldest = spool.backlog()
    if not trace.received and not trace.destinations and not waiting and not trace.totals.deliveries:
        return None
    d = trace.destination
    return BroadcastStatus(
        received=trace.received,
        broadcast_only=trace.broadcast_only,
        deliveries=trace.totals.deliveries,
        duplicates=trace.totals.duplicates,
        spans_without_id=trace.totals.without_id,
        last_received_at=trace.totals.last_received_at,
        destination=asdict(d) if d else None,
        destination_note=trace.note,
        warnings=d.warnings() if d else [],
        days=[TraceDayLine(t.date, t.counted, t.sampling_rate, t.expected, t.received, t.missing) for t in trace.days],
        missing=trace.missing,
        spool_waiting=waiting,
        spool_oldest=oldest,
        spool_unreadable=spool.unreadable(),
    )


def load_report(database: Path, today: date, destination: str | None = None) -> Report:
    with read_snapshot(database) as con:
        coverage = q.coverage(con)
        report = build_report(
            database=database,
            facts=q.store_facts(con),
            coverage=coverage,
            runs=q.last_runs(con),
            data_as_of=q.last_successful_run(con),
            key_names=q.key_names(con),
            today=today,
        )
        if gq.has_generations(con):  # a snapshot from before migration 0003 has none of this
            report.generations = generations_status(gq.generation_facts(con), coverage)
            report.reconciliation = reconciliation_status(rq.summary(con))
        if gq.has_broadcast(con):
            report.broadcast = broadcast_status(qb.trace_report(con, today, destination), Spool(spool_path(database)))
        report.exports = exports_status(con, today)
        report.alert_channels = alert_channels.channel_health(con)
        return report


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "never"


def render_text(report: Report) -> str:
    lines = [
        f"Database   {report.database} (schema {report.schema_version}, written by DuckDB {report.duckdb_version})",
        f"Data as of {_when(report.data_as_of)} (last successful ingest); days are UTC, today is {report.today}",
        "",
    ]
    if not report.sources:
        lines.append("Nothing ingested yet: run `orusage ingest`.")
    else:
        width = max(len(s.source) for s in report.sources) + 2
        lines.append(f"{'source':<{width}}{'covered':<26}{'days':>6}{'missing':>9}")
        for s in report.sources:
            span = f"{s.covered_first}..{s.covered_last}" if s.covered_first else "—"
            lines.append(f"{s.source:<{width}}{span:<26}{s.covered_days:>6}{s.missing_days:>9}")
        lines.append("")
        if report.gaps:
            lines.append("Missing:")
            lines.extend(f"  {gap.sentence()}" for gap in report.gaps[:40])
            if len(report.gaps) > 40:
                lines.append(f"  … and {len(report.gaps) - 40} more (see --json)")
        else:
            lines.append("Nothing missing.")
    lines.extend(_generation_lines(report))
    lines.extend(_broadcast_lines(report.broadcast))
    if report.exports is not None:
        lines.extend(export_lines(report.exports))
    lines.extend(channel_lines(report.alert_channels))
    if report.runs:
        lines.append("")
        lines.append("Last runs:")
        several = len({run.account for run in report.runs}) > 1
        for run in report.runs:
            outcome = run.status if run.finished_at else "interrupted (no finish recorded)"
            message = f" — {run.message}" if run.message else ""
            whose = f" of {run.account}" if several else ""
            lines.append(
                f"  #{run.run_id} {run.command}{whose} {_when(run.started_at)}: {outcome}, "
                f"{run.units_done} units, {run.rows_written} rows{message}"
            )
    return "\n".join(lines)


def channel_lines(channels: Sequence[alert_channels.ChannelHealth]) -> list[str]:
    """The alert channels' health: a disabled one is said first and loudly, with what re-enables it."""
    if not channels:
        return []
    lines = ["", "Alert channels:"]
    for c in channels:
        held = f"; {c.held} message(s) kept for it" if c.held else ""
        error = without_urls(c.last_error or "")  # the receiver's own words: never a URL
        if c.disabled_at is not None:
            lines.append(
                f"  {c.channel}: DISABLED since {_when(c.disabled_at)} after {c.failures_in_a_row} failing runs "
                f"({error}){held}. `orusage alerts test-send` (or a change of its config) re-enables it "
                "and sends what it missed as one digest."
            )
        elif c.failures_in_a_row:
            lines.append(
                f"  {c.channel}: failing ({c.failures_in_a_row} run(s) in a row, last {_when(c.last_failure_at)}: "
                f"{error}){held}"
            )
        else:
            lines.append(f"  {c.channel}: ok (last delivery {_when(c.last_success_at)}){held}")
    return lines


def _generation_lines(report: Report) -> list[str]:
    lines: list[str] = []
    g = report.generations
    if g is not None and g.rows:
        span = f"{g.first:%Y-%m-%d %H:%M}..{g.last:%Y-%m-%d %H:%M} UTC" if g.first and g.last else ""
        whole = (
            f"{g.complete_days} whole day(s) {g.complete_first}..{g.complete_last}"
            if g.complete_days
            else "no whole day yet"
        )
        lines += [
            "",
            f"Generations: {g.rows:,} records {span} ({g.api:,} from the API, {g.export:,} from exports, "
            f"{g.both:,} from both); {whole}; {g.with_key:,} linked to a key, {g.with_app:,} to an app",
        ]
    r = report.reconciliation
    if r is None:
        return lines
    lines.append("")
    if not r.compared:
        lines.append("Sources compared: none yet (it takes two sources holding the same days).")
    elif r.agree:
        lines.append(
            f"Sources agree: {', '.join(r.sources)} on {r.days} day(s) × {r.models} model(s) "
            f"{r.first_day}..{r.last_day} ({r.compared:,} comparisons; {r.tolerance})."
        )
    else:
        lines.append(
            f"Sources differ: {len(r.differences)} of {r.compared:,} comparisons ({', '.join(r.sources)}, "
            f"{r.first_day}..{r.last_day}; {r.tolerance}):"
        )
        lines.extend(f"  {d.sentence()}" for d in r.differences[:40])
        if len(r.differences) > 40:
            lines.append(f"  … and {len(r.differences) - 40} more (see --json, or the view reconciliation_differences)")
    return lines


BROADCAST_DAYS_SHOWN = 14


def _broadcast_lines(b: BroadcastStatus | None) -> list[str]:
    if b is None:
        return []
    last = f"; last delivery {_when(b.last_received_at)}" if b.last_received_at else ""
    again = f", {b.duplicates:,} delivered again (ignored)" if b.duplicates else ""
    lines = [
        "",
        f"Broadcast: {b.received:,} generations received ({b.broadcast_only:,} only through Broadcast) in "
        f"{b.deliveries:,} deliveries{again}{last}; {b.spans_without_id:,} spans without a generation id "
        "(provider attempts, timing) ignored",
    ]
    d = b.destination
    if d is not None:
        keys = "every key" if d["api_key_hashes"] is None else f"{len(d['api_key_hashes'])} key(s)"
        groups = [n for n, on in (("cost", d["cost"]), ("identity", d["identity"]),
                                  ("request context", d["request_context"])) if on]  # fmt: skip
        lines.append(
            f"  destination {d['name'] or d['id']} ({d['type']}): {'enabled' if d['enabled'] else 'DISABLED'}, "
            f"sampling {d['sampling_rate']:.2%}, privacy mode {'on' if d['privacy_mode'] else 'off'}, "
            f"metadata: {', '.join(groups) or 'none'}, {keys} (read {_when(d['fetched_at'])})"
        )
    elif b.destination_note:
        lines.append(f"  destination: {b.destination_note}; assuming every trace is sent (rate 1)")
    lines.extend(f"  warning: {w}" for w in b.warnings)
    shown = [t for t in b.days if t.analytics_requests is not None][-BROADCAST_DAYS_SHOWN:]
    if shown:
        lines.append(f"  {'day':<12}{'analytics':>10}{'rate':>7}{'expected':>10}{'received':>10}{'missing':>9}")
        for t in shown:
            expected = f"{t.expected:,.0f}" if t.expected is not None else "—"
            lines.append(
                f"  {t.date!s:<12}{t.analytics_requests or 0:>10,}{t.sampling_rate:>7.2f}{expected:>10}"
                f"{t.received:>10,}{t.missing or 0:>9,}"
            )
    if b.missing:
        days = sum(1 for t in b.days if t.missing)
        lines.append(
            f"  Missing traces: {b.missing:,} on {days} day(s). OpenRouter does not retry a failed delivery; "
            "`orusage ingest` still fetches those generations from /generation."
        )
    elif shown:
        lines.append("  No missing traces.")
    if b.spool_waiting:
        lines.append(
            f"  Spool: {b.spool_waiting:,} deliveries wait for a merge (oldest {_when(b.spool_oldest)}): "
            "is `orusage receive` running? `orusage ingest` merges them too."
        )
    if b.spool_unreadable:
        lines.append(f"  Spool: {b.spool_unreadable} unreadable file(s) set aside in its `unreadable` folder.")
    return lines
