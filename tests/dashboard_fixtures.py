"""Stores for the dashboard tests (a pytest plugin, listed in ``tests/conftest.py``).

``demo_db`` is a real DuckDB store with a published snapshot, written through ``queries.store.Writer`` and
``queries.writes`` exactly as the ingest writes it. Its numbers are synthetic and may be replaced by a real
ingest from the fake OpenRouter server: tests must compute what they expect with their own SQL on the
snapshot (see ``snapshot_sql``), never hard-code these numbers.

"Today" for the tests is the UTC day of the newest ``/keys`` fetch in the data (``demo_today``); tests
pin the app to it with ``ORUSAGE_TODAY``, so a run crossing UTC midnight sees the same day throughout.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from core import fmt
from core.clock import utcnow
from core.forecast import Forecast, project
from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from ingest.generations.job import GenerationOptions
from ingest.job import run_ingest
from ingest.pacing import Pacer
from orusage.demo import DEMO_CONFIG, demo_config_path
from queries import writes
from queries.store import Writer, snapshot_path
from tests.fake_fixtures import FAKE_NOW, MANAGEMENT_KEY
from tests.helpers import run_cli

# (display slug, permaslug, provider/endpoint pairs, share of completion that is reasoning, BYOK share)
_MODELS: list[tuple[str, str, list[tuple[str, str]], float, float]] = [
    ("openai/gpt-4o", "openai/gpt-4o-2024-08-06", [("OpenAI", "ep-gpt4o-oai"), ("Azure", "ep-gpt4o-az")], 0, 0),
    ("openai/gpt-4o", "openai/gpt-4o-2024-11-20", [("OpenAI", "ep-gpt4o-1120")], 0, 0),
    ("anthropic/claude-sonnet-4", "anthropic/claude-4-sonnet-20250522", [("Anthropic", "ep-sonnet")], 0.3, 0),
    ("google/gemini-2.5-flash", "google/gemini-2.5-flash", [("Google", "ep-gflash")], 0.5, 0),
    ("deepseek/deepseek-r1", "deepseek/deepseek-r1", [("DeepInfra", "ep-r1-di"), ("Together", "ep-r1-tg")], 0.8, 1.0),
    ("meta-llama/llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct", [("Groq", "ep-llama")], 0, 0),
    ("openai/o4-mini", "openai/o4-mini-2025-04-16", [("OpenAI", "ep-o4mini")], 0.6, 0),
]
_KEYS = [("sk-or-v1-aaa", "production"), ("sk-or-v1-bbb", "staging"), ("sk-or-v1-ccc", "notebooks")]
_DAYS = 60


def _key_hash(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def _activity(day: date, rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for slug, permaslug, endpoints, reasoning_share, byok_share in _MODELS:
        for provider, endpoint in endpoints:
            if rng.random() < 0.15:  # idle days exist
                continue
            requests = rng.randint(5, 400)
            prompt = requests * rng.randint(300, 3000)
            completion = requests * rng.randint(50, 900)
            reasoning = int(completion * reasoning_share * rng.uniform(0.5, 1.0))
            cost = round((prompt * 2.5e-6 + completion * 1e-5) * rng.uniform(0.2, 1.2), 6)
            byok = round(cost * byok_share, 6)
            rows.append(
                {
                    "date": day,
                    "model": slug,
                    "model_permaslug": permaslug,
                    "endpoint_id": endpoint,
                    "provider_name": provider,
                    "requests": requests,
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "reasoning_tokens": reasoning,
                    "usage": round(cost - byok, 6),
                    "byok_usage_inference": byok,
                }
            )
    return rows


def _keys(rng: random.Random, created: datetime) -> list[dict[str, Any]]:
    keys = []
    for label, name in _KEYS:
        daily = round(rng.uniform(0.2, 3.0), 4)
        byok_daily = round(rng.uniform(0, 0.5), 4) if name == "production" else 0.0
        keys.append(
            {
                "hash": _key_hash(label),
                "name": name,
                "label": f"{label}...{name[:3]}",
                "disabled": False,
                "limit": None,
                "limit_remaining": None,
                "limit_reset": None,
                "include_byok_in_limit": False,
                "usage": round(daily * 40, 4),
                "usage_daily": daily,
                "usage_weekly": round(daily * 5, 4),
                "usage_monthly": round(daily * 20, 4),
                "byok_usage": round(byok_daily * 40, 4),
                "byok_usage_daily": byok_daily,
                "byok_usage_weekly": round(byok_daily * 5, 4),
                "byok_usage_monthly": round(byok_daily * 20, 4),
                "created_at": created,
                "updated_at": created,
                "expires_at": None,
                "creator_user_id": "user_1",
                "workspace_id": "ws_default",
            }
        )
    return keys


# A key listed once and then no more (deleted), and one whose expiry has passed.
_GONE_KEY = ("sk-or-v1-ddd", "retired")
_EXPIRED_KEY = ("sk-or-v1-eee", "temp-contractor")
PRICE_CHANGE_DAYS_AGO = 15  # synthetic_db: openai/o4-mini's prices change this many days before today
PRICE_CHANGED = "openai/o4-mini-2025-04-16"


def _models(now: datetime, changed: bool) -> list[dict[str, Any]]:
    return [
        {
            "canonical_slug": permaslug,
            "id": slug,
            "name": slug.split("/")[1],
            "created": 1_700_000_000,
            "context_length": 128_000,
            "pricing_prompt": 1.1e-6 if changed and permaslug == PRICE_CHANGED else 2.5e-6,
            "pricing_completion": 4.4e-6 if changed and permaslug == PRICE_CHANGED else 1e-5,
            "pricing_input_cache_read": 1.25e-6,
            "output_modalities": "text",
        }
        for slug, permaslug, *_ in _MODELS
    ]


def write_demo_store(db_path: Path, now: datetime | None = None, seed: int = 7) -> Path:
    """Write ~60 UTC days of activity ending yesterday, 3 keys (plus a deleted and an expired one), credits,
    models with one price change, and a run log. No analytics and no coverage records."""
    now = now or utcnow()
    today = now.date()
    rng = random.Random(seed)
    yesterday_noon = datetime.combine(today - timedelta(days=1), datetime.min.time()) + timedelta(hours=12)
    with Writer(db_path) as writer:
        with writer.transaction() as con:
            failed = writes.start_run(con, "ingest", yesterday_noon - timedelta(minutes=5))
            writes.finish_run(con, failed, "failed", yesterday_noon, 1, 10, "OpenRouter returned 503")
        run_id = writes.start_run(writer.con, "ingest", now - timedelta(minutes=2))
        total_rows = 0
        for offset in range(_DAYS, 0, -1):
            day = today - timedelta(days=offset)
            rows = _activity(day, rng)
            with writer.transaction() as con:
                total_rows += writes.replace_activity_day(con, day, rows, now)
                # Split the day's rows across the keys so per-key views have data too.
                for i, (label, _name) in enumerate(_KEYS):
                    mine = [r for j, r in enumerate(rows) if j % len(_KEYS) == i]
                    writes.replace_activity_for_key(con, _key_hash(label), [day], mine, now)
        with writer.transaction() as con:
            writes.upsert_workspaces(
                con, [{"id": "ws_default", "name": "Default", "slug": "default"}], now - timedelta(days=1)
            )
            # Two /keys fetches: only the one of the newest fetch may count as "today so far". The first one
            # also lists a key that the second no longer does: it is deleted, its row kept.
            first = _keys(rng, now - timedelta(days=90))
            gone = {**first[0], "hash": _key_hash(_GONE_KEY[0]), "name": _GONE_KEY[1], "label": "sk-or-v1-ddd...ret"}
            writes.upsert_api_keys(con, [*first, gone], yesterday_noon, complete=True)
            latest = _keys(rng, now - timedelta(days=90))
            expired = {
                **latest[0],
                "hash": _key_hash(_EXPIRED_KEY[0]),
                "name": _EXPIRED_KEY[1],
                "label": "sk-or-v1-eee...tem",
                "expires_at": now - timedelta(days=3),
                "limit": 20.0,
                "limit_reset": "weekly",
            }
            writes.upsert_api_keys(con, [*latest, expired], now, complete=True)
            writes.insert_credits(con, yesterday_noon, 100.0, 61.25)
            writes.insert_credits(con, now, 150.0, 63.5)
            # Three /models fetches; the middle one records a price change, the last one repeats it.
            writes.upsert_models(con, _models(now, changed=False), now - timedelta(days=40))
            writes.upsert_models(con, _models(now, changed=True), now - timedelta(days=PRICE_CHANGE_DAYS_AGO))
            writes.upsert_models(con, _models(now, changed=True), now)
            writes.finish_run(con, run_id, "ok", now, _DAYS, total_rows)
    return db_path


def ingest_demo(db: Path, fake: FakeServer, generation_days: int = 2) -> Path:
    """Ingest the fake's account into ``db`` by the real ingest over HTTP, clock pinned at the fake's ``now``,
    with the per-generation records of the last ``generation_days`` completed days (and today)."""
    clock = FAKE_NOW.replace(tzinfo=None)
    with (
        Writer(db) as writer,
        OpenRouterClient(fake.base_url, SecretStr(MANAGEMENT_KEY), retries=0) as client,
    ):
        # As `orusage demo` does: per-generation records too (the fake is on loopback: no need to pace).
        options = GenerationOptions(days=generation_days, rate=1000.0, concurrency=16)
        run_ingest(writer, client, clock=lambda: clock, generations=options, pacer=Pacer(100_000))
    return db


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory, fake: FakeServer) -> Path:
    """Path of a store (``ORUSAGE_DB``) holding the demo account, ingested by the real ingest over HTTP
    from the fake OpenRouter, clock pinned at the fake's ``now``."""
    return ingest_demo(tmp_path_factory.mktemp("demo") / "orusage.duckdb", fake)


