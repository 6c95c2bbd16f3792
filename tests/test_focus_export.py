"""`orusage export --format focus` as finance runs it: the FOCUS 1.0 file's rows on a store whose numbers are
known by hand (BYOK, several teams, a key the store does not know, a price change), CSV, gzipped CSV and
Parquet read back by other engines, an empty period, --since-last across pinned-clock runs and the revised
days `orusage status` reports. The official validator's verdicts are in test_focus_validator.py."""

from __future__ import annotations

import csv
import gzip
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from core.errors import StoreLockedError
from orusage import focus_export
from queries import allocation, focus
from queries.store import Writer, read_snapshot
from tests import allocation_store as S
from tests import focus_validator
from tests.focus_fixtures import PINNED, TODAY, copy_store
from tests.helpers import REPO, run_cli
from tests.test_allocation import close, independent_spend

TINY_ENV = {"ORUSAGE_TODAY": S.TODAY.isoformat()}


def export(db: Path, out: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    result = run_cli(["export", "--db", str(db), "--format", "focus", "--out", str(out), *args], env=env or TINY_ENV)
    assert result.returncode == 0, result.stderr
    return result


def rows(path: Path) -> list[dict[str, Any]]:
    """The file's rows as another engine reads them (DuckDB; CSV typed by its header and values)."""
    con = duckdb.connect()
    try:
        reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
        rel = con.sql(f"SELECT * FROM {reader}(?)", params=[str(path)])
        names = rel.columns
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
    finally:
        con.close()


def only(folder: Path, pattern: str = "openrouter-focus-*") -> Path:
    (found,) = sorted(folder.glob(pattern))
    return found


@pytest.fixture(scope="module")
def tiny_csv(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("focus-tiny")
    export(tiny_db, out, "--from", S.D0.isoformat(), "--to", S.D2.isoformat())
    return only(out)


def test_every_focus_column_and_the_extras(tiny_csv: Path) -> None:
    header = tiny_csv.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == list(focus.NAMES)
    assert set(focus.FOCUS_COLUMNS) <= set(header) and len(focus.FOCUS_COLUMNS) == 43
    assert all(c in focus.FOCUS_COLUMNS or c.startswith("x_") for c in header), "custom columns start with x_"
    for row in rows(tiny_csv):
        for column in focus.MANDATORY:
            if column not in ("ChargeClass",):  # null unless the row corrects an earlier one
                assert row[column] is not None, column
        assert row["ServiceCategory"] == "AI and Machine Learning" and row["ChargeCategory"] == "Usage"
        assert row["BillingCurrency"] == "USD" and row["ChargeFrequency"] == "Usage-Based"
        assert row["SkuId"] == S.MODEL and row["SkuPriceId"].startswith(f"{S.MODEL}@")
        assert row["PublisherName"] == "Acme" and row["ProviderName"] == "OpenRouter"
        assert row["x_Provider"] == S.PROVIDER
        assert row["EffectiveCost"] == row["BilledCost"] and row["ContractedCost"] == row["ListCost"]


def test_csv_numbers_are_plain_decimals(tiny_csv: Path) -> None:
    """FOCUS's Numeric Format: digits and a point, no exponent (a double like 0.00000012 is not 1.2e-07)."""
    decimals = [c.name for c in focus.COLUMNS if c.kind == "decimal"]
    with open(tiny_csv, newline="", encoding="utf-8") as fh:
        found = list(csv.DictReader(fh))
    assert found
    for row in found:
        for column in decimals:
            assert row[column] == "" or re.fullmatch(r"-?[0-9]+\.[0-9]+", row[column]), (column, row[column])
    assert any(row["ListUnitPrice"].startswith("0.00000") for row in found)  # prices per token, written out


def test_money_adds_up_and_byok_is_apart(tiny_csv: Path) -> None:
    found = rows(tiny_csv)
    total = sum(r["BilledCost"] + r["x_ByokUpstreamCost"] for r in found)
    assert abs(total - sum(S.ACCOUNT.values())) <= 1e-9 * max(1.0, total)
    k2 = [r for r in found if r["ResourceId"] == S.K2 and str(r["ChargePeriodStart"]).startswith("2026-10-10")]
    assert close(sum(r["BilledCost"] for r in k2), 2.0) and close(sum(r["x_ByokUpstreamCost"] for r in k2), 1.0)
    unknown = [r for r in found if r["ResourceId"] is None]
    assert unknown and all("keys-not-stored" in r["x_Grain"] and r["ResourceType"] is None for r in unknown)
    assert close(sum(r["BilledCost"] + r["x_ByokUpstreamCost"] for r in unknown), 2.0)  # $1 on D1 and on D2


def test_team_tags_sum_to_the_hand_computed_teams(tiny_csv: Path) -> None:
    teams: dict[str, float] = {}
    for r in rows(tiny_csv):
        tags = json.loads(r["Tags"])
        assert tags["team"] == r["x_Team"]
        teams[tags["team"]] = teams.get(tags["team"], 0.0) + r["BilledCost"] + r["x_ByokUpstreamCost"]
        if r["ResourceId"] is not None:
            assert tags["openrouter/workspace"] == S.WORKSPACE
        if r["x_AllocatedMethodId"] == "app":
            assert tags["openrouter/app"] == S.APP
        assert ("team-share" in r["x_Grain"]) == (r["x_AllocatedShare"] < 1)
        if r["ResourceId"] == S.K3:
            assert tags["openrouter/member"] == S.MEMBER_EMAIL
    expected: dict[str, float] = {}
    for day_teams in S.EXPECTED.values():
        for team, spend in day_teams.items():
            expected[team] = expected.get(team, 0.0) + spend
    assert teams.keys() == expected.keys() and all(close(teams[t], expected[t]) for t in expected)


def test_list_cost_uses_the_price_in_force_that_day(tiny_csv: Path) -> None:
    prices = {"2026-08-31": (S.PRICE_SEP, "earliest-known"), "2026-10-10": (S.PRICE_SEP, "in-force"),
              "2026-10-11": (S.PRICE_D2, "in-force")}  # fmt: skip
    seen = set()
    for r in rows(tiny_csv):
        day = str(r["ChargePeriodStart"])[:10]
        (prompt_price, completion_price), source = prices[day]
        seen.add(day)
        assert r["x_ListPriceSource"] == source
        assert close(r["ListCost"], r["x_PromptTokens"] * prompt_price + r["x_CompletionTokens"] * completion_price)
        assert close(r["ListUnitPrice"] * r["PricingQuantity"], r["ListCost"])
        assert close(r["ConsumedQuantity"], r["x_PromptTokens"] + r["x_CompletionTokens"])
    assert seen == set(prices)


def test_periods_are_utc_days_and_months(tiny_csv: Path) -> None:
    text = tiny_csv.read_text(encoding="utf-8")
    assert ",2026-11-01T00:00:00Z,2026-10-01T00:00:00Z," in text  # BillingPeriodEnd, BillingPeriodStart
    assert ",2026-10-11T00:00:00Z,2026-10-10T00:00:00Z," in text  # ChargePeriodEnd, ChargePeriodStart


def test_parquet_and_gzip_hold_the_same_rows(tiny_db: Path, tiny_csv: Path, tmp_path: Path) -> None:
    span = ["--from", S.D0.isoformat(), "--to", S.D2.isoformat()]
    export(tiny_db, tmp_path / "pq", *span, "--as", "parquet")
    export(tiny_db, tmp_path / "gz", *span, "--compress")
    parquet, gz = only(tmp_path / "pq"), only(tmp_path / "gz")
    assert parquet.name.endswith(".parquet") and gz.name.endswith(".csv.gz")
    assert gzip.decompress(gz.read_bytes()) == tiny_csv.read_bytes()
    meta = pq.ParquetFile(parquet).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_schema(parquet).field("ChargePeriodStart").type.tz == "UTC"
    from_parquet = rows(parquet)
    from_csv = rows(tiny_csv)
    assert len(from_parquet) == len(from_csv)
    for a, b in zip(from_parquet, from_csv, strict=True):
        assert a["ResourceId"] == b["ResourceId"] and a["Tags"] == b["Tags"] and close(a["BilledCost"], b["BilledCost"])


def test_an_empty_period_gives_a_header_only_file(tiny_db: Path, tmp_path: Path) -> None:
    result = export(tiny_db, tmp_path / "csv", "--from", "2026-01-01", "--to", "2026-01-31")
    assert "header only" in result.stderr
    lines = only(tmp_path / "csv").read_text(encoding="utf-8").splitlines()
    assert lines == [",".join(focus.NAMES)]
    export(tiny_db, tmp_path / "pq", "--from", "2026-01-01", "--to", "2026-01-31", "--as", "parquet")
    table = pq.read_table(only(tmp_path / "pq"))
    assert table.num_rows == 0 and table.column_names == list(focus.NAMES)


def test_default_range_is_the_last_complete_month(tiny_db: Path, tmp_path: Path) -> None:
    result = export(tiny_db, tmp_path, env={"ORUSAGE_TODAY": "2026-11-03"})
    path = only(tmp_path)
    assert path.name == "openrouter-focus-1.0_2026-10-01_2026-10-31.csv" and "2 day(s)" not in result.stderr
    days = {str(r["ChargePeriodStart"])[:10] for r in rows(path)}
    assert days == {"2026-10-10", "2026-10-11"}


@pytest.mark.slow
def test_since_last_sends_each_day_once_across_pinned_clocks(tiny_db: Path, tmp_path: Path) -> None:
    db = copy_store(tiny_db, tmp_path / "store")
    out = tmp_path / "feed"
    # Covered days are final whether or not the account spent anything on them: D0..D1 is 41 days.
    first = export(db, out, "--since-last", env={"ORUSAGE_TODAY": "2026-10-11"})
    assert "recorded 41 day(s)" in first.stderr
    second = export(db, out, "--since-last", env={"ORUSAGE_TODAY": "2026-10-20"})
    assert "recorded 1 day(s)" in second.stderr
    third = export(db, out, "--since-last", env={"ORUSAGE_TODAY": "2026-10-21"})
    assert "nothing new" in third.stderr
    files = sorted(out.glob("openrouter-focus-*"))
    assert [f.name for f in files] == [
        "openrouter-focus-1.0_2026-08-31_2026-10-10.csv",
        "openrouter-focus-1.0_2026-10-11_2026-10-11.csv",
    ]
    days = [str(r["ChargePeriodStart"])[:10] for f in files for r in rows(f)]
    per_file = [{str(r["ChargePeriodStart"])[:10] for r in rows(f)} for f in files]
    assert per_file[0] == {"2026-08-31", "2026-10-10"} and per_file[1] == {"2026-10-11"}
    assert set(days) == {"2026-08-31", "2026-10-10", "2026-10-11"}
    total = sum(r["BilledCost"] + r["x_ByokUpstreamCost"] for f in files for r in rows(f))
    assert abs(total - sum(S.ACCOUNT.values())) <= 1e-9 * max(1.0, total)


@pytest.mark.slow
def test_a_revised_day_is_reported_by_status_and_not_resent(tiny_db: Path, tmp_path: Path) -> None:
    db = copy_store(tiny_db, tmp_path / "store")
    out = tmp_path / "feed"
    export(db, out, "--since-last", "--compress")
    status = run_cli(["status", "--db", str(db)], env=TINY_ENV)
    assert "No sent day has been revised since." in status.stdout and str(out) in status.stdout
    # OpenRouter corrects D1: key k2 spent $2.50, not $2 (the account's row with it).
    with Writer(db) as writer, writer.transaction() as con:
        con.execute("UPDATE activity_by_key SET usage = 2.5 WHERE api_key_hash = ? AND date = ?", [S.K2, S.D1])
        con.execute("UPDATE activity SET usage = usage + 0.5 WHERE date = ?", [S.D1])
    status = run_cli(["status", "--db", str(db), "--json"], env=TINY_ENV)
    revised = json.loads(status.stdout)["exports"]["revised"]
    assert [(r["date"], r["file_type"]) for r in revised] == [(S.D1.isoformat(), "csv.gz")]
    assert close(revised[0]["sent_usd"], 10.0) and close(revised[0]["now_usd"], 10.5)
    assert "--from 2026-10-10 --to 2026-10-10" in revised[0]["text"]
    text = run_cli(["status", "--db", str(db)], env=TINY_ENV).stdout
    assert "Revised by OpenRouter after they were sent (1 day(s); not re-sent)" in text
    assert "nothing new" in export(db, out, "--since-last", "--compress").stderr
    # Sent again by hand: the record is the new one, and status stops reporting it.
    again = export(db, out, "--from", S.D1.isoformat(), "--to", S.D1.isoformat(), "--compress")
    assert "recorded 1 day(s)" in again.stderr
    status = run_cli(["status", "--db", str(db), "--json"], env=TINY_ENV)
    assert json.loads(status.stdout)["exports"]["revised"] == []


def test_a_deleted_file_is_reported(tiny_db: Path, tmp_path: Path) -> None:
    db = copy_store(tiny_db, tmp_path / "store")
    out = tmp_path / "feed"
    export(db, out, "--since-last")
    only(out).unlink()
    assert "missing from the folder: openrouter-focus-1.0_" in run_cli(["status", "--db", str(db)], env=TINY_ENV).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "csv", "--since-last"], "--since-last works with --format focus only"),
        (["--format", "parquet", "--as", "csv"], "--as works with --format focus only"),
        (["--format", "focus", "--from", "2026-10-11", "--to", "2026-10-10"], "is after --to"),
        (["--format", "focus", "--from", "2026-10-20", "--to", "2026-10-25"], "no completed day"),
    ],
)
def test_bad_requests_are_one_line_and_exit_2(tiny_db: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli(["export", "--db", str(tiny_db), "--out", str(tmp_path / "x"), *args], env=TINY_ENV)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# ---- the demo account: the numbers the dashboard shows ------------------------------------------------------


@pytest.mark.slow
def test_demo_month_totals_equal_the_dashboards_spend(teams_db: Path, tmp_path: Path) -> None:
    result = export(teams_db, tmp_path, "--as", "parquet", env=PINNED)
    path = only(tmp_path)
    assert path.name == "openrouter-focus-1.0_2026-10-01_2026-10-31.parquet", result.stderr
    found = rows(path)
    total = sum(r["BilledCost"] + r["x_ByokUpstreamCost"] for r in found)
    first, last = date(2026, 10, 1), date(2026, 10, 31)
    with read_snapshot(teams_db) as con:
        expected = independent_spend(con, first, last)
        dashboard = allocation.account_spend(con, first, last, TODAY)
        teams = allocation.allocate(con, first, last, TODAY, by=("team",)).set_index("team")["spend"]
    tolerance = 1e-9 * max(1.0, abs(expected))
    assert abs(total - expected) <= tolerance and abs(total - dashboard) <= tolerance
    assert sum(r["x_ByokUpstreamCost"] for r in found) > 1.0  # the demo account has BYOK traffic
    tagged: dict[str, float] = {}
    for r in found:
        team = json.loads(r["Tags"])["team"]
        tagged[team] = tagged.get(team, 0.0) + r["BilledCost"] + r["x_ByokUpstreamCost"]
    assert set(tagged) == set(teams.index) and all(close(tagged[t], float(teams[t])) for t in tagged)


@pytest.mark.slow
def test_demo_since_last_on_two_pinned_days_covers_each_day_once(teams_db: Path, tmp_path: Path) -> None:
    db = copy_store(teams_db, tmp_path / "store")
    out = tmp_path / "feed"
    export(db, out, "--since-last", "--from", "2026-11-01", "--as", "parquet", env={"ORUSAGE_TODAY": "2026-11-10"})
    export(db, out, "--since-last", "--from", "2026-11-01", "--as", "parquet", env={"ORUSAGE_TODAY": "2026-11-20"})
    files = sorted(out.glob("openrouter-focus-*"))
    assert [f.name for f in files] == [
        "openrouter-focus-1.0_2026-11-01_2026-11-09.parquet",
        "openrouter-focus-1.0_2026-11-10_2026-11-19.parquet",
    ]
    days = [{str(r["ChargePeriodStart"])[:10] for r in rows(f)} for f in files]
    assert not days[0] & days[1]
    assert days[0] | days[1] == {f"2026-11-{d:02d}" for d in range(1, 20)}
    total = sum(r["BilledCost"] + r["x_ByokUpstreamCost"] for f in files for r in rows(f))
    with read_snapshot(db) as con:
        expected = independent_spend(con, date(2026, 11, 1), date(2026, 11, 19))
    assert abs(total - expected) <= 1e-9 * max(1.0, expected)
    for f in files:  # each file of the feed is a FOCUS file in its own right
        verdict = focus_validator.validate(f)
        assert verdict.errors == 0, (f.name, verdict.failed, verdict.errored)


def test_recording_waits_for_a_running_writer(tiny_db: Path, tmp_path: Path) -> None:
    """A run records once the ingest holding the writer lock is done; the wait is a callback, not the clock."""
    db = copy_store(tiny_db, tmp_path / "store")
    ingest = Writer(db).__enter__()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        ingest.__exit__(None, None, None)  # the ingest finishes while the export waits

    writer = focus_export._writer(db, 60.0, sleep)
    writer.__exit__(None, None, None)
    assert len(slept) == 1


def test_a_writer_that_stays_busy_fails_the_run_and_sends_nothing(tiny_db: Path, tmp_path: Path) -> None:
    db = copy_store(tiny_db, tmp_path / "store")
    out = tmp_path / "feed"
    request = focus_export.Request(out, "csv", since_last=True)
    with Writer(db), pytest.raises(StoreLockedError):
        focus_export.run(db, request, S.TODAY, S.FETCHED, writer_wait=0.0)
    assert not list(out.glob("openrouter-focus-*")) and not list(out.glob(".*.tmp")), "nothing sent, nothing left"
    result = focus_export.run(db, request, S.TODAY, S.FETCHED)
    assert result.recorded == 42 and result.path is not None and result.path.exists()


def test_the_docs_map_every_focus_column() -> None:
    """docs/focus.md's table names every FOCUS 1.0 column the file has, and every x_ column is explained."""
    doc = (REPO / "docs" / "focus.md").read_text(encoding="utf-8")
    table = [line for line in doc.splitlines() if line.startswith("| `")]
    mapped = set(re.findall(r"`([A-Za-z]+)`", " ".join(line.split("|")[1] for line in table)))
    mapped |= {
        f"CommitmentDiscount{part}" for part in ("Category", "Id", "Name", "Status", "Type")
    }  # "CommitmentDiscount*"
    assert set(focus.FOCUS_COLUMNS) <= mapped, set(focus.FOCUS_COLUMNS) - mapped
    for column in focus.NAMES:
        if column.startswith("x_"):
            assert f"`{column}`" in doc, column
