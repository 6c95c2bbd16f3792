"""Every breakdown adds up: on every dashboard page (found in dashboard/app.py's PAGES, not listed here),
under several filter sets, the rows of each chart and table that splits a total sum to that total as the
tests' own SQL computes it (money within 1e-9 × max(1, |total|) USD, tokens and requests exactly), and
nothing is drawn without saying what it shows (``dashboard.parts``). On the demo store and on a small
generated one (bench.generate: 300 models, 200 apps, 50 keys, so "other" rows everywhere).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dashboard.parts import REGISTRY
from queries import accounts
from queries.filters import Filters
from queries.reads_facts import facts, source_spans
from queries.reads_routing import Dim, route
from queries.store import snapshot_path
from tests.dashboard_fixtures import APP, expected_totals, open_app

pytestmark = pytest.mark.slow

GROUPINGS = {"apps": "model,app", "workspace": "workspace", "keys": "api_key_hash,model", "providers": "model,provider"}
COLUMNS = {
    "models": "model",
    "providers": "provider",
    "apps": "app",
    "keys": "api_key_hash",
    "workspace": "workspace",
    "accounts": "account",
}
LISTS = ("models", "providers", "apps", "keys", "accounts")


def pages() -> list[str]:
    """The url paths of dashboard/app.py's PAGES, read from its source (the app runs Streamlit on import)."""
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "PAGES" for t in targets):
                value = ast.literal_eval(node.value)  # type: ignore[arg-type]
                return [str(entry[3]) for entry in value]
    raise AssertionError("no PAGES in dashboard/app.py")


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def filter_sets(con: duckdb.DuckDBPyConnection, today: date) -> list[dict[str, str | list[str]]]:
    """Fixed examples: the default range, a week, a range across /activity's first day, and one filter on
    each dimension (its biggest value), and two together."""
    first = _one(con, "SELECT min(first_day) FROM coverage WHERE source = 'activity' AND scope = ''")
    model = _one(con, "SELECT model_permaslug FROM activity GROUP BY 1 ORDER BY sum(usage) DESC LIMIT 1")
    provider = _one(con, "SELECT provider_name FROM activity GROUP BY 1 ORDER BY sum(usage) DESC LIMIT 1")
    app = _one(
        con,
        "SELECT app FROM analytics_daily WHERE dimensions = 'model,app' AND app <> 'unattributed' "
        "GROUP BY 1 ORDER BY sum(total_usage) DESC LIMIT 1",
    )
    key = _one(con, "SELECT api_key_hash FROM activity_by_key GROUP BY 1 ORDER BY sum(usage) DESC LIMIT 1")
    sets: list[dict[str, str | list[str]]] = [{}, {"range": "7d"}]
    if first is not None:
        sets.append({"from": (first - timedelta(days=10)).isoformat(), "to": (first + timedelta(days=4)).isoformat()})
    sets += [
        {"models": [model]},
        {"providers": [provider]},
        {"keys": [key]},
        {"models": [model], "providers": [provider]},
    ]
    if app is not None:
        sets.append({"apps": [app]})
    held = accounts.known(con)
    if len(held) > 1:  # a store of several accounts: one alone, and one with another filter
        smallest = _one(con, "SELECT account FROM activity GROUP BY 1 ORDER BY sum(usage) LIMIT 1")
        sets += [{"accounts": [smallest]}, {"accounts": [smallest], "models": [model]}]
        if app is not None:
            sets.append({"accounts": [held[0]], "apps": [app]})
    return sets