@pytest.fixture(scope="session")
def demo_account_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo account as `orusage demo` leaves it: ``demo_db`` whose demo budgets (``orusage.demo``'s config,
    with its teams "research" of keys and workspaces, "support" of apps and "contractors" of a member) the real
    `orusage alerts check` evaluated, so its teams are stored (``cost_centres``). A copy: ``demo_db`` itself
    has no teams."""
    copy = tmp_path_factory.mktemp("demo-account") / "orusage.duckdb"
    shutil.copy(demo_db, copy)
    shutil.copy(snapshot_path(demo_db), snapshot_path(copy))
    config = demo_config_path(copy)
    config.write_text(DEMO_CONFIG, encoding="utf-8")
    now = FAKE_NOW.replace(tzinfo=None)
    result = run_cli(
        ["alerts", "check", "--db", str(copy), "--config", str(config)],
        {"ORUSAGE_NOW": now.isoformat(), "ORUSAGE_TODAY": now.date().isoformat()},
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return copy


@pytest.fixture
def account_sql(demo_account_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to ``demo_account_db``'s snapshot, for the tests' own expected values."""
    con = duckdb.connect(str(snapshot_path(demo_account_db)), read_only=True)
    try:
        yield con
    finally:
        con.close()


@pytest.fixture(scope="session")
def synthetic_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hand-made store with edge cases the demo account lacks (two permaslugs sharing a slug, a
    failed run before the last good one, an idle day)."""
    return write_demo_store(tmp_path_factory.mktemp("synthetic") / "orusage.duckdb")


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a store where nothing has been ingested: no database, no snapshot."""
    return tmp_path_factory.mktemp("empty") / "orusage.duckdb"


