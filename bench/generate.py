# ruff: noqa: S608 -- every statement here is built from this module's own constants, never from input
"""A large synthetic account, built by DuckDB itself and written through the project's own store.

``build(rows, seed)`` makes ``rows`` generation records spread over a year (busier towards the end), across
300 models (plus 100 listed but unused), 40 providers, 200 apps, 50 API keys (plus a deleted, a disabled and
an expired one), 3 workspaces, 7 organization members (key k's creator is member k % 7), 40 end users and
teams of every rule in ``cost_centres``. Every column is a pure function of (row number, seed) through DuckDB's
``hash()``, so a build is deterministic and set-based: ``range()`` + ``INSERT … SELECT``, no Python loop per
row.

The daily facts are aggregates of those generations, so the dashboard (which reads the facts) and a pandas
computation over the generation rows must give the same answers:

* ``activity`` and ``activity_by_key``: the last 30 days (the store started 30 days ago), per endpoint;
* ``analytics_daily``: a year for the groupings ``model``, ``model,app``, ``api_key_hash,model``, ``user``,
  ``model,user`` and ``workspace``, 31 days for ``model,provider``, ``external_user`` and
  ``model,external_user``; latency/throughput percentiles on the last 31 days only;
* ``coverage`` as a year's backfill 30 days ago plus a daily run since, ``ingest_runs``, ``credits``,
  ``api_key_snapshots`` and ``model_endpoints`` as hourly runs over those 30 days would leave them;
* ``models`` with a price change on ~40 % of the models (costs use the price in force on the day);
* ``generations``, when the migration that creates it exists, with the columns it declares.

It opens ``queries.store.Writer`` (so migrations and views apply), inserts in a few transactions and lets
the writer publish the snapshot. Builds are cached under ``bench/.cache/`` keyed by size, seed, this
generator's version and the migrations' text. The generation rows are also written to Parquet beside the
store, for the pandas baseline. "Today" is pinned to ``ANCHOR`` (readers get it through ``ORUSAGE_TODAY``).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from queries import rollups
from queries.store import Writer, snapshot_path

GENERATOR_VERSION = 8
CHUNK_ROWS = 12_500_000  # generations drawn at a time
CACHE = Path(__file__).resolve().parent / ".cache"
ANCHOR = datetime(2026, 11, 20, 12, 0)  # "now" of every built store: a Friday, naive UTC
TODAY = ANCHOR.date()
DAYS = 365  # days of generations, ending yesterday
STORE_DAYS = 30  # the store's age: activity and hourly runs reach back this far
SHORT_DAYS = 31  # analytics latency/throughput and the model,provider grouping
N_MODELS, N_LISTED, N_PROVIDERS, N_APPS, N_KEYS, N_WORKSPACES = 300, 100, 40, 200, 50, 3
N_MEMBERS, N_END_USERS = 7, 40  # a key's creator is member k % 7; end users are drawn per request
SEP = "\x1f"  # analytics dim_key separator (ingest.analytics.transform.KEY_SEPARATOR)
NONE_IN_KEY = "\x00"

AUTHORS = ("openai", "anthropic", "google", "meta-llama", "mistralai", "deepseek", "qwen", "x-ai", "cohere",
           "nvidia", "microsoft", "amazon")  # fmt: skip
PROVIDERS = ("OpenAI", "Anthropic", "Google", "Google AI Studio", "Amazon Bedrock", "Azure", "Groq", "Together",
             "Fireworks", "DeepInfra", "Lambda", "Novita", "Mistral", "Cohere", "xAI", "DeepSeek", "Cerebras",
             "SambaNova", "Hyperbolic", "Nebius", "Parasail", "Chutes", "Baseten", "Friendli", "Lepton",
             "Replicate", "Avian", "Inference.net", "Crusoe", "Nineteen", "Targon", "Kluster", "AtlasCloud",
             "Phala", "GMICloud", "Cloudflare", "Perplexity", "Moonshot AI", "Alibaba", "Z.AI")  # fmt: skip
WORKSPACES = ("Default", "Research", "Production")
assert len(PROVIDERS) == N_PROVIDERS and len(WORKSPACES) == N_WORKSPACES


@dataclass(frozen=True)
class Built:
    """A cached store: ``db`` (its snapshot beside it), the generation rows as Parquet, and counts.
    ``build_seconds`` is the store's (drawn, written, checkpointed, snapshot published); the Parquet copy
    for the pandas baseline is timed apart, in ``parquet_seconds``."""

    rows: int
    seed: int
    db: str
    parquet: str
    build_seconds: float
    file_mb: float
    tables: dict[str, int]
    today: str
    defaulted_columns: list[str]
    parquet_seconds: float = 0.0

    @property
    def db_path(self) -> Path:
        return Path(self.db)

    @property
    def snapshot(self) -> Path:
        return snapshot_path(Path(self.db))


def _schema_digest() -> str:
    text = "".join(
        entry.read_text("utf-8")
        for entry in sorted(resources.files("queries").joinpath("migrations").iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".sql")
    )
    return hashlib.sha256(f"{GENERATOR_VERSION}\n{text}".encode()).hexdigest()[:10]


def cache_dir(rows: int, seed: int, cache: Path = CACHE) -> Path:
    return cache / f"store-{rows}-s{seed}-{_schema_digest()}"


def label(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else f"{rows // 1000}k"


def _cached(folder: Path) -> Built | None:
    meta = folder / "meta.json"
    if not meta.exists():
        return None
    built = Built(**json.loads(meta.read_text()))
    return built if built.snapshot.exists() and (not built.parquet or Path(built.parquet).exists()) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def chunks(rows: int) -> list[tuple[int, int]]:
    """Day ranges [first, end) holding about ``CHUNK_ROWS`` generations each: a store is drawn one at a time, so
    100 M rows never sit in memory at once. Days are never split, so every day's facts come from one chunk."""
    count = max(1, -(-rows // CHUNK_ROWS))
    # Day d starts at row rows × (d / DAYS)²: equal shares of rows are equal shares of sqrt(days).
    bounds = sorted({0, DAYS, *(min(DAYS, round(DAYS * math.sqrt(k / count))) for k in range(1, count))})
    return list(itertools.pairwise(bounds))


def build(
    rows: int, seed: int = 7, *, force: bool = False, log: Any = print, parquet: bool = True, cache: Path = CACHE
) -> Built:
    """The store for (rows, seed), built once and then taken from the cache. ``parquet``: also write the
    generation rows as Parquet, for the pandas baseline (a directory of parts above ``CHUNK_ROWS`` rows).

    Several people's benchmarks share ``bench/.cache``: a store is built in a folder of its own and renamed
    into place when complete, so a second build of the same store never deletes one in progress (which
    left a snapshot without rows) and the first to finish is the one kept. ``cache``: another folder (the
    tests build a small store of their own)."""
    folder = cache_dir(rows, seed, cache)
    if not force and (cached := _cached(folder)) is not None:
        return cached
    for old in cache.glob(f"store-{rows}-s{seed}-*.building-*"):  # builds whose process is gone
        if not _alive(int(old.name.rpartition("-")[2])):
            shutil.rmtree(old, ignore_errors=True)
    work = folder.with_name(f"{folder.name}.building-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "orusage.duckdb"
    parquet_wanted = parquet
    parquet = work / "generations.parquet"
    if parquet_wanted and rows > CHUNK_ROWS:
        parquet.mkdir()
    log(f"building the {label(rows)} store (seed {seed}) in {work} …")
    started = time.perf_counter()
    parquet_seconds = 0.0
    with Writer(db) as writer:
        con = writer.con
        # The writer's memory limit is for users' runs; drawing 10 M rows under it would spill them to disk.
        con.execute("RESET memory_limit")
        _dimensions(con, seed)
        defaulted: list[str] | None = None
        spans = chunks(rows)
        for n, (d0, d1) in enumerate(spans):
            t = time.perf_counter()
            _generations(con, rows, seed, d0, d1)
            drawn = time.perf_counter() - t
            for step in (_activity, _analytics, _store_generations):
                with writer.transaction() as tx:
                    found = step(tx)
                    if step is _store_generations:
                        defaulted = found
            parts = _KEY_PARTS.format(rows="bgv")
            con.execute(f"INSERT INTO b_key_parts {parts}" if n else f"CREATE TEMP TABLE b_key_parts AS {parts}")
            if parquet_wanted:
                t_parquet = time.perf_counter()
                _export_parquet(con, parquet if len(spans) == 1 else parquet / f"part-{n:03d}.parquet")
                parquet_seconds += time.perf_counter() - t_parquet
            con.execute("DROP TABLE bg")
            log(
                f"  days {d0}..{d1 - 1}: rows drawn in {drawn:.1f} s; activity, analytics and generations stored "
                f"in {time.perf_counter() - t - drawn:.1f} s"
            )
        t = time.perf_counter()
        with writer.transaction() as tx:
            _account(tx)
        log(f"  keys, credits, models, runs, coverage in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        with writer.transaction() as tx:
            rollups.refresh_all(tx)  # the facts above were written with plain SQL, not through queries.writes
        log(f"  rollups in {time.perf_counter() - t:.1f} s")
        if parquet_wanted:
            log(f"  Parquet for the pandas baseline in {parquet_seconds:.1f} s (not part of the store's time)")
        tables = _counts(con)
        for temp in ("b_models", "b_endpoints", "b_providers", "b_apps", "b_keys", "b_key_parts"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    seconds = time.perf_counter() - started
    built = Built(
        rows=rows,
        seed=seed,
        db=str(folder / db.name),
        parquet=str(folder / parquet.name) if parquet_wanted else "",
        build_seconds=round(seconds - parquet_seconds, 1),
        file_mb=round(db.stat().st_size / 2**20, 1),
        tables=tables,
        today=TODAY.isoformat(),
        defaulted_columns=defaulted or [],
        parquet_seconds=round(parquet_seconds, 1),
    )
    (work / "meta.json").write_text(json.dumps(asdict(built), indent=2))
    log(f"  store built in {built.build_seconds:.1f} s ({seconds:.1f} s with the Parquet), {built.file_mb:,.0f} MB")
    if folder.exists() and (force or _cached(folder) is None):
        shutil.rmtree(folder, ignore_errors=True)  # replaced, or left incomplete by a build of an older version
    try:
        work.rename(folder)
    except OSError:  # another build of the same store finished first: keep that one
        shutil.rmtree(work, ignore_errors=True)
        if (cached := _cached(folder)) is None:
            raise
        return cached
    for stale in cache.glob(f"store-{rows}-s{seed}-*"):  # other schema versions of this size
        if stale != folder and ".building-" not in stale.name:
            shutil.rmtree(stale, ignore_errors=True)
    return built


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
        "ORDER BY table_name").fetchall()]  # fmt: skip
    counts: dict[str, int] = {}
    for name in names:
        row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


# ---- dimensions -----------------------------------------------------------------------------------------


def _dimensions(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    s = seed * 1000
    # A uniform number in [0, 1) from (row, salt): DuckDB's hash, so it is the same on every run.
    con.execute("CREATE OR REPLACE TEMP MACRO bu(i, salt) AS (hash(i * 100003 + salt) % 4294967296) / 4294967296.0")
    first_day = TODAY - timedelta(days=DAYS)
    con.execute(
        f"""CREATE TEMP TABLE b_models AS
            WITH m AS (SELECT range AS m FROM range({N_MODELS + N_LISTED})),
                 a AS (SELECT unnest(?::VARCHAR[]) AS author, generate_subscripts(?::VARCHAR[], 1) - 1 AS ai)
            SELECT m.m, a.author,
                   a.author || '/model-' || lpad(m.m::VARCHAR, 3, '0') AS slug,
                   CASE WHEN m.m % 3 = 0 THEN a.author || '/model-' || lpad(m.m::VARCHAR, 3, '0')
                        ELSE a.author || '/model-' || lpad(m.m::VARCHAR, 3, '0') || '-2025'
                             || lpad((101 + m.m % 1100)::VARCHAR, 4, '0') END AS permaslug,
                   'Model ' || m.m AS name,
                   m.m % 5 = 0 AS is_reasoning,
                   (0.05 + 15 * pow(bu(m.m, {s + 1}), 2)) * 1e-6 AS p_in,
                   2 + 3 * bu(m.m, {s + 2}) AS out_ratio,
                   1 + floor(4 * pow(bu(m.m, {s + 3}), 2))::INT AS n_ep,
                   CASE WHEN bu(m.m, {s + 4}) < 0.4 THEN floor({DAYS} * bu(m.m, {s + 5}))::INT END AS change_day,
                   0.7 + 0.6 * bu(m.m, {s + 6}) AS old_factor,
                   (16 + floor(8 * bu(m.m, {s + 7})))::INT * 8192 AS context_length
            FROM m JOIN a ON a.ai = m.m % {len(AUTHORS)}""",
        [list(AUTHORS), list(AUTHORS)],
    )
    con.execute(
        """CREATE TEMP TABLE b_providers AS
            SELECT generate_subscripts(?::VARCHAR[], 1) - 1 AS p, unnest(?::VARCHAR[]) AS provider""",
        [list(PROVIDERS), list(PROVIDERS)],
    )
    con.execute(
        f"""ALTER TABLE b_providers ADD COLUMN mult DOUBLE;
            UPDATE b_providers SET mult = 0.85 + 0.3 * bu(p, {s + 8});
            ALTER TABLE b_providers ADD COLUMN speed DOUBLE;
            UPDATE b_providers SET speed = 0.6 + 0.8 * bu(p, {s + 9});"""
    )
    con.execute(
        f"""CREATE TEMP TABLE b_endpoints AS
            SELECT bm.m, j.j, (bm.m * 7 + j.j * 11 + floor(40 * bu(bm.m, {s + 10}))::INT) % {N_PROVIDERS} AS p
            FROM b_models bm, (SELECT range AS j FROM range(4)) j WHERE j.j < bm.n_ep"""
    )
    con.execute(
        """ALTER TABLE b_endpoints ADD COLUMN endpoint_id VARCHAR;
           UPDATE b_endpoints SET endpoint_id = 'ep-' || m || '-' || p;"""
    )
    con.execute(
        f"""CREATE TEMP TABLE b_apps AS
            SELECT range AS a, CASE WHEN range = 0 THEN 'unattributed' ELSE 'app-' || lpad(range::VARCHAR, 3, '0') END
                   AS app
            FROM range({N_APPS})"""
    )
    # Keys 0..49 carry traffic; 50 is deleted, 51 disabled, 52 expired.
    con.execute(
        f"""CREATE TEMP TABLE b_keys AS
            SELECT range AS k, sha256('bench-key-{seed}-' || range) AS key_hash,
                   'key-' || lpad(range::VARCHAR, 2, '0') AS key_name, range % {N_WORKSPACES} AS w,
                   list_extract(?::VARCHAR[], range % {N_WORKSPACES} + 1) AS workspace
            FROM range({N_KEYS + 3})""",
        [list(WORKSPACES)],
    )
    con.execute(f"CREATE OR REPLACE TEMP MACRO first_day() AS DATE '{first_day.isoformat()}'")


def _generations(con: duckdb.DuckDBPyConnection, rows: int, seed: int, first_day: int, end_day: int) -> None:
    """``bg``: one row per generation of days [first_day, end_day) with integer dimensions and its numbers, in
    time order. A row's values depend on its number alone, so drawing in chunks changes nothing."""
    s = seed * 1000 + 100
    # The rows those days hold, give or take a row of rounding: the exact test on ``d`` below decides.
    low = max(0, math.floor(rows * (first_day / DAYS) ** 2) - 2)
    high = rows if end_day >= DAYS else min(rows, math.ceil(rows * (end_day / DAYS) ** 2) + 2)
    con.execute(
        f"""CREATE TEMP TABLE bg AS
            WITH w0 AS (
                SELECT range AS i,
                       -- Time grows with the row number (rows come out in time order, no sort), at a density
                       -- growing linearly over the year: recent days are the busiest.
                       least({DAYS - 1}, floor({DAYS} * sqrt((range + 0.5) / {rows})))::INT AS d,
                       least(86399, floor(86400 * ({DAYS} * sqrt((range + 0.5) / {rows}) - d)))::INT AS sec,
                       least({N_KEYS - 1}, floor({N_KEYS} * pow(bu(range, {s + 5}), 2)))::INT AS k,
                       bu(range, {s + 3}) AS u_m, bu(range, {s + 4}) AS u_a,
                       bu(range, {s + 6}) AS u_ep, bu(range, {s + 7}) AS u_pt, bu(range, {s + 8}) AS u_ct,
                       bu(range, {s + 9}) AS u_rs, bu(range, {s + 10}) AS u_cache, bu(range, {s + 11}) AS u_byok,
                       bu(range, {s + 12}) AS u_lat, bu(range, {s + 13}) AS u_tps, bu(range, {s + 14}) AS u_fin,
                       least({N_END_USERS - 1}, floor({N_END_USERS} * pow(bu(range, {s + 15}), 2)))::INT AS e
                FROM range({low}, {high})),
            w AS (SELECT * FROM w0 WHERE d >= {first_day} AND d < {end_day}),
            v AS (
                -- Each key serves a few apps (95 %), each app a pool of 6 models (97 %): traffic is clustered
                -- as in a real account, not spread over every model × app × key.
                SELECT w.*,
                       CASE WHEN u_a < 0.95 THEN k * 4 + floor(4 * pow(u_a / 0.95, 2))::INT
                            ELSE least({N_APPS - 1}, floor({N_APPS} * pow((u_a - 0.95) / 0.05, 2.5)))::INT END AS a
                FROM w),
            x AS (
                SELECT v.*,
                       CASE WHEN u_m < 0.97
                            THEN least({N_MODELS - 1}, floor({N_MODELS} * pow(bu(a * 8 + floor(6 * pow(u_m / 0.97,
                                 1.5))::INT, {s + 50}), 2.5)))::INT
                            ELSE least({N_MODELS - 1}, floor({N_MODELS} * pow((u_m - 0.97) / 0.03, 2.5)))::INT
                       END AS m
                FROM v),
            y AS (
                SELECT x.*, e.p, bm.is_reasoning,
                       CASE WHEN x.d < bm.change_day THEN bm.p_in * bm.old_factor ELSE bm.p_in END AS pin,
                       bm.out_ratio, pr.mult, pr.speed,
                       (50 + floor(6000 * x.u_pt * x.u_pt))::BIGINT AS prompt,
                       (10 + floor(1500 * x.u_ct * x.u_ct))::BIGINT AS completion
                FROM x JOIN b_models bm ON bm.m = x.m
                     JOIN b_endpoints e ON e.m = x.m AND e.j = floor(x.u_ep * bm.n_ep)::INT
                     JOIN b_providers pr ON pr.p = e.p)
            SELECT i, d, sec, m, a, k, p, e,
                   prompt, completion,
                   CASE WHEN is_reasoning THEN floor(completion * (0.3 + 0.6 * u_rs))::BIGINT ELSE 0 END AS reasoning,
                   CASE WHEN u_cache < 0.35 THEN floor(prompt * 0.9 * u_cache / 0.35)::BIGINT ELSE 0 END AS cached,
                   (prompt * pin + completion * pin * out_ratio) * mult AS full_cost,
                   CASE WHEN u_cache < 0.35 THEN floor(prompt * 0.9 * u_cache / 0.35) ELSE 0 END
                       * pin * 0.75 * mult AS cache_discount,
                   u_byok < 0.04 AS is_byok,
                   (150 + floor(2500 * u_lat * u_lat) / speed)::DOUBLE AS latency,
                   (20 + 80 * u_tps) * speed AS tps,
                   CASE WHEN u_fin < 0.8 THEN 'stop' WHEN u_fin < 0.9 THEN 'tool_calls' WHEN u_fin < 0.97 THEN 'length'
                        WHEN u_fin < 0.99 THEN 'content_filter' ELSE 'error' END AS finish_reason
            FROM y"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP VIEW bgv AS
           SELECT *, full_cost - cache_discount AS total_cost,
                  CASE WHEN is_byok THEN (full_cost - cache_discount) * 0.05 ELSE full_cost - cache_discount END
                      AS usage,
                  CASE WHEN is_byok THEN full_cost - cache_discount ELSE 0 END AS byok,
                  latency + 1000.0 * completion / tps AS generation_time,
                  first_day() + d AS date
           FROM bg"""
    )


# ---- daily facts ----------------------------------------------------------------------------------------

_SUMS = """count(*) AS requests, sum(prompt) AS prompt, sum(completion) AS completion, sum(reasoning) AS reasoning,
           sum(cached) AS cached, sum(usage) AS usage, sum(byok) AS byok, sum(total_cost) AS total_cost,
           count(*) FILTER (WHERE is_byok) AS byok_requests"""


def _into(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """``INSERT INTO table (its columns)``: the statements below list their values in the table's order; the
    ``account`` column (one account here) is left to its default."""
    names = [
        str(r[0])
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND NOT internal "
            "AND database_name = current_database() ORDER BY column_index",
            [table],
        ).fetchall()
        if r[0] != "account"
    ]
    return f"INSERT INTO {table} ({', '.join(chr(34) + n + chr(34) for n in names)})"


def _activity(con: duckdb.DuckDBPyConnection) -> None:
    since = DAYS - STORE_DAYS
    for table, by_key in (("activity", False), ("activity_by_key", True)):
        key_value = "k.key_hash, " if by_key else ""
        key_group = ", k" if by_key else ""
        key_join = "JOIN b_keys k ON k.k = g.k" if by_key else ""
        con.execute(
            f"""{_into(con, table)}
                SELECT first_day() + g.d, {key_value}bm.slug, bm.permaslug, e.endpoint_id, pr.provider,
                       g.requests, g.prompt, g.completion, g.reasoning, g.usage, g.byok, ?
                FROM (SELECT d, m, p{key_group}, {_SUMS} FROM bgv WHERE d >= {since} GROUP BY ALL) g
                JOIN b_models bm ON bm.m = g.m JOIN b_providers pr ON pr.p = g.p
                JOIN b_endpoints e ON e.m = g.m AND e.p = g.p {key_join}
                ORDER BY 1, 2, 3, 4""",
            [ANCHOR - timedelta(minutes=3)],
        )


# (grouping, integer keys in bg, joins, dimension column expressions, dim_key expression, days)
_GROUPINGS: tuple[tuple[str, str, str, dict[str, str], str, int], ...] = (
    ("model", "m", "JOIN b_models bm ON bm.m = g.m", {"model": "bm.permaslug"}, "bm.permaslug", DAYS),
    (
        "model,app",
        "m, a",
        "JOIN b_models bm ON bm.m = g.m JOIN b_apps ap ON ap.a = g.a",
        {"model": "bm.permaslug", "app": "ap.app"},
        f"bm.permaslug || '{SEP}' || ap.app",
        DAYS,
    ),
    (
        "api_key_hash,model",
        "k, m",
        "JOIN b_models bm ON bm.m = g.m JOIN b_keys k ON k.k = g.k",
        {"model": "bm.permaslug", "api_key_hash": "k.key_hash"},
        f"k.key_hash || '{SEP}' || bm.permaslug",
        DAYS,
    ),
    (
        "model,provider",
        "m, p",
        "JOIN b_models bm ON bm.m = g.m JOIN b_providers pr ON pr.p = g.p",
        {"model": "bm.permaslug", "provider": "pr.provider"},
        f"bm.permaslug || '{SEP}' || pr.provider",
        SHORT_DAYS,
    ),
    (
        "user",
        "u",
        "",
        {"user": "'user_' || g.u", "user_email": "'member' || g.u || '@bench.example'"},
        "'user_' || g.u",
        DAYS,
    ),
    (
        "model,user",
        "m, u",
        "JOIN b_models bm ON bm.m = g.m",
        {"model": "bm.permaslug", "user": "'user_' || g.u", "user_email": "'member' || g.u || '@bench.example'"},
        f"bm.permaslug || '{SEP}' || 'user_' || g.u",
        DAYS,
    ),
    (
        "external_user",
        "e",
        "",
        {"external_user": "'end-user-' || lpad(g.e::VARCHAR, 2, '0')"},
        "'end-user-' || lpad(g.e::VARCHAR, 2, '0')",
        SHORT_DAYS,
    ),
    (
        "model,external_user",
        "m, e",
        "JOIN b_models bm ON bm.m = g.m",
        {"model": "bm.permaslug", "external_user": "'end-user-' || lpad(g.e::VARCHAR, 2, '0')"},
        f"bm.permaslug || '{SEP}' || 'end-user-' || lpad(g.e::VARCHAR, 2, '0')",
        SHORT_DAYS,
    ),
    (
        "workspace",
        "w",
        "JOIN (SELECT DISTINCT w, workspace FROM b_keys) ws ON ws.w = g.w",
        {"workspace": "ws.workspace"},
        "ws.workspace",
        DAYS,
    ),
)
_DIM_COLUMNS = ("model", "app", "api_key_hash", "provider", "workspace", "user", "user_email", "external_user")


def _analytics(con: duckdb.DuckDBPyConnection) -> None:
    short_since = DAYS - SHORT_DAYS
    for grouping, keys, joins, dims, dim_key, days in _GROUPINGS:
        since = DAYS - days
        source = f"(SELECT bgv.*, k.w, bgv.k % {N_MEMBERS} AS u FROM bgv JOIN b_keys k ON k.k = bgv.k)"
        short = f"d >= {short_since}"
        dim_values = ", ".join(dims.get(c, "NULL") for c in _DIM_COLUMNS)
        con.execute(
            f"""INSERT INTO analytics_daily (date, dimensions, dim_key, {", ".join(f'"{c}"' for c in _DIM_COLUMNS)},
                    request_count, tokens_total, tokens_prompt, tokens_completion, reasoning_tokens, cached_tokens,
                    byok_request_count, total_usage, byok_usage, credits_usage, usage_upstream, usage_cache,
                    usage_data, usage_web, usage_upstream_web, openrouter_usage, byok_fees, usage_file,
                    usage_web_fetch, avg_latency, p50_latency, p90_latency, p99_latency, avg_throughput,
                    p50_throughput, p90_throughput, p99_throughput, cache_hit_rate, guardrail_invoked_count,
                    response_cached_count, ingested_at)
                SELECT first_day() + g.d, '{grouping}', {dim_key}, {dim_values},
                       requests, prompt + completion, prompt, completion, reasoning, cached, byok_requests,
                       usage + byok, byok, usage, total_cost, 0, 0, 0, 0,
                       short_usage, short_fees, short_zero, short_zero, avg_latency, p50_latency, p90_latency,
                       p99_latency, avg_tps, p50_tps, p90_tps, p99_tps, hit_rate, short_zero_i, short_zero_i, ?
                FROM (SELECT d, {keys}, {_SUMS},
                             sum(usage) FILTER (WHERE {short}) AS short_usage,
                             sum(usage - total_cost) FILTER (WHERE {short} AND is_byok) AS short_fees,
                             CASE WHEN d >= {short_since} THEN 0.0 END AS short_zero,
                             CASE WHEN d >= {short_since} THEN 0 END AS short_zero_i,
                             avg(latency) FILTER (WHERE {short}) AS avg_latency,
                             quantile_cont(latency, [0.5, 0.9, 0.99]) FILTER (WHERE {short}) AS lat_q,
                             lat_q[1] AS p50_latency, lat_q[2] AS p90_latency, lat_q[3] AS p99_latency,
                             avg(tps) FILTER (WHERE {short}) AS avg_tps,
                             quantile_cont(tps, [0.5, 0.9, 0.99]) FILTER (WHERE {short}) AS tps_q,
                             tps_q[1] AS p50_tps, tps_q[2] AS p90_tps, tps_q[3] AS p99_tps,
                             avg((cached > 0)::INT) FILTER (WHERE {short}) AS hit_rate
                      FROM {source} WHERE d >= {since} GROUP BY d, {keys}) g
                {joins}
                ORDER BY 1, 3""",
            [ANCHOR - timedelta(minutes=2)],
        )


# ---- the account: keys, credits, models, runs, coverage ------------------------------------------------


# Per key, one chunk's share of yesterday's, the last 7 and 30 days' and the year's spend (summed in _account).
_KEY_PARTS = f"""SELECT k, coalesce(sum(usage) FILTER (WHERE d = {DAYS - 1}), 0) AS day_usage,
                        coalesce(sum(byok) FILTER (WHERE d = {DAYS - 1}), 0) AS day_byok,
                        coalesce(sum(usage) FILTER (WHERE d >= {DAYS - 7}), 0) AS week_usage,
                        coalesce(sum(byok) FILTER (WHERE d >= {DAYS - 7}), 0) AS week_byok,
                        coalesce(sum(usage) FILTER (WHERE d >= {DAYS - 30}), 0) AS month_usage,
                        coalesce(sum(byok) FILTER (WHERE d >= {DAYS - 30}), 0) AS month_byok,
                        sum(usage) AS total_usage, sum(byok) AS total_byok
                 FROM {{rows}} GROUP BY k"""


def _account(con: duckdb.DuckDBPyConnection) -> None:
    store_start = datetime.combine(TODAY - timedelta(days=STORE_DAYS), datetime.min.time())
    # Hourly ingest runs since the store started; about 2 % failed (OpenRouter unavailable).
    con.execute(
        """CREATE TEMP TABLE b_runs AS
           SELECT range AS h, ?::TIMESTAMP + INTERVAL 17 MINUTE + range * INTERVAL 1 HOUR AS started_at
           FROM range(?)""",
        [store_start, STORE_DAYS * 24 + 12],
    )
    con.execute(
        """INSERT INTO ingest_runs (run_id, command, started_at, finished_at, status, units_done, rows_written,
                                    message, duckdb_version)
           SELECT h + 1, 'ingest', started_at, started_at + INTERVAL 41 SECOND,
                  CASE WHEN hash(h) % 50 = 0 THEN 'failed' ELSE 'ok' END,
                  CASE WHEN hash(h) % 50 = 0 THEN 3 ELSE 60 END, 1200 + hash(h) % 800,
                  CASE WHEN hash(h) % 50 = 0 THEN 'OpenRouter unavailable after 4 retries (503)' END, ?
           FROM b_runs WHERE started_at + INTERVAL 41 SECOND <= ?""",
        [duckdb.__version__, ANCHOR],
    )
    con.execute("SELECT setval('ingest_run_ids', (SELECT max(run_id) FROM ingest_runs))")
    con.execute(
        f"""{_into(con, "workspaces")}
           SELECT DISTINCT 'ws_' || w, workspace, lower(workspace), ?::TIMESTAMP, ?::TIMESTAMP, ?::TIMESTAMP,
                  ?::TIMESTAMP FROM b_keys""",
        [store_start - timedelta(days=400), store_start - timedelta(days=400), store_start, ANCHOR],
    )
    # The members who created the keys (key k: member k % 7), as /organization/members lists them.
    con.execute(
        f"""{_into(con, "organization_members")}
            SELECT 'user_' || range, 'Member', 'No. ' || range, 'member' || range || '@bench.example',
                   CASE WHEN range = 0 THEN 'admin' ELSE 'member' END, ?::TIMESTAMP, ?::TIMESTAMP
            FROM range({N_MEMBERS})""",
        [store_start, ANCHOR],
    )
    # Teams as an alerts check leaves them: every rule of the allocation has work (keys, apps on keys of no
    # key team, members by id and by e-mail), and a key claimed twice.
    con.execute(
        """INSERT INTO cost_centres
            SELECT 'platform', 'key', key_hash FROM b_keys WHERE k < 5
            UNION ALL SELECT 'search', 'key', key_hash FROM b_keys WHERE k IN (4, 9)
            UNION ALL SELECT 'support-bots', 'app', app FROM b_apps WHERE a BETWEEN 20 AND 27 OR a IN (150, 160)
            UNION ALL SELECT 'research', 'member', 'user_3'
            UNION ALL SELECT 'research', 'member', 'MEMBER5@bench.example'
            UNION ALL SELECT 'ops', 'member', 'Member No. 6'"""
    )
    # Per key: yesterday's, last 7 and 30 days' and the year's spend, for the /keys counters.
    con.execute(
        """CREATE TEMP TABLE b_key_usage AS
            SELECT k.k, k.key_hash, k.key_name, k.w,
                   coalesce(sum(day_usage), 0) AS day_usage, coalesce(sum(day_byok), 0) AS day_byok,
                   coalesce(sum(week_usage), 0) AS week_usage, coalesce(sum(week_byok), 0) AS week_byok,
                   coalesce(sum(month_usage), 0) AS month_usage, coalesce(sum(month_byok), 0) AS month_byok,
                   coalesce(sum(total_usage), 0) AS total_usage, coalesce(sum(total_byok), 0) AS total_byok
            FROM b_keys k LEFT JOIN b_key_parts p ON p.k = k.k GROUP BY ALL"""
    )
    con.execute(
        """INSERT INTO api_keys (hash, name, label, disabled, "limit", limit_remaining, limit_reset,
                                 include_byok_in_limit, usage, usage_daily, usage_weekly, usage_monthly, byok_usage,
                                 byok_usage_daily, byok_usage_weekly, byok_usage_monthly, created_at, updated_at,
                                 expires_at, creator_user_id, workspace_id, first_seen_at, last_seen_at, deleted_at)
           SELECT key_hash, key_name, 'sk-or-v1-' || left(key_hash, 3) || '...' || right(key_hash, 3),
                  k = 51, CASE WHEN k % 4 = 0 THEN round(month_usage * 1.5 + 10) END,
                  CASE WHEN k % 4 = 0 THEN round(month_usage * 0.5 + 10) END,
                  CASE WHEN k % 8 = 0 THEN 'monthly' WHEN k % 8 = 4 THEN 'weekly' END, k % 12 = 0,
                  total_usage, day_usage, week_usage, month_usage, total_byok, day_byok, week_byok, month_byok,
                  ?::TIMESTAMP - INTERVAL 200 DAY + k * INTERVAL 1 DAY, ?::TIMESTAMP,
                  CASE WHEN k = 52 THEN ?::TIMESTAMP - INTERVAL 3 DAY END,
                  'user_' || (k % 7), 'ws_' || w, ?::TIMESTAMP, ?::TIMESTAMP,
                  CASE WHEN k = 50 THEN ?::TIMESTAMP - INTERVAL 10 DAY END
           FROM b_key_usage""",
        [ANCHOR, ANCHOR - timedelta(days=1), ANCHOR, store_start, ANCHOR, ANCHOR],
    )
    # Every hourly /keys fetch, with "today so far" counters growing through the day.
    con.execute(
        f"""{_into(con, "api_key_snapshots")}
           SELECT r.started_at + INTERVAL 5 SECOND, u.key_hash, u.key_name, 'sk-or-v1-' || left(u.key_hash, 3),
                  u.k = 51, CASE WHEN u.k % 4 = 0 THEN round(u.month_usage * 1.5 + 10) END, NULL,
                  u.total_usage, u.day_usage * f.frac, u.week_usage, u.month_usage,
                  u.total_byok, u.day_byok * f.frac, u.week_byok, u.month_byok
           FROM b_runs r, b_key_usage u,
                LATERAL (SELECT (hour(r.started_at) + 1) / 24.0 AS frac) f
           WHERE r.started_at + INTERVAL 5 SECOND <= ? AND (u.k <> 50 OR r.started_at < ? - INTERVAL 10 DAY)
           ORDER BY 1, 2""",
        [ANCHOR, ANCHOR],
    )
    total = con.execute("SELECT sum(total_usage) FROM b_key_parts").fetchone()
    spent = float(total[0]) if total and total[0] is not None else 0.0
    con.execute(
        f"""{_into(con, "credits")}
            SELECT r.started_at + INTERVAL 6 SECOND, ?,
                   ? * (1 - ({STORE_DAYS} * 24 + 12 - r.h) / ({DAYS} * 24.0))
            FROM b_runs r WHERE r.started_at + INTERVAL 6 SECOND <= ?""",
        [round(spent * 1.4 + 500, 2), spent, ANCHOR],
    )
    # /models: the price before a change (if any), then the current one. Reasoning priced as completion.
    first = datetime.combine(TODAY - timedelta(days=DAYS + 30), datetime.min.time())
    model_cols = """canonical_slug, valid_from, last_seen_at, id, name, created, context_length, pricing_prompt,
                    pricing_completion, pricing_request, pricing_image, pricing_web_search,
                    pricing_internal_reasoning, pricing_input_cache_read, pricing_input_cache_write,
                    pricing_discount, expiration_date, output_modalities"""
    price = """p * {f}, p * out_ratio * {f}, 0, 0, 0, p * out_ratio * {f}, p * 0.25 * {f}, p * 1.25 * {f}, 0,
               CASE WHEN m = 7 THEN '{exp}' END, 'text'"""
    exp = (TODAY + timedelta(days=20)).isoformat()
    con.execute(
        f"""INSERT INTO models ({model_cols})
            SELECT permaslug, ?::TIMESTAMP, CASE WHEN change_day IS NULL THEN ? ELSE first_day() + change_day END,
                   slug, name, 1700000000 + m * 86400, context_length,
                   {price.format(f="CASE WHEN change_day IS NULL THEN 1 ELSE old_factor END", exp=exp)}
            FROM (SELECT *, p_in AS p FROM b_models)""",
        [first, ANCHOR],
    )
    con.execute(
        f"""INSERT INTO models ({model_cols})
            SELECT permaslug, (first_day() + change_day)::TIMESTAMP + INTERVAL 9 HOUR, ?, slug, name,
                   1700000000 + m * 86400, context_length, {price.format(f="1", exp=exp)}
            FROM (SELECT *, p_in AS p FROM b_models) WHERE change_day IS NOT NULL""",
        [ANCHOR],
    )
    # Endpoint health of every model with traffic, at every hourly run.
    con.execute(
        """INSERT INTO model_endpoints (fetched_at, model_permaslug, model_id, provider_name, tag, name, status,
               quantization, context_length, max_completion_tokens, uptime_last_5m, uptime_last_30m, uptime_last_1d,
               latency_p50, latency_p75, latency_p90, latency_p99, throughput_p50, throughput_p75, throughput_p90,
               throughput_p99, pricing_prompt, pricing_completion, pricing_request, pricing_input_cache_read)
           SELECT r.started_at + INTERVAL 30 SECOND, bm.permaslug, bm.slug, pr.provider,
                  lower(replace(pr.provider, ' ', '-')), pr.provider || ' | ' || bm.slug,
                  CASE WHEN hash(r.h, e.m, e.p) % 97 = 0 THEN -2 ELSE 0 END, 'fp8', bm.context_length, 16384,
                  100 - (hash(r.h, e.m, e.p) % 300) / 100.0, 100 - (hash(r.h, e.m, e.p) % 200) / 100.0,
                  100 - (hash(e.m, e.p) % 150) / 100.0,
                  400 / pr.speed, 600 / pr.speed, 900 / pr.speed, 2000 / pr.speed,
                  60 * pr.speed, 45 * pr.speed, 30 * pr.speed, 12 * pr.speed,
                  bm.p_in * pr.mult, bm.p_in * bm.out_ratio * pr.mult, 0, bm.p_in * 0.25
           FROM b_runs r, b_endpoints e JOIN b_models bm ON bm.m = e.m JOIN b_providers pr ON pr.p = e.p
           WHERE e.m < ? AND r.started_at + INTERVAL 30 SECOND <= ?
           ORDER BY 1, 2, 5""",
        [N_MODELS, ANCHOR],
    )
    _coverage(con, store_start)


def _coverage(con: duckdb.DuckDBPyConnection, store_start: datetime) -> None:
    """A year's analytics backfill at the store's first run, then one run a day (after the 6 h settle)."""
    first_run = TODAY - timedelta(days=STORE_DAYS)
    runs = [first_run + timedelta(days=i) for i in range(STORE_DAYS + 1)]
    keys = [r[0] for r in con.execute(f"SELECT key_hash FROM b_keys WHERE k < {N_KEYS} ORDER BY k").fetchall()]
    rows: list[tuple[Any, ...]] = []
    for run_day in runs:
        fetched = datetime.combine(run_day, datetime.min.time()) + timedelta(hours=7)
        if fetched > ANCHOR:
            fetched = ANCHOR - timedelta(minutes=1)
        # Activity rows are drawn from the store's first day on: the coverage claims no day before it.
        window = (max(run_day - timedelta(days=30), first_run), run_day - timedelta(days=1))
        if window[0] <= window[1]:
            for scope in ("", *keys):
                rows.append(("activity", "", scope, "long", *window, fetched, 0))
        for grouping, scopes, sets in (
            ("model", [""], ("long", "short")),
            ("model,app", [""], ("long", "short")),
            ("workspace", [""], ("long", "short")),
            ("model,provider", [""], ("short",)),
            ("user", [""], ("long", "short")),
            ("model,user", [""], ("long", "short")),
            ("external_user", [""], ("short",)),
            ("model,external_user", [""], ("short",)),
            ("api_key_hash,model", keys, ("long", "short")),
        ):
            for scope in scopes:
                for metrics in sets:
                    reach = 365 if metrics == "long" else SHORT_DAYS
                    first = run_day - timedelta(days=reach - 1) if run_day == first_run else run_day - timedelta(days=1)
                    rows.append(("analytics", grouping, scope, metrics, first, run_day - timedelta(days=1), fetched, 0))
    con.execute(
        """CREATE TEMP TABLE b_cov (source VARCHAR, dimensions VARCHAR, scope VARCHAR, metrics VARCHAR,
                                     first_day DATE, last_day DATE, fetched_at TIMESTAMP, rows_received BIGINT)"""
    )
    frame = _rows_frame(rows)
    con.register("b_cov_rows", frame)
    con.execute("INSERT INTO b_cov SELECT * FROM b_cov_rows")
    con.unregister("b_cov_rows")
    # rows_received: the stored rows each fetch's days hold.
    con.execute(
        f"""{_into(con, "coverage")}
           SELECT c.source, c.dimensions, c.scope, c.metrics, c.first_day, c.last_day, c.fetched_at,
                  CASE WHEN c.source = 'activity' THEN
                      (SELECT count(*) FROM activity a WHERE a.date BETWEEN c.first_day AND c.last_day)
                  ELSE (SELECT count(*) FROM analytics_daily a WHERE a.dimensions = c.dimensions
                        AND a.date BETWEEN c.first_day AND c.last_day) END
                  // CASE WHEN c.scope = '' THEN 1 ELSE 50 END
           FROM b_cov c"""
    )


def _rows_frame(rows: list[tuple[Any, ...]]) -> Any:
    import pyarrow as pa

    names = ("source", "dimensions", "scope", "metrics", "first_day", "last_day", "fetched_at", "rows_received")
    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})


# ---- generations ----------------------------------------------------------------------------------------

# Column of the store's ``generations`` table → expression over one generation (``g``, joined to its names).
_GENERATION_EXPRESSIONS: dict[str, str] = {
    "id": "'gen-' || (1763600000 + g.d * 86400 + g.sec) || '-' || lpad(g.i::VARCHAR, 9, '0')",
    "source": "'api'",
    "fetched_at": "(first_day() + g.d)::TIMESTAMP + (g.sec + 40) * INTERVAL 1 SECOND",
    "created_at": "(first_day() + g.d)::TIMESTAMP + g.sec * INTERVAL 1 SECOND",
    "date": "first_day() + g.d",
    "model": "bm.slug",
    "model_permaslug": "bm.permaslug",
    "provider_name": "pr.provider",
    "provider": "pr.provider",
    "endpoint_id": "e.endpoint_id",
    "api_key_hash": "k.key_hash",
    "api_key_name": "k.key_name",
    "workspace_id": "'ws_' || k.w",
    "workspace": "k.workspace",
    "app_id": "CASE WHEN g.a = 0 THEN NULL ELSE g.a END",
    "app_name": "ap.app",
    "app": "ap.app",
    "origin": "CASE WHEN g.a = 0 THEN NULL ELSE 'https://' || ap.app || '.example.com' END",
    "http_referer": "CASE WHEN g.a = 0 THEN NULL ELSE 'https://' || ap.app || '.example.com/' END",
    "external_user": "'end-user-' || lpad(g.e::VARCHAR, 2, '0')",
    "api_type": "'completions'",
    "tokens_prompt": "g.prompt",
    "tokens_completion": "g.completion",
    "native_tokens_prompt": "g.prompt",
    "native_tokens_completion": "g.completion",
    "native_tokens_reasoning": "g.reasoning",
    "native_tokens_cached": "g.cached",
    "reasoning_tokens": "g.reasoning",
    "cached_tokens": "g.cached",
    "usage": "g.usage",
    "total_cost": "g.total_cost",
    "byok_usage_inference": "g.byok",
    "upstream_inference_cost": "CASE WHEN g.is_byok THEN g.total_cost END",
    "cache_discount": "g.cache_discount",
    "is_byok": "g.is_byok",
    "latency": "g.latency",
    "generation_time": "g.generation_time",
    "moderation_latency": "NULL",
    "finish_reason": "g.finish_reason",
    "native_finish_reason": "g.finish_reason",
    "streamed": "g.i % 3 <> 0",
    "cancelled": "false",
    "num_media_prompt": "0",
    "num_media_completion": "0",
    "num_search_results": "0",
}


def _store_generations(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """Fill ``generations`` if the schema has it; return the columns filled with a default (or None)."""
    columns = con.execute(
        """SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
           WHERE table_schema = 'main' AND table_name = 'generations' ORDER BY ordinal_position"""
    ).fetchall()
    if not columns:
        return None
    names: list[str] = []
    values: list[str] = []
    defaulted: list[str] = []
    for name, data_type, nullable, default in columns:
        expr = _GENERATION_EXPRESSIONS.get(name)
        if expr is None:
            if default is not None:
                continue  # let the table's own default fill it
            defaulted.append(name)
            expr = "NULL" if nullable == "YES" else _type_default(str(data_type))
        names.append(f'"{name}"')
        values.append(f"CAST({expr} AS {data_type})")
    con.execute(
        f"""INSERT INTO generations ({", ".join(names)})
            SELECT {", ".join(values)}
            FROM bgv g JOIN b_models bm ON bm.m = g.m JOIN b_providers pr ON pr.p = g.p
                 JOIN b_endpoints e ON e.m = g.m AND e.p = g.p JOIN b_keys k ON k.k = g.k
                 JOIN b_apps ap ON ap.a = g.a"""
    )
    return defaulted


def _type_default(data_type: str) -> str:
    upper = data_type.upper()
    if "INT" in upper or upper in ("DOUBLE", "FLOAT", "REAL") or upper.startswith("DECIMAL"):
        return "0"
    if upper == "BOOLEAN":
        return "false"
    if upper.startswith("TIMESTAMP"):
        return f"TIMESTAMP '{ANCHOR.isoformat(sep=' ')}'"
    if upper == "DATE":
        return f"DATE '{TODAY.isoformat()}'"
    return "''"


def _export_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The generation rows with their names, for the pandas baseline (what a notebook would load)."""
    con.execute(
        f"""COPY (
                SELECT first_day() + g.d AS date, bm.permaslug AS model, pr.provider AS provider, ap.app AS app,
                       k.key_hash AS key, k.workspace AS workspace, g.prompt, g.completion, g.reasoning, g.cached,
                       g.usage, g.byok, g.total_cost, g.latency, g.tps AS throughput
                FROM bgv g JOIN b_models bm ON bm.m = g.m JOIN b_providers pr ON pr.p = g.p
                     JOIN b_keys k ON k.k = g.k JOIN b_apps ap ON ap.a = g.a)
            TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"""
    )


def today() -> date:
    return TODAY


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Build (or show) a cached benchmark store.")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args()
    built = build(args.rows, args.seed, force=args.force)
    print(json.dumps(asdict(built), indent=2))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