def expected_cache_savings(con: duckdb.DuckDBPyConnection, f: dict[str, Any]) -> float:
    """−usage_cache of the analytics grouping the filters need, on the days it covers; else Σ cache_discount
    of per-generation records on days they hold whole (filters on models, providers, keys only)."""
    start, end = date.fromisoformat(f["start"]), date.fromisoformat(f["end"])
    chosen = {k: v for k, v in f.items() if k in COLUMNS and v}
    grouping = next((GROUPINGS[k] for k in ("apps", "workspace", "keys", "providers") if k in chosen), "model")
    metrics = "short" if grouping == "model,provider" else "long"
    covered = {
        d
        for (d,) in con.execute(
            """SELECT DISTINCT CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE)
               FROM coverage WHERE source = 'analytics' AND dimensions = ? AND metrics = ?""",
            [grouping, metrics],
        ).fetchall()
    }
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    analytics = [d for d in days if d in covered]
    where = " ".join(f"AND list_contains(?::VARCHAR[], {COLUMNS[k]})" for k in LISTS if k in chosen)
    where += " AND workspace = ?" if "workspace" in chosen else ""
    values = [chosen[k] for k in LISTS if k in chosen]
    values += [chosen["workspace"]] if "workspace" in chosen else []
    total = float(
        _one(
            con,
            f"SELECT coalesce(-sum(usage_cache), 0) FROM analytics_daily WHERE dimensions = ? "
            f"AND list_contains(?::DATE[], date) {where}",
            [grouping, analytics, *values],
        )
    )
    if set(chosen) <= {"models", "providers", "keys", "accounts"}:
        whole = {
            d
            for (d,) in con.execute(
                """SELECT DISTINCT CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE)
                   FROM coverage WHERE source = 'generations'"""
            ).fetchall()
        }
        rest = [d for d in days if d not in covered and d in whole]
        gen_where = "".join(
            f" AND list_contains(?::VARCHAR[], {c})"
            for k, c in (
                ("models", "model_permaslug"),
                ("providers", "provider_name"),
                ("keys", "api_key_hash"),
                ("accounts", "account"),
            )
            if k in chosen
        )
        total += float(
            _one(
                con,
                "SELECT coalesce(sum(coalesce(cache_discount, -cost_cache)), 0) FROM generations "
                f"WHERE list_contains(?::DATE[], CAST(created_at AS DATE)) {gen_where}",
                [rest, *[chosen[k] for k in ("models", "providers", "keys", "accounts") if k in chosen]],
            )
        )
    return total