@pytest.fixture
def snapshot_sql(demo_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to ``demo_db``'s snapshot, for the tests' own expected values."""
    con = duckdb.connect(str(snapshot_path(demo_db)), read_only=True)
    try:
        yield con
    finally:
        con.close()


@pytest.fixture(scope="session")
def demo_today(demo_db: Path) -> date:
    """The UTC day of the newest /keys fetch in ``demo_db``: the "today" tests pin the app to."""
    con = duckdb.connect(str(snapshot_path(demo_db)), read_only=True)
    try:
        row = con.execute("SELECT CAST(max(fetched_at) AS DATE) FROM api_key_snapshots").fetchall()[0]
    finally:
        con.close()
    assert row is not None and row[0] is not None, "demo_db has no /keys fetch"
    day: date = row[0]
    return day


@pytest.fixture(scope="session")
def synthetic_today(synthetic_db: Path) -> date:
    """ "Today" for ``synthetic_db``: the UTC day of its newest /keys fetch."""
    con = duckdb.connect(str(snapshot_path(synthetic_db)), read_only=True)
    try:
        row = con.execute("SELECT CAST(max(fetched_at) AS DATE) FROM api_key_snapshots").fetchall()[0]
    finally:
        con.close()
    assert row is not None and row[0] is not None
    day: date = row[0]
    return day


# ---- AppTest helpers shared by the dashboard tests ---------------------------------------------------------

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
PAGE_FILES = {
    "overview": "nav/overview.py",
    "explore": "nav/explore.py",
    "models": "nav/models.py",
    "model": "nav/model.py",
    "providers": "nav/providers.py",
    "apps": "nav/apps.py",
    "keys": "nav/keys.py",
    "teams": "nav/teams.py",
    "workspaces": "nav/workspaces.py",
    "members": "nav/members.py",
    "end-users": "nav/end_users.py",
    "generations": "nav/generations.py",
    "weekly": "nav/weekly.py",
    "budgets": "nav/budgets.py",
    "health": "nav/health.py",
    "accounts": "nav/accounts.py",
}
PAGE_TITLES = {
    "overview": "Overview",
    "explore": "Explore",
    "models": "Models",
    "model": "Model detail",
    "providers": "Providers",
    "apps": "Apps",
    "keys": "API keys",
    "teams": "Teams",
    "workspaces": "Workspaces",
    "members": "Members",
    "end-users": "End users",
    "generations": "Generations",
    "weekly": "Weekly review",
    "budgets": "Budgets",
    "health": "Data health",
    "accounts": "Accounts",
}


def run_app(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_app(
    monkeypatch: pytest.MonkeyPatch,
    db: Path,
    today: date | None,
    page: str = "overview",
    params: dict[str, str | list[str]] | None = None,
) -> AppTest:
    """The app on ``page`` with ``params`` in the query string, as a browser opening that link would.

    AppTest starts on the default page; a link to another page is a first run there, then a switch (the
    query string is sent with every run, as the browser's address bar would).
    """
    monkeypatch.setenv("ORUSAGE_DB", str(db))
    if today is None:
        monkeypatch.delenv("ORUSAGE_TODAY", raising=False)
    else:
        monkeypatch.setenv("ORUSAGE_TODAY", today.isoformat())
    at = AppTest.from_file(str(APP), default_timeout=30)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    run_app(at)
    if page != "overview":
        kept = dict(at.query_params)
        at.switch_page(PAGE_FILES[page])
        at.query_params.clear()
        at.query_params.update({**kept, **(params or {})})
        run_app(at)
    return at


def charts(at: AppTest) -> dict[str, tuple[dict[str, Any], list[pd.DataFrame]]]:
    """Each chart by its ``usermeta.orusage_chart`` name: its Vega-Lite spec and its datasets."""
    found: dict[str, tuple[dict[str, Any], list[pd.DataFrame]]] = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in element.proto.datasets]
        found[spec["usermeta"]["orusage_chart"]] = (spec, frames)
    return found


def chart_data(at: AppTest, name: str) -> pd.DataFrame:
    """The first (main) dataset of one chart."""
    found = charts(at)
    assert name in found, f"no chart {name!r}; charts: {sorted(found)}"
    return found[name][1][0]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def usd(text: str) -> float:
    """A money figure as core.fmt writes it: ``$1,234.56``, ``−$1.66`` (a real minus sign)."""
    assert text.startswith("$") or text.startswith("\u2212$"), text
    return float(text.replace("\u2212", "-").replace("$", "").replace(",", ""))


def downloads(at: AppTest) -> list[Any]:
    return list(at.get("download_button"))


def texts(at: AppTest) -> str:
    """Everything said on the page (titles, markdown, captions, notes), for "does it say so" checks."""
    parts = [e.value for kind in ("title", "markdown", "caption", "info", "warning", "error", "success")
             for e in at.get(kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


def sql(con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return con.execute(query, params or []).fetchall()


def sql_one(con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None) -> Any:
    rows = sql(con, query, params)
    assert rows, query
    return rows[0][0]


# ---- what the pages should show, by the tests' own SQL ------------------------------------------------------
#
# The routing rule written out by hand, independently of queries/: apps → analytics "model,app"; workspace →
# analytics "workspace"; keys → activity_by_key on activity's days, analytics "api_key_hash,model" before
# (nothing before with a provider); providers → activity on its days, analytics "model,provider" before;
# otherwise activity on its days and analytics "model" before. Each day from exactly one table.


def _in(column: str, values: tuple[str, ...] | list[str]) -> str:
    if not values:
        return ""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f" AND {column} IN ({quoted})"


def activity_window(con: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    row = con.execute(
        "SELECT min(first_day), max(last_day) FROM coverage WHERE source = 'activity' AND scope = ''"
    ).fetchall()[0]
    assert row is not None and row[0] is not None, "no activity coverage"
    return row[0], row[1]


def expected_rows(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    *,
    models: tuple[str, ...] = (),
    providers: tuple[str, ...] = (),
    apps: tuple[str, ...] = (),
    keys: tuple[str, ...] = (),
    workspace: str | None = None,
    accounts: tuple[str, ...] = (),
) -> str:
    """SQL for the rows answering these filters: date, model, provider, app, key, spend, requests, prompt,
    completion, reasoning, cached (NULL in activity). Every table holds the account: ``accounts`` narrows
    each of them alike."""
    first, last = activity_window(con)
    acc = _in("account", accounts)
    a = "SELECT date, {m} AS model, {p} AS provider, {ap} AS app, {k} AS key, {spend} AS spend, {req} AS requests, " \
        "{pr} AS prompt, {co} AS completion, {re} AS reasoning, {ca} AS cached FROM {t} WHERE {w}"  # fmt: skip
    act = {"m": "model_permaslug", "p": "provider_name", "ap": "NULL", "k": "NULL",
           "spend": "usage + byok_usage_inference", "req": "requests", "pr": "prompt_tokens",
           "co": "completion_tokens", "re": "reasoning_tokens", "ca": "NULL"}  # fmt: skip
    an = {"m": "model", "p": "provider", "ap": "app", "k": "api_key_hash", "spend": "total_usage",
          "req": "request_count", "pr": "tokens_prompt", "co": "tokens_completion", "re": "reasoning_tokens",
          "ca": "cached_tokens"}  # fmt: skip
    recent = f"date BETWEEN GREATEST(DATE '{start}', DATE '{first}') AND LEAST(DATE '{end}', DATE '{last}'){acc}"
    older = f"date BETWEEN DATE '{start}' AND LEAST(DATE '{end}', DATE '{first}' - 1){acc}"
    whole = f"date BETWEEN DATE '{start}' AND DATE '{end}'{acc}"
    if apps and providers:  # the pair grouping analytics answer (no models: no stored table holds all three)
        pair = f"{_in('app', apps)}{_in('provider', providers)}"
        return a.format(**an, t="analytics_daily", w=f"dimensions = 'app,provider' AND {whole}{pair}")
    if apps and keys:  # analytics per key, by app (no models: no stored table holds all three)
        pair = f"{_in('app', apps)}{_in('api_key_hash', keys)}"
        return a.format(**an, t="analytics_daily", w=f"dimensions = 'api_key_hash,app' AND {whole}{pair}")
    if apps:
        return a.format(**an, t="analytics_daily",
                        w=f"dimensions = 'model,app' AND {whole}{_in('app', apps)}{_in('model', models)}")  # fmt: skip
    if workspace:
        return a.format(
            **an, t="analytics_daily", w=f"dimensions = 'workspace' AND {whole}{_in('workspace', [workspace])}"
        )
    if keys:
        new = a.format(**{**act, "k": "api_key_hash"}, t="activity_by_key",
                       w=f"{recent}{_in('api_key_hash', keys)}{_in('model_permaslug', models)}"
                         f"{_in('provider_name', providers)}")  # fmt: skip
        if providers:
            return new
        key_filter = f"{_in('api_key_hash', keys)}{_in('model', models)}"
        old = a.format(**an, t="analytics_daily", w=f"dimensions = 'api_key_hash,model' AND {older}{key_filter}")
        return f"{new} UNION ALL {old}"
    new = a.format(**act, t="activity", w=f"{recent}{_in('model_permaslug', models)}{_in('provider_name', providers)}")
    grouping = "model,provider" if providers else "model"
    old_filter = f"{_in('model', models)}{_in('provider', providers)}"
    old = a.format(**an, t="analytics_daily", w=f"dimensions = '{grouping}' AND {older}{old_filter}")
    return f"{new} UNION ALL {old}"


def expected_month_forecast(con: duckdb.DuckDBPyConnection, today: date) -> Forecast | None:
    """The month-end forecast (the budgets' method, ``core.forecast.project``) fed from the tests' own SQL: the
    account's spend per completed day of the last 8 weeks (activity, analytics before it; 0 on idle days)
    and today so far from the newest /keys fetch, the rest of today counted from that fetch on."""
    first = today - timedelta(days=56)
    yesterday = today - timedelta(days=1)
    daily = expected_by(con, "date", first, yesterday)
    history = {first + timedelta(days=i): 0.0 for i in range(56)}
    history.update({pd.Timestamp(v).date(): float(s) for v, s in zip(daily["value"], daily["spend"], strict=True)})
    fetched, so_far = con.execute(
        """SELECT fetched_at, sum(coalesce(usage_daily, 0) + coalesce(byok_usage_daily, 0)) FROM api_key_snapshots
           WHERE fetched_at = (SELECT max(fetched_at) FROM api_key_snapshots) GROUP BY fetched_at"""
    ).fetchall()[0]
    assert fetched.date() == today
    month_start = today.replace(day=1)
    done = sum(v for d, v in history.items() if d >= month_start)
    return project(
        history,
        today=today,
        end=(month_start + timedelta(days=32)).replace(day=1),
        spent=done + so_far,
        today_known=True,
        day_fraction=(fetched.hour * 3600 + fetched.minute * 60 + fetched.second) / 86400,
    )


def expected_totals(con: duckdb.DuckDBPyConnection, start: date, end: date, **filters: Any) -> dict[str, float]:
    rows = expected_rows(con, start, end, **filters)
    got = con.execute(
        f"SELECT coalesce(sum(spend), 0), coalesce(sum(requests), 0), coalesce(sum(prompt + completion), 0) "
        f"FROM ({rows})"
    ).fetchall()[0]
    assert got is not None
    return {"spend": float(got[0]), "requests": float(got[1]), "tokens": float(got[2])}


def expected_by(con: duckdb.DuckDBPyConnection, column: str, start: date, end: date, **filters: Any) -> pd.DataFrame:
    """Spend, requests and tokens per ``column`` (model, provider, app, key, date), biggest spend first."""
    rows = expected_rows(con, start, end, **filters)
    frame: pd.DataFrame = con.execute(
        f"""SELECT {column} AS value, sum(spend) AS spend, sum(requests) AS requests,
                   sum(prompt + completion) AS tokens, sum(prompt) AS prompt, sum(completion) AS completion,
                   sum(reasoning) AS reasoning
            FROM ({rows}) GROUP BY {column} ORDER BY spend DESC, value"""
    ).df()
    return frame


# ---- checks the pages of the new dimensions share (test_dashboard_dimensions, test_dashboard_explore) ---------

CENT = 0.005 + 1e-9  # pages round dollars to cents


def preset_days(days: int, today: date) -> tuple[date, date]:
    """The last ``days`` completed UTC days."""
    end = today - timedelta(days=1)
    return end - timedelta(days=days - 1), end


def open_titled(monkeypatch: pytest.MonkeyPatch, db: Path, today: date, page: str, **params: Any) -> AppTest:
    """``open_app`` with the params as keywords, checking the page it lands on."""
    at = open_app(monkeypatch, db, today, page=page, params=params or None)
    assert next(t.value for t in at.title) == PAGE_TITLES[page]
    return at


def table_with(at: AppTest, column: str, *also: str, without: str | None = None) -> pd.DataFrame:
    """The page's table holding ``column`` (and ``also``), not ``without``."""
    for frame in at.dataframe:
        columns = set(frame.value.columns)
        if {column, *also} <= columns and (without is None or without not in columns):
            return frame.value
    raise AssertionError(f"no table with {column!r}")


def analytics_by(
    con: duckdb.DuckDBPyConnection, grouping: str, value: str, start: date, end: date, where: str = ""
) -> pd.DataFrame:
    """Spend, requests and tokens per ``value`` (an SQL expression) of one stored analytics grouping."""
    frame: pd.DataFrame = con.execute(
        f"""SELECT {value} AS value, sum(total_usage) AS spend, sum(request_count) AS requests,
                   sum(tokens_prompt + tokens_completion) AS tokens
            FROM analytics_daily WHERE dimensions = ? AND date BETWEEN ? AND ? {where}
            GROUP BY ALL ORDER BY spend DESC, value""",
        [grouping, start, end],
    ).df()
    return frame


def check_headline(at: AppTest, spend: float, requests: float, tokens: float) -> None:
    """The breakdown and Explore pages' totals: spend, requests, tokens, paid per million tokens."""
    shown = metrics(at)
    assert usd(shown["Spend"]) == pytest.approx(spend, abs=CENT)
    assert shown["Requests"] == fmt.count(requests)
    assert shown["Tokens"] == fmt.tokens(tokens)
    assert shown["Paid / M tokens"] == fmt.per_million(spend / tokens * 1e6)


def every_chart_downloads(at: AppTest) -> None:
    """Every chart has exact-number tooltips and a CSV download of its own data."""
    found = charts(at)
    assert found and len(downloads(at)) >= len(found)
    for name, (spec, _data) in found.items():
        tips = [t for layer in spec.get("layer", [spec]) for t in layer.get("encoding", {}).get("tooltip", [])]
        numbers = [t for t in tips if t.get("type") == "quantitative"]
        assert numbers and all("format" in t for t in numbers), name
