"""Named writes and reads for the live feed from OpenRouter Broadcast (docs/broadcast.md).

Writes (inside the caller's transaction): ``merge_generations`` stores a batch of Broadcast records, exactly
once per generation id, as the lowest-ranking source (the merge rule in ``queries.generations``);
``add_receipts`` counts what the receiver got per day; ``replace_destinations`` keeps the destinations'
settings as the API gave them (never their ``config``: it holds the receiver's token).

Reads: the destinations, what was received per day against what analytics counted ("missing traces"), the
latest records received, and the tags for the Generations page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from queries.accounts import CURRENT
from queries.generations import BROADCAST, BROADCAST_COLUMNS, has_broadcast, ident, quoted

if TYPE_CHECKING:  # pandas only for the page's reads: the receiver and its merge do without it
    import pandas as pd

MAX_TAGS = 20  # a generation's tags: the first 20 are kept
TAG_KEY_CHARS = 100
TAG_VALUE_CHARS = 200

_ARROW = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
}
_INCOMING: dict[str, str] = {"id": "VARCHAR", "created_at": "TIMESTAMP", "received_at": "TIMESTAMP"}
_INCOMING.update(BROADCAST_COLUMNS)


@dataclass(frozen=True)
class Merged:
    new: int  # records created (no other source had the generation)
    filled: int  # records of /generation or the export that Broadcast reached for the first time
    duplicates: int  # generations Broadcast had already delivered: nothing changed


def _incoming(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    schema = pa.schema([("seq", pa.int64())] + [(c, _ARROW[t]) for c, t in _INCOMING.items()])
    columns: dict[str, list[Any]] = {"seq": list(range(len(rows)))}
    for name in _INCOMING:
        columns[name] = [row.get(name) for row in rows]
    return pa.table(columns, schema=schema)


def merge_generations(
    con: duckdb.DuckDBPyConnection, rows: Sequence[Mapping[str, Any]], tags: Sequence[tuple[int, str, str]]
) -> Merged:
    """Store Broadcast records (dicts: ``id``, ``created_at``, ``received_at`` and any ``BROADCAST_COLUMNS``),
    oldest delivery first, and their tags ``(index of the record in rows, key, value)``. Per generation id,
    only its first delivery counts: a generation Broadcast already delivered is left exactly as it is
    (duplicates, retries), tags included."""
    if not rows:
        return Merged(0, 0, 0)
    con.register("incoming_broadcast", _incoming(rows))
    try:
        # One record per id in the batch: the earliest delivery's.
        con.execute(
            """CREATE TEMP TABLE batch_broadcast AS SELECT * FROM incoming_broadcast
               QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq) = 1"""
        )
    finally:
        con.unregister("incoming_broadcast")
    found = con.execute(
        "SELECT g.rowid, g.id, g.received_at IS NOT NULL FROM generations g SEMI JOIN batch_broadcast b ON b.id = g.id"
    ).fetchall()
    reached = [r[0] for r in found if not r[2]]  # stored by another source, not yet by Broadcast
    delivered = [r[1] for r in found if r[2]]  # Broadcast delivered these before: this batch changes nothing
    batch = len(con.execute("SELECT 1 FROM batch_broadcast").fetchall())
    columns = list(BROADCAST_COLUMNS)
    present = ", ".join(f"CASE WHEN b.{ident(c)} IS NOT NULL THEN {quoted(c)} END" for c in columns)
    con.execute(
        f"""INSERT INTO generations BY NAME
            SELECT b.id, b.created_at, {", ".join(f"b.{ident(c)}" for c in columns)},
                   '{BROADCAST}' AS source, b.received_at,
                   nullif(list_filter([{present}], lambda x: x IS NOT NULL), []::VARCHAR[]) AS broadcast_filled
            FROM batch_broadcast b ANTI JOIN generations g ON g.id = b.id"""  # noqa: S608 - column constants
    )
    new = batch - len(found)
    if reached:
        filled = ", ".join(f"coalesce(g.{ident(c)}, b.{ident(c)}) AS {ident(c)}" for c in columns)
        added = ", ".join(
            f"CASE WHEN g.{ident(c)} IS NULL AND b.{ident(c)} IS NOT NULL THEN {quoted(c)} END" for c in columns
        )
        con.execute(
            f"""CREATE TEMP TABLE reached_broadcast AS
                SELECT g.* REPLACE ({filled}, b.received_at AS received_at,
                       nullif(list_filter(list_concat(coalesce(g.broadcast_filled, []::VARCHAR[]), [{added}]),
                                          lambda x: x IS NOT NULL), []::VARCHAR[]) AS broadcast_filled)
                FROM (SELECT * FROM generations WHERE rowid = ANY($rows::BIGINT[])) g
                JOIN batch_broadcast b ON b.id = g.id""",  # noqa: S608 - column constants
            {"rows": reached},
        )
        con.execute("DELETE FROM generations WHERE rowid = ANY($rows::BIGINT[])", {"rows": reached})
        con.execute("INSERT INTO generations BY NAME SELECT * FROM reached_broadcast")
        con.execute("DROP TABLE reached_broadcast")
    if tags:
        con.register(
            "incoming_tags",
            pa.table(
                {
                    "seq": pa.array([t[0] for t in tags], pa.int64()),
                    "key": pa.array([t[1] for t in tags], pa.string()),
                    "value": pa.array([t[2] for t in tags], pa.string()),
                }
            ),
        )
        try:
            # Tags of the generations whose first delivery this batch holds, and only that delivery's.
            con.execute(
                """INSERT OR IGNORE INTO generation_tags
                   SELECT DISTINCT ON (b.id, t.key) b.id, t.key, t.value
                   FROM incoming_tags t JOIN batch_broadcast b ON b.seq = t.seq
                   WHERE NOT list_contains($delivered::VARCHAR[], b.id)""",
                {"delivered": delivered},
            )
        finally:
            con.unregister("incoming_tags")
    con.execute("DROP TABLE batch_broadcast")
    return Merged(new=new, filled=len(reached), duplicates=len(delivered) + len(rows) - batch)


def link_key_names(con: duckdb.DuckDBPyConnection, since: datetime) -> int:
    """Give records received since ``since`` the hash of their key's name, where exactly one key (deleted
    ones included) has that name: a shared name stays unattributed rather than guessed (as for the export)."""
    row = con.execute(
        """UPDATE generations SET api_key_hash = k.hash
           FROM (SELECT name, any_value(hash) AS hash FROM api_keys GROUP BY name HAVING count(*) = 1) k
           WHERE generations.received_at >= ? AND generations.api_key_hash IS NULL
             AND generations.api_key_name = k.name""",
        [since],
    ).fetchall()[0]
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Receipt:
    """What the receiver got on one UTC day (of receipt)."""

    day: date
    deliveries: int
    spans: int
    without_id: int
    without_time: int
    new_generations: int
    duplicates: int
    tags_dropped: int
    last_received_at: datetime


def add_receipts(con: duckdb.DuckDBPyConnection, receipts: Sequence[Receipt]) -> None:
    for r in receipts:
        con.execute(
            """INSERT INTO broadcast_receipts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (day) DO UPDATE SET
                   deliveries = broadcast_receipts.deliveries + excluded.deliveries,
                   spans = broadcast_receipts.spans + excluded.spans,
                   without_id = broadcast_receipts.without_id + excluded.without_id,
                   without_time = broadcast_receipts.without_time + excluded.without_time,
                   new_generations = broadcast_receipts.new_generations + excluded.new_generations,
                   duplicates = broadcast_receipts.duplicates + excluded.duplicates,
                   tags_dropped = broadcast_receipts.tags_dropped + excluded.tags_dropped,
                   last_received_at = greatest(broadcast_receipts.last_received_at, excluded.last_received_at)""",
            [
                r.day,
                r.deliveries,
                r.spans,
                r.without_id,
                r.without_time,
                r.new_generations,
                r.duplicates,
                r.tags_dropped,
                r.last_received_at,
            ],
        )


# ---- destinations ----------------------------------------------------------------------------------------

DESTINATION_COLUMNS = (
    "id",
    "name",
    "type",
    "enabled",
    "sampling_rate",
    "privacy_mode",
    "broadcast_generation_cost",
    "broadcast_generation_identity",
    "broadcast_generation_request_context",
    "api_key_hashes",
    "has_filter_rules",
    "workspace_id",
    "created_at",
    "updated_at",
)


def replace_destinations(
    con: duckdb.DuckDBPyConnection, rows: Sequence[Mapping[str, Any]], fetched_at: datetime
) -> None:
    """Make the current account's ``broadcast_destinations`` exactly what the API listed now (rows keyed by
    ``DESTINATION_COLUMNS``)."""
    con.execute(f"DELETE FROM broadcast_destinations WHERE account = {CURRENT}")  # noqa: S608 -- a constant
    for row in rows:
        con.execute(
            f"INSERT INTO broadcast_destinations ({', '.join(DESTINATION_COLUMNS)}, fetched_at) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in DESTINATION_COLUMNS)}, ?)",
            [*(row.get(c) for c in DESTINATION_COLUMNS), fetched_at],
        )


@dataclass(frozen=True)
class Destination:
    id: str
    name: str | None
    type: str
    enabled: bool
    sampling_rate: float
    privacy_mode: bool
    cost: bool
    identity: bool
    request_context: bool
    api_key_hashes: tuple[str, ...] | None
    has_filter_rules: bool
    fetched_at: datetime

    def label(self) -> str:
        return f"{self.name or self.id} ({self.type})"

    def groups(self) -> str:
        on = [name for name, flag in (("cost", self.cost), ("identity", self.identity),
                                      ("request context", self.request_context)) if flag]  # fmt: skip
        return ", ".join(on) or "none"

    def warnings(self) -> list[str]:
        """What these settings cost the live feed, in words a user can act on (Settings › Observability)."""
        out = []
        if not self.enabled:
            out.append("the destination is disabled: nothing is sent")
        if not self.privacy_mode:
            out.append(
                "Privacy Mode is off: prompts and completions are sent to the receiver (dropped there); turn it on"
            )
        missing = [
            f"{name} ({what})"
            for name, flag, what in (
                ("Cost", self.cost, "usage, BYOK"),
                ("Identity", self.identity, "app, origin, workspace"),
                ("Request context", self.request_context, "API type, streaming, latency"),
            )
            if not flag
        ]
        if missing:
            out.append("generation metadata not sent: " + "; ".join(missing))
        if self.has_filter_rules:
            out.append("filter rules forward only some traces: missing traces are counted against all of them")
        return out


def destinations(con: duckdb.DuckDBPyConnection) -> list[Destination]:
    rows = con.execute(
        """SELECT id, name, type, enabled, sampling_rate, privacy_mode, broadcast_generation_cost,
                  broadcast_generation_identity, broadcast_generation_request_context, api_key_hashes,
                  has_filter_rules, fetched_at
           FROM broadcast_destinations ORDER BY enabled DESC, name, id"""
    ).fetchall()
    return [
        Destination(
            id=r[0],
            name=r[1],
            type=r[2],
            enabled=r[3],
            sampling_rate=float(r[4]),
            privacy_mode=r[5],
            cost=r[6],
            identity=r[7],
            request_context=r[8],
            api_key_hashes=tuple(r[9]) if r[9] is not None else None,
            has_filter_rules=r[10],
            fetched_at=r[11],
        )
        for r in rows
    ]


def choose(found: Sequence[Destination], wanted: str | None) -> tuple[Destination | None, str | None]:
    """The destination the receiver is (by id or name when ``wanted``, else the only enabled one), or None
    and why not. Pure."""
    if wanted:
        match = [d for d in found if wanted in (d.id, d.name)]
        if not match:
            return None, f"no webhook or OpenTelemetry-collector destination is named {wanted!r}"
        return match[0], None
    enabled = [d for d in found if d.enabled]
    if len(enabled) == 1:
        return enabled[0], None
    if not found:
        return None, "OpenRouter lists no webhook or OpenTelemetry-collector destination"
    if not enabled:
        return None, "no webhook or OpenTelemetry-collector destination is enabled"
    return None, (
        f"{len(enabled)} destinations are enabled ({', '.join(d.label() for d in enabled)}): "
        "set ORUSAGE_BROADCAST_DESTINATION to the receiver's name or id"
    )


# ---- received against expected ------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceDay:
    """One UTC day: the requests analytics counted (of the destination's keys), the share Broadcast
    samples, and the generations received."""

    date: date
    counted: int | None  # None: analytics does not hold the day (yet)
    sampling_rate: float
    received: int

    @property
    def expected(self) -> float | None:
        return None if self.counted is None else self.counted * self.sampling_rate

    @property
    def missing(self) -> int | None:
        if self.expected is None:
            return None
        return max(0, round(self.expected) - self.received)


def first_received_day(con: duckdb.DuckDBPyConnection) -> date | None:
    row = con.execute("SELECT min(CAST(created_at AS DATE)) FROM generations WHERE received_at IS NOT NULL").fetchall()[
        0
    ]
    return row[0] if row else None


def trace_days(
    con: duckdb.DuckDBPyConnection, first: date, last: date, sampling_rate: float, key_hashes: Sequence[str] | None
) -> list[TraceDay]:
    """Per UTC day ``first..last``: analytics' request count (account-wide, or of ``key_hashes`` only: the
    destination forwards those keys' traffic alone) and the generations received through Broadcast."""
    rows = con.execute(
        """WITH days AS (SELECT CAST(unnest(generate_series(?::DATE, ?::DATE, INTERVAL 1 DAY)) AS DATE) AS date),
           held AS (SELECT DISTINCT d AS date FROM (
                        SELECT unnest(generate_series(first_day, last_day, INTERVAL 1 DAY))::DATE AS d
                        FROM coverage WHERE source = 'analytics' AND metrics = 'long'
                          AND dimensions = CASE WHEN ? THEN 'api_key_hash,model' ELSE 'model' END
                          AND (NOT ? OR list_contains(?::VARCHAR[], scope)))),
           counted AS (SELECT date, CAST(sum(request_count) AS BIGINT) AS n FROM analytics_daily
                       WHERE dimensions = CASE WHEN ? THEN 'api_key_hash,model' ELSE 'model' END
                         AND date BETWEEN ? AND ? AND (NOT ? OR list_contains(?::VARCHAR[], api_key_hash))
                       GROUP BY date),
           received AS (SELECT CAST(created_at AS DATE) AS date, count(*) AS n FROM generations
                        WHERE received_at IS NOT NULL AND created_at >= ?::DATE
                          AND created_at < ?::DATE + INTERVAL 1 DAY GROUP BY ALL)
           SELECT days.date, CASE WHEN held.date IS NOT NULL OR counted.n IS NOT NULL THEN coalesce(counted.n, 0) END,
                  coalesce(received.n, 0)
           FROM days LEFT JOIN held USING (date) LEFT JOIN counted USING (date) LEFT JOIN received USING (date)
           ORDER BY days.date""",
        [
            first,
            last,
            key_hashes is not None,
            key_hashes is not None,
            list(key_hashes or []),
            key_hashes is not None,
            first,
            last,
            key_hashes is not None,
            list(key_hashes or []),
            first,
            last,
        ],
    ).fetchall()
    return [TraceDay(r[0], None if r[1] is None else int(r[1]), sampling_rate, int(r[2])) for r in rows]


@dataclass(frozen=True)
class ReceiptTotals:
    deliveries: int
    spans: int
    without_id: int
    without_time: int
    new_generations: int
    duplicates: int
    tags_dropped: int
    last_received_at: datetime | None


def receipt_totals(con: duckdb.DuckDBPyConnection) -> ReceiptTotals:
    row = con.execute(
        """SELECT coalesce(sum(deliveries), 0), coalesce(sum(spans), 0), coalesce(sum(without_id), 0),
                  coalesce(sum(without_time), 0), coalesce(sum(new_generations), 0), coalesce(sum(duplicates), 0),
                  coalesce(sum(tags_dropped), 0), max(last_received_at)
           FROM broadcast_receipts"""
    ).fetchall()[0]
    assert row is not None
    deliveries, spans, without_id, without_time, new, duplicates, dropped = (int(v) for v in row[:7])
    return ReceiptTotals(deliveries, spans, without_id, without_time, new, duplicates, dropped, row[7])


# ---- the Generations page ------------------------------------------------------------------------------


def tag_pairs(con: duckdb.DuckDBPyConnection, start: date, end: date, limit: int = 200) -> tuple[str, ...]:
    """``key=value`` pairs of the period's generations, most frequent first (the tag filter's options)."""
    rows = con.execute(
        """SELECT t.key || '=' || t.value FROM generation_tags t JOIN generations g USING (id)
           WHERE g.created_at >= ?::DATE AND g.created_at < ?::DATE + INTERVAL 1 DAY
           GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT ?""",
        [start, end, limit],
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def latest_received(con: duckdb.DuckDBPyConnection, limit: int = 20) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The newest generations Broadcast delivered (time, id, model, key, tokens, spend, tags), newest first."""
    rel = con.sql(
        """SELECT g.received_at, g.created_at, g.id, coalesce(g.model_permaslug, g.model) AS model,
                  coalesce(k.name, g.api_key_name) AS api_key, g.provider_name AS provider,
                  coalesce(g.tokens_prompt, g.native_tokens_prompt, 0)
                      + coalesce(g.tokens_completion, g.native_tokens_completion, 0) AS tokens,
                  coalesce(g.usage, g.total_cost, 0) + coalesce(g.byok_usage_inference, 0) AS spend,
                  (SELECT string_agg(t.key || '=' || t.value, ', ' ORDER BY t.key) FROM generation_tags t
                   WHERE t.id = g.id) AS tags,
                  g.source
           FROM generations g LEFT JOIN api_keys k ON k.hash = g.api_key_hash
           WHERE g.received_at IS NOT NULL ORDER BY g.received_at DESC, g.created_at DESC, g.id LIMIT ?""",
        params=[limit],
    )
    return list(rel.columns), rel.fetchall()


@dataclass(frozen=True)
class LiveFeed:
    """The Generations page's live panel: today's deliveries and the newest records received."""

    today: int  # generations Broadcast delivered today (UTC, by time of receipt)
    last_received_at: datetime | None
    ever: int  # generations Broadcast ever delivered
    latest: pd.DataFrame  # ``latest_received``'s columns, newest first


def live_feed(con: duckdb.DuckDBPyConnection, today: date, limit: int) -> LiveFeed | None:
    """None on a snapshot from before migration 0006."""
    import pandas as pd

    if not has_broadcast(con):
        return None
    count, last = received_today(con, today)
    ever = con.execute("SELECT count(received_at) FROM generations").fetchall()[0]
    columns, rows = latest_received(con, limit)
    return LiveFeed(count, last, int(ever[0]) if ever else 0, pd.DataFrame(rows, columns=columns))


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Give a snapshot published before migration 0006 an empty (temporary) ``generation_tags``, so the
    Generations page's reads have one code path."""
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'generation_tags'").fetchall()[0]
    if not (row and row[0]):
        con.execute("CREATE TEMP TABLE generation_tags (id VARCHAR, key VARCHAR, value VARCHAR)")


def maybe_trace_report(con: duckdb.DuckDBPyConnection, today: date, wanted: str | None) -> TraceReport | None:
    return trace_report(con, today, wanted) if has_broadcast(con) else None


def received_today(con: duckdb.DuckDBPyConnection, today: date) -> tuple[int, datetime | None]:
    """How many generations Broadcast delivered today (UTC, by time of receipt), and the last one's time."""
    row = con.execute(
        """SELECT count(*), max(received_at) FROM generations
           WHERE received_at >= ?::DATE AND received_at < ?::DATE + INTERVAL 1 DAY""",
        [today, today],
    ).fetchall()[0]
    assert row is not None
    return int(row[0]), row[1]


@dataclass(frozen=True)
class TraceReport:
    """Everything Data health and `orusage status` say about the live feed."""

    destinations: list[Destination]
    destination: Destination | None  # the receiver's, when it can be told
    note: str | None  # why none could be
    days: list[TraceDay]  # completed UTC days since the first generation received
    totals: ReceiptTotals
    received: int  # generations Broadcast delivered
    broadcast_only: int  # … that no other source has

    @property
    def missing(self) -> int:
        return sum(d.missing or 0 for d in self.days)


def trace_report(con: duckdb.DuckDBPyConnection, today: date, wanted: str | None = None) -> TraceReport:
    found = destinations(con)
    chosen, note = choose(found, wanted)
    first = first_received_day(con)
    last = today - timedelta(days=1)
    rate = chosen.sampling_rate if chosen else 1.0
    keys = chosen.api_key_hashes if chosen else None
    days = trace_days(con, first, last, rate, keys) if first is not None and first <= last else []
    row = con.execute(
        f"SELECT count(received_at), count(*) FILTER (WHERE source = '{BROADCAST}') FROM generations"  # noqa: S608
    ).fetchall()[0]
    assert row is not None
    return TraceReport(found, chosen, note, days, receipt_totals(con), int(row[0]), int(row[1]))