def every_value(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every provider, app and key the store holds: a breakdown by one of them answers the question
    "every value of it", whose days are those the sources holding it cover."""

    def values(sql: str) -> list[str]:
        return sorted(str(r[0]) for r in con.execute(sql).fetchall() if r[0] is not None)

    return {
        "providers": values(
            "SELECT provider_name FROM activity UNION SELECT provider FROM analytics_daily "
            "WHERE dimensions = 'model,provider'"
        ),
        "apps": values("SELECT DISTINCT app FROM analytics_daily WHERE dimensions = 'model,app'"),
        "keys": values(
            "SELECT api_key_hash FROM activity_by_key UNION SELECT api_key_hash FROM analytics_daily "
            "WHERE dimensions = 'api_key_hash,model'"
        ),
    }


BY = {"provider": "providers", "app": "apps", "key": "keys"}
# Dimensions whose days only the routing knows (end users: the days an ingest fetched; members and workspaces:
# analytics' reach): a split by one of them is checked against the routed total of the same question, read
# with no grouping, so the check is still that the parts (top N, "other", "unattributed") add up.
ROUTED_ONLY = {"workspace": Dim.WORKSPACE, "member": Dim.MEMBER, "end_user": Dim.END_USER}


def routed_totals(con: duckdb.DuckDBPyConnection, f: dict[str, Any], by: list[str], today: date) -> dict[str, float]:
    filters = Filters(
        date.fromisoformat(f["start"]),
        date.fromisoformat(f["end"]),
        models=tuple(f["models"]),
        providers=tuple(f["providers"]),
        apps=tuple(f["apps"]),
        keys=tuple(f["keys"]),
        workspace=f["workspace"],
        accounts=tuple(f.get("accounts", ())),
    )
    dims = {*filters.dims, *(ROUTED_ONLY.get(c) or Dim(c) for c in by if c in ROUTED_ONLY or c in BY)}
    r = route(dims, filters.start, filters.end, source_spans(con), today)
    frame = facts(con, r, filters, by=())
    if not len(frame):
        return {"spend": 0.0, "requests": 0.0, "tokens": 0.0}
    row = frame.fillna(0).iloc[0]
    return {
        "spend": float(row["spend"]),
        "requests": float(row["requests"]),
        "tokens": float(row["prompt"]) + float(row["completion"]),
    }


def check_page(at: Any, con: duckdb.DuckDBPyConnection, where: str, values: dict[str, list[str]], today: date) -> int:
    """Every recorded split of a page run against the tests' own totals; returns how many were checked."""
    registry: dict[str, dict[str, Any]] = dict(at.session_state[REGISTRY]) if REGISTRY in at.session_state else {}
    drawn = len(at.get("vega_lite_chart")) + len(at.dataframe)
    assert len(registry) == drawn, f"{where}: {drawn} charts and tables, {len(registry)} declared ({sorted(registry)})"
    undeclared = [name for name, entry in registry.items() if entry["kind"] == "undeclared"]
    assert not undeclared, f"{where}: drawn without saying what they show: {undeclared}"
    checked = 0
    for name, entry in registry.items():
        if entry["kind"] != "split":
            continue
        f = entry["filters"]
        filters = {k: f[k] for k in LISTS if f.get(k)}
        if f["workspace"]:
            filters["workspace"] = f["workspace"]
        for column in entry["by"]:
            if column in BY and BY[column] not in filters:
                filters[BY[column]] = values[BY[column]]
        start, end = date.fromisoformat(f["start"]), date.fromisoformat(f["end"])
        if entry["of"] == "cache_savings":
            want = {"money": expected_cache_savings(con, f)}
        elif any(c in ROUTED_ONLY for c in entry["by"]):
            totals = routed_totals(con, f, entry["by"], today)
            want = {"money": totals["spend"], "tokens": totals["tokens"], "requests": totals["requests"]}
        else:
            totals = expected_totals(con, start, end, **filters)
            want = {"money": totals["spend"], "tokens": totals["tokens"], "requests": totals["requests"]}
        tolerance = 1e-9 * max(1.0, abs(want["money"]))
        for column, value in entry["money"].items():
            assert abs(value - want["money"]) <= tolerance, f"{where} {name}.{column}: {value} vs {want['money']}"
        for part in ("tokens", "requests"):
            if entry[part] is not None:
                assert round(entry[part]) == round(want[part]), f"{where} {name} {part}: {entry[part]} vs {want[part]}"
        checked += 1
    return checked


def run_every_page(monkeypatch: pytest.MonkeyPatch, db: Path, today: date, without: tuple[str, ...] = ()) -> None:
    """``without``: pages whose dimension the store holds no data of (they show their empty state)."""
    con = duckdb.connect(str(snapshot_path(db)), read_only=True)
    try:
        sets = filter_sets(con, today)
        values = every_value(con)
        known_accounts = accounts.known(con)
        found = pages()
        assert len(found) >= 10 and "overview" in found and "health" in found
        checked: dict[str, int] = dict.fromkeys(found, 0)
        for page in found:
            for params in sets:
                at = open_app(monkeypatch, db, today, page, params=dict(params))
                checked[page] += check_page(at, con, f"{page} {params}", values, today)
    finally:
        con.close()
    if len(known_accounts) < 2:  # one account: the Accounts page shows how to add another
        without = (*without, "accounts")
    splitting = [p for p in found if p not in ("budgets", "health", "generations", *without)]
    assert all(checked[p] > 0 for p in splitting), {p: n for p, n in checked.items() if not n}


def test_every_breakdown_adds_up_on_the_demo(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo_today: date) -> None:
    run_every_page(monkeypatch, demo_db, demo_today)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, date]]:
    from bench.generate import build

    built = build(60_000, seed=11, cache=tmp_path_factory.mktemp("generated"), log=lambda _text: None)
    yield built.db_path, date.fromisoformat(built.today)


def test_every_breakdown_adds_up_on_a_generated_store(
    monkeypatch: pytest.MonkeyPatch, generated: tuple[Path, date]
) -> None:
    db, today = generated
    run_every_page(monkeypatch, db, today)
