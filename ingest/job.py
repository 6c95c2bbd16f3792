"""`orusage ingest`: OpenRouter → DuckDB, unit by unit.

Each unit (the workspaces, the keys, the credits, the models, one day of account-wide activity, one key's
activity) is written in its own transaction and replaces what was stored for it, so the job can be
killed anywhere and simply run again: nothing doubles and nothing is half-written.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from core.clock import utcnow
from core.errors import OrusageError, StoreError
from core.scrub import scrub
from core.settings import MANAGEMENT_KEYS_URL
from ingest import schemas, transform
from ingest.analytics.catalog import GROUPINGS, LONG_REACH_DAYS, Grouping
from ingest.analytics.hourly import HourlyLoader, groupings_for
from ingest.analytics.loader import AnalyticsLoader, Piece
from ingest.analytics.pairs import PAIRS
from ingest.analytics.plan import METRIC_KINDS, Covered, Request, final_days, plan
from ingest.broadcast import destinations
from ingest.broadcast.merge import MergeResult, merge_spool
from ingest.broadcast.spool import Spool, spool_path
from ingest.client import OpenRouterClient
from ingest.errors import AuthError, BadResponseError, NotFoundError
from ingest.generations.job import GenerationOptions, GenerationsResult, run_generations
from ingest.pacing import Pacer
from ingest.progress import QuietReporter, Reporter
from ingest.values import InvalidValue, refused
from queries import hourly, ingest_state, reconciliation, writes
from queries.store import Writer

log = logging.getLogger("orusage.ingest")

# Analytics allow 64 requests a minute; stay a little under it so 429 stays the exception.
ANALYTICS_RATE_PER_MINUTE = 60
ACTIVITY_WINDOW_DAYS = 30


@dataclass
class IngestResult:
    run_id: int
    units: int = 0
    rows: int = 0
    days: list[str] = field(default_factory=list)
    keys: int = 0
    models: int = 0
    new_model_states: int = 0
    analytics_queries: int = 0
    analytics_days: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    generations: GenerationsResult | None = None
    differences: int = 0  # (day, model, metric) where the sources disagree (table `reconciliation`)
    broadcast: MergeResult | None = None  # the receiver's spool, merged first
    destinations: int = 0  # Broadcast destinations that could be `orusage receive`


def check_management_key(client: OpenRouterClient) -> None:
    info = client.key_info()
    if not (info.is_management_key or info.is_provisioning_key):
        raise AuthError(
            f"{client.key_setting} holds a regular API key; usage data needs a management key.",
            f"Create one at {MANAGEMENT_KEYS_URL} and set {client.key_setting} to it.",
            403,
        )


def run_ingest(
    writer: Writer,
    client: OpenRouterClient,
    *,
    clock: Callable[[], datetime] = utcnow,
    reporter: Reporter | None = None,
    command: str = "ingest",
    pacer: Pacer | None = None,
    analytics: bool = True,
    history_days: int = LONG_REACH_DAYS,
    generations: GenerationOptions | None = None,
    pairs: bool = True,
) -> IngestResult:
    """Pull everything issue-by-issue into the store. Raises OrusageError on the first failed unit;
    completed units stay stored and the run is recorded as failed. With ``generations``, per-generation
    records are fetched too, after analytics (their listing shares its pacer). ``pairs``: also keep the
    two-dimension analytics groupings of ``ingest.analytics.pairs``."""
    report = reporter or QuietReporter()
    with writer.transaction() as con:
        result = IngestResult(run_id=writes.start_run(con, command, clock()))
        writes.rescrub_messages(con, scrub)  # what an older version stored unscrubbed, cleaned now
    pacer = pacer or Pacer(ANALYTICS_RATE_PER_MINUTE)  # one pacer for every analytics query of the run
    try:
        # What `orusage receive` spooled and has not merged yet: stored first, so /generation answers and
        # the reconciliation below see it (and /generation's values replace Broadcast's).
        result.broadcast = merge_spool(writer, Spool(spool_path(writer.db_path)))
        result.units += result.broadcast.batches
        result.rows += result.broadcast.records
        groupings = (*GROUPINGS, *PAIRS) if pairs else GROUPINGS
        _ingest(writer, client, clock, report, result, pacer, analytics, history_days, groupings)
        _generations_and_reconciliation(writer, client, clock, report, result, pacer, generations)
    except OrusageError as exc:
        # The message may quote a peer: never a secret in the run log. A store that just failed (full, damaged)
        # may refuse the run log too: the first error is the one to report.
        with contextlib.suppress(StoreError), writer.transaction() as con:
            writes.finish_run(con, result.run_id, "failed", clock(), result.units, result.rows, scrub(str(exc)))
        raise
    except BaseException as exc:
        with contextlib.suppress(StoreError), writer.transaction() as con:
            message = f"interrupted: {type(exc).__name__}"
            writes.finish_run(con, result.run_id, "failed", clock(), result.units, result.rows, message)
        raise
    finally:
        report.end()
    with writer.transaction() as con:
        writes.finish_run(con, result.run_id, "ok", clock(), result.units, result.rows)
    return result


def _ingest(
    writer: Writer,
    client: OpenRouterClient,
    clock: Callable[[], datetime],
    report: Reporter,
    result: IngestResult,
    pacer: Pacer,
    analytics: bool,
    history_days: int,
    groupings: Sequence[Grouping],
) -> None:
    check_management_key(client)
    today = clock().date()

    workspaces = client.workspaces()
    keys = client.all_keys([w.id for w in workspaces])
    members = client.organization_members() if analytics else None
    requests = (
        plan(
            today,
            [Covered(*row) for row in ingest_state.analytics_coverage(writer.con)],
            [k.hash for k in keys],
            organization=members is not None,
            reach_days=history_days,
            redo=ingest_state.impossible_analytics(writer.con, METRIC_KINDS),
            groupings=groupings,
        )
        if analytics
        else []
    )
    report.begin(4 + len(keys) + len(requests) + (2 if analytics else 0), "ingest")

    with writer.transaction() as con:
        result.rows += writes.upsert_workspaces(con, [transform.workspace_row(w) for w in workspaces], clock())
        result.rows += writes.upsert_api_keys(con, [transform.api_key_row(k) for k in keys], clock(), True)
        if members:
            result.rows += writes.upsert_members(con, [m.model_dump() for m in members], clock())
    result.units += 1
    result.keys = len(keys)
    report.step(f"{len(keys)} keys, {len(workspaces)} workspaces")

    result.destinations, warning = destinations.refresh(writer, client, clock, [w.id for w in workspaces])
    if warning:
        result.warnings.append(warning)
    credits = client.credits()
    with writer.transaction() as con:
        writes.insert_credits(con, clock(), credits.total_credits, credits.total_usage)
    result.units += 1
    report.step("credits")

    try:
        models = {m.canonical_slug or m.id: transform.model_row(m) for m in client.models()}
    except InvalidValue as exc:
        raise refused("GET /models", exc) from None
    with writer.transaction() as con:
        result.new_model_states = writes.upsert_models(con, list(models.values()), clock())
    result.units += 1
    result.models = len(models)
    report.step(f"{len(models)} models")

    # /activity serves the last 30 completed UTC days: that window is what a successful fetch covers.
    window = (today - timedelta(days=ACTIVITY_WINDOW_DAYS), today - timedelta(days=1))
    items = client.activity()
    by_day = _activity_rows(items, today, "GET /activity")
    for day, rows in sorted(by_day.items()):
        with writer.transaction() as con:
            result.rows += writes.replace_activity_day(con, day, rows, clock())
        result.units += 1
    with writer.transaction() as con:
        writes.record_coverage(
            con,
            source="activity",
            dimensions="",
            scope="",
            metrics="",
            first_day=window[0],
            last_day=window[1],
            fetched_at=clock(),
            rows_received=len(items),
        )
    result.days = [d.isoformat() for d in sorted(by_day)]
    report.step(f"activity, {len(by_day)} days")

    for key in keys:
        key_items = client.activity(api_key_hash=key.hash)
        key_days = _activity_rows(key_items, today, "GET /activity?api_key_hash=…")
        key_rows = [row for day_rows in key_days.values() for row in day_rows]
        with writer.transaction() as con:
            result.rows += writes.replace_activity_for_key(con, key.hash, sorted(key_days), key_rows, clock())
            writes.record_coverage(
                con,
                source="activity",
                dimensions="",
                scope=key.hash,
                metrics="",
                first_day=window[0],
                last_day=window[1],
                fetched_at=clock(),
                rows_received=len(key_items),
            )
        result.units += 1
        report.step(f"key {key.name[:24]}")

    if not analytics:
        return
    loader = AnalyticsLoader(client, pacer, today)
    current: Request | None = None
    # The next answer is fetched while this one is stored (loader.pieces), so storing costs no pacing slot.
    for request, piece in loader.pieces(requests):
        if current is not None and request is not current:
            report.step(f"analytics {current.grouping.name} {current.first_day:%m-%d}..{current.last_day:%m-%d}")
        current = request
        _refuse_an_empty_answer_against_spend(writer, piece, clock())
        with writer.transaction() as con:
            result.rows += writes.upsert_analytics(con, piece.rows, request.metrics, clock())
            writes.record_coverage(
                con,
                source="analytics",
                dimensions=request.grouping.name,
                scope=request.scope,
                metrics=request.metrics_set,
                first_day=piece.first_day,
                last_day=piece.last_day,
                fetched_at=clock(),
                rows_received=piece.received,
            )
        result.units += 1
        result.warnings.extend(piece.warnings)
        result.analytics_days.update({piece.first_day.isoformat(), piece.last_day.isoformat()})
    if current is not None:
        report.step(f"analytics {current.grouping.name} {current.first_day:%m-%d}..{current.last_day:%m-%d}")
    result.analytics_queries = loader.queries + _hourly(writer, client, clock, pacer, result, members is not None)
    report.step("analytics by hour, today and yesterday")

    endpoint_rows: list[dict[str, object]] = []
    for permaslug, model_id in ingest_state.models_with_traffic(writer.con, today - timedelta(days=30)):
        try:
            endpoints = client.model_endpoints(model_id)
        except NotFoundError:
            result.warnings.append(f"no endpoints listed for {model_id} (retired?)")
            continue
        try:
            endpoint_rows.extend(transform.endpoint_rows(permaslug, endpoints))
        except InvalidValue as exc:
            raise refused(f"GET /models/{model_id}/endpoints", exc) from None
    with writer.transaction() as con:
        result.rows += writes.insert_model_endpoints(con, endpoint_rows, clock())
    result.units += 1
    report.step(f"endpoint health, {len(endpoint_rows)} endpoints")


def _hourly(
    writer: Writer,
    client: OpenRouterClient,
    clock: Callable[[], datetime],
    pacer: Pacer,
    result: IngestResult,
    organization: bool,
) -> int:
    """Today's and yesterday's spend per hour (provisional, replaced whole): today for every scope."""
    loader = HourlyLoader(client, pacer)
    now = clock()
    fetches = [loader.fetch(grouping, now) for grouping in groupings_for(organization)]
    with writer.transaction() as con:
        result.rows += hourly.replace_hourly(
            con, [(f.grouping, f.first_hour, f.rows, f.received) for f in fetches], clock()
        )
    result.units += 1
    return loader.queries


def _activity_rows(items: list[schemas.ActivityItem], today: date, where: str) -> dict[date, list[dict[str, object]]]:
    try:
        return transform.activity_rows_by_day(items, today)
    except InvalidValue as exc:
        raise refused(where, exc) from None


def _refuse_an_empty_answer_against_spend(writer: Writer, piece: Piece, fetched_at: datetime) -> None:
    """An analytics answer with no rows at all would make its days final and empty for good. When /activity
    (or two /credits snapshots) show spend on the days it would make final, it cannot be right: refuse it
    (exit 4) so that the next run asks again."""
    if piece.received:
        return
    request = piece.request
    covered = Covered(
        request.grouping.name, request.scope, request.metrics_set, piece.first_day, piece.last_day, fetched_at
    )
    days = sorted(final_days([covered]))
    if not days:
        return  # nothing would become final
    first, last = days[0], days[-1]
    spent = ingest_state.activity_spend(writer.con, first, last, request.scope)
    source = "/activity"
    if spent <= 0 and not request.scope:
        spent, source = ingest_state.credits_spend(writer.con, first, last), "/credits"
    if spent > 0:
        raise BadResponseError(
            f"POST /analytics/query answered no rows for {request.grouping.name} on {first}..{last}, but "
            f"{source} shows ${spent:,.2f} spent on those days.",
            "Nothing was recorded as complete; run again later (if it persists, report it to OpenRouter).",
        )


def _generations_and_reconciliation(
    writer: Writer,
    client: OpenRouterClient,
    clock: Callable[[], datetime],
    report: Reporter,
    result: IngestResult,
    pacer: Pacer,
    generations: GenerationOptions | None,
) -> None:
    if generations is not None:
        gen = run_generations(writer, client, generations, clock=clock, reporter=report, analytics_pacer=pacer)
        result.generations = gen
        result.units += gen.batches + 1
        result.rows += gen.fetched
        result.analytics_queries += gen.queries
        result.warnings.extend(gen.warnings)
    # Derived from what is stored, recomputed whole: it always describes the file as it now is.
    with writer.transaction() as con:
        result.differences = len(reconciliation.reconcile(con, clock().date(), clock()))
    result.units += 1
