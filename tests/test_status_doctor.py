"""`orusage status`, `orusage doctor` and `ingest --watch`, on stores filled by the real ingest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.errors import ConfigError, OrusageError
from core.settings import load_settings
from fake_openrouter.dataset import Dataset, build
from fake_openrouter.server import FakeServer
from ingest.client import OpenRouterClient
from ingest.job import run_ingest
from ingest.pacing import Pacer
from orusage.doctor import check_database
from orusage.jobs import parse_interval, watch
from orusage.status import activity_gaps
from queries.store import Writer
from tests.fake_fixtures import API_KEY, MANAGEMENT_KEY, start_fake
from tests.helpers import run_cli

T0 = datetime(2026, 11, 20, 15, 30)
T1 = T0 + timedelta(days=40)


def ingest_at(db: Path, server: FakeServer, now: datetime) -> None:
    with Writer(db) as writer, OpenRouterClient(server.base_url, SecretStr(MANAGEMENT_KEY), retries=0) as c:
        run_ingest(writer, c, clock=lambda: now, pacer=Pacer(100_000))


@pytest.fixture(scope="module")
def unlimited_fake(fake_dataset: Dataset) -> Iterator[FakeServer]:
    server = start_fake(fake_dataset)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gapped_db(unlimited_fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ingested on T0, then not again until 40 days later: ten days left /activity's window unseen."""
    db = tmp_path_factory.mktemp("gapped") / "orusage.duckdb"
    ingest_at(db, unlimited_fake, T0)
    later = start_fake(build(T1))
    try:
        ingest_at(db, later, T1)
    finally:
        later.stop()
    return db


def status(db: Path, *args: str) -> str:
    result = run_cli(["status", "--db", str(db), *args], {"ORUSAGE_TODAY": T1.date().isoformat()})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_status_explains_days_that_left_the_window(gapped_db: Path) -> None:
    text = status(gapped_db)
    assert (
        "2026-11-20..2026-11-29 (activity (account), 10 days): left the 30-day window before they were ingested; "
        "they are covered by analytics" in text
    )
    assert "analytics per model " in text and "Last runs:" in text and ": ok," in text


def test_status_json_has_the_same_facts(gapped_db: Path) -> None:
    report = json.loads(status(gapped_db, "--json"))
    activity = [g for g in report["gaps"] if g["source"] == "activity (account)"]
    assert [(g["first_day"], g["last_day"], g["days"]) for g in activity] == [("2026-11-20", "2026-11-29", 10)]
    model = next(s for s in report["sources"] if s["source"] == "analytics per model")
    assert model["missing_days"] == 0 and model["covered_last"] == "2026-12-29"
    assert [r["status"] for r in report["runs"]] == ["ok", "ok"]


def test_gap_rules() -> None:
    today = date(2026, 11, 20)
    old = [date(2026, 8, 1), date(2026, 8, 2)]
    gaps = activity_gaps("activity", old, today, analytics_model=set())
    assert [g.reason for g in gaps] == ["are missing: import a website export, or they stay unknown"]
    recent = [today - timedelta(days=2)]
    assert "run `orusage ingest`" in activity_gaps("activity", recent, today, set())[0].reason
    straddling = [today - timedelta(days=31), today - timedelta(days=30)]
    assert len(activity_gaps("activity", straddling, today, set())) == 2  # two halves, two actions


def test_status_without_data_says_what_to_run(tmp_path: Path) -> None:
    result = run_cli(["status", "--db", str(tmp_path / "none.duckdb")])
    assert result.returncode == 5 and "orusage ingest" in result.stderr


def doctor(server: FakeServer, db: Path, key: str | None) -> tuple[int, str]:
    env = {"OPENROUTER_BASE_URL": server.base_url, "ORUSAGE_DB": str(db)}
    if key:
        env["OPENROUTER_MANAGEMENT_KEY"] = key
    result = run_cli(["doctor"], env)
    return result.returncode, result.stdout + result.stderr


def test_doctor_passes_a_good_setup_and_warns_of_a_stale_schedule(unlimited_fake: FakeServer, gapped_db: Path) -> None:
    code, out = doctor(unlimited_fake, gapped_db, MANAGEMENT_KEY)
    assert code == 0, out
    assert "[ok  ] management key" in out and "[ok  ] analytics" in out and "[ok  ] snapshot" in out
    assert "[warn] schedule: last successful ingest is" in out  # it ran on a clock pinned in the future
    assert MANAGEMENT_KEY not in out


def test_doctor_schedule_ages(gapped_db: Path) -> None:
    def schedule(now: datetime) -> str:
        return next(c.line() for c in check_database(gapped_db, now) if c.name == "schedule")

    assert schedule(T1 + timedelta(hours=2)).startswith("[ok  ] schedule: last successful ingest 2.0 h ago")
    assert "is the cron job or systemd timer running?" in schedule(T1 + timedelta(days=2))
    assert "OpenRouter forgets activity after 30 days" in schedule(T1 + timedelta(days=27))


@pytest.mark.parametrize(
    ("key", "code", "says"),
    [(None, 2, "OPENROUTER_MANAGEMENT_KEY is not set"), (API_KEY, 3, "regular API key"), ("sk-or-v1-x", 3, "401")],
    ids=["no-key", "regular-key", "wrong-key"],
)
def test_doctor_catches_key_problems(
    key: str | None, code: int, says: str, unlimited_fake: FakeServer, tmp_path: Path
) -> None:
    got, out = doctor(unlimited_fake, tmp_path / "new.duckdb", key)
    assert got == code and says in out and "[FAIL] management key" in out
    assert "will be created by the first ingest" in out


def test_doctor_catches_an_unreachable_api(tmp_path: Path) -> None:
    result = run_cli(
        ["doctor"],
        {
            "OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1",
            "OPENROUTER_MANAGEMENT_KEY": MANAGEMENT_KEY,
            "ORUSAGE_DB": str(tmp_path / "x.duckdb"),
            "ORUSAGE_HTTP_RETRIES": "0",
        },
    )
    assert result.returncode == 4 and "unavailable" in result.stdout


@pytest.mark.slow
def test_watch_survives_transient_errors_and_stops_on_a_wrong_key(unlimited_fake: FakeServer, tmp_path: Path) -> None:
    settings = load_settings(
        openrouter_base_url=unlimited_fake.base_url,
        openrouter_management_key=SecretStr(MANAGEMENT_KEY),
        orusage_db=tmp_path / "w.duckdb",
        orusage_http_retries=0,
    )
    unlimited_fake.add_fault("/key", "status", times=1, code=503)
    said: list[str] = []
    slept: list[float] = []
    watch(settings, 3600, quiet=False, echo=said.append, sleep=slept.append, runs=2)
    assert "ingest failed, retrying at the next tick" in said[0] and "503" in said[0]
    assert "ingest ok" in said[1] and len(slept) == 1 and 0 < slept[0] <= 3600
    wrong = settings.model_copy(update={"openrouter_management_key": SecretStr("sk-or-v1-nope")})
    with pytest.raises(OrusageError) as info:
        watch(wrong, 3600, quiet=True, echo=said.append, sleep=slept.append, runs=5)
    assert info.value.exit_code == 3


def test_watch_intervals() -> None:
    assert parse_interval("1h") == 3600 and parse_interval("2h30m") == 9000 and parse_interval("90s") == 90
    for bad in ("", "soon", "5s", "1d"):
        with pytest.raises(ConfigError):
            parse_interval(bad)
