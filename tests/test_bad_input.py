"""Bad input and hostile environments: each gives one clear line, the docs' exit code, and nothing
stored is lost. (Faults from OpenRouter are in test_cli_errors.py, crashes in test_crashes.py.)"""

from __future__ import annotations

import math
import os
import resource
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from fake_openrouter.server import FakeServer
from ingest import schemas
from ingest.analytics.transform import RowError, to_store_rows
from ingest.client import OpenRouterClient
from ingest.errors import BadResponseError
from tests.fake_fixtures import MANAGEMENT_KEY
from tests.helpers import fact_tables, run_cli

SETPRIV = shutil.which("setpriv")

# Hypothesis runs derandomised (fixed seed order) so CI is deterministic; the counts are stated.
FUZZ = settings(derandomize=True, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=30,
)
RESPONSE_MODELS = [
    schemas.ActivityResponse,
    schemas.ApiKeysResponse,
    schemas.KeyInfoResponse,
    schemas.CreditsResponse,
    schemas.ModelsResponse,
    schemas.WorkspacesResponse,
    schemas.AnalyticsResponse,
    schemas.MembersResponse,
    schemas.ModelEndpointsResponse,
]
_client = OpenRouterClient("http://127.0.0.1:9/api/v1", SecretStr("sk-or-v1-fuzz"))


@pytest.mark.reliability("fuzz", examples=300)
@FUZZ
@given(payload=json_values, which=st.sampled_from(RESPONSE_MODELS))
def test_every_response_parser_accepts_or_refuses_cleanly(payload: object, which: type) -> None:
    try:
        _client._parse("GET /fuzz", payload, which)
    except BadResponseError as exc:
        assert "\n" not in str(exc) and ("unexpected shape" in str(exc) or "impossible value" in str(exc))


activity_like = st.fixed_dictionaries(
    {"data": st.lists(st.fixed_dictionaries({
        "date": st.text(max_size=25) | st.sampled_from(["2026-04-22 00:00:00", "2026-04-22T23:30:00-05:00",
                                                         "2026-02-30", "2026-13-45"]),
        "model": st.text(max_size=10), "model_permaslug": st.text(max_size=10), "endpoint_id": st.text(max_size=8),
        "provider_name": st.text(max_size=8), "usage": st.floats() | st.text(max_size=5),
        "byok_usage_inference": st.floats(), "requests": st.integers() | st.text(max_size=4),
        "prompt_tokens": st.integers(), "completion_tokens": st.integers(), "reasoning_tokens": st.integers(),
    }), max_size=5)}
)  # fmt: skip


@pytest.mark.reliability("fuzz", examples=300)
@FUZZ
@given(payload=activity_like)
def test_activity_rows_near_the_real_shape(payload: dict[str, object]) -> None:
    try:
        parsed = _client._parse("GET /activity", payload, schemas.ActivityResponse)
    except BadResponseError as exc:
        assert "\n" not in str(exc)
        return
    for item in parsed.data:  # accepted: a real day, finite amounts, whole counts in range
        assert isinstance(item.date, date)  # the range (2020-01-01..tomorrow) is the transform's: it needs the clock
        assert math.isfinite(item.usage) and 0 <= item.usage <= 10_000_000
        assert 0 <= item.requests < 2**53 and 0 <= item.prompt_tokens < 2**53


analytics_rows = st.lists(
    st.dictionaries(
        st.sampled_from(["date__day", "created_at__day", "model", "app", "request_count", "total_usage", "x"]),
        st.none() | st.text(max_size=12) | st.integers() | st.floats() | st.booleans(),
        max_size=7,
    ),
    max_size=6,
)


@pytest.mark.reliability("fuzz", examples=300)
@FUZZ
@given(rows=analytics_rows)
def test_analytics_rows_become_numbers_or_a_clear_error(rows: list[dict[str, object]]) -> None:
    try:
        out = to_store_rows(
            rows,
            grouping_name="model,app",
            api_dimensions=("model", "app"),
            metrics=("request_count", "total_usage"),
            today=date(2026, 11, 20),
        )
    except RowError as exc:  # the one error, naming what is wrong in one line
        assert "\n" not in str(exc)
        return
    for row in out:  # what is accepted is a whole count and a finite amount, in range
        assert isinstance(row["request_count"], int) and 0 <= row["request_count"] < 2**53
        assert isinstance(row["total_usage"], float) and math.isfinite(row["total_usage"])
        assert 0 <= row["total_usage"] <= 10_000_000


def _env(server: FakeServer, db: Path, **more: str) -> dict[str, str]:
    return {"OPENROUTER_BASE_URL": server.base_url, "OPENROUTER_MANAGEMENT_KEY": MANAGEMENT_KEY,
            "ORUSAGE_DB": str(db), "ORUSAGE_HISTORY_DAYS": "31",
            "ORUSAGE_GENERATIONS_CAP": "200", "ORUSAGE_GENERATIONS_RATE": "1000", **more}  # fmt: skip


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.fixture(scope="module")
def stored(fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("bad-input") / "orusage.duckdb"
    result = run_cli(["ingest", "--quiet"], _env(fake, db))
    assert result.returncode == 0, result.stderr
    return db


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("ORUSAGE_HTTP_RETRIES", "-1", "ORUSAGE_HTTP_RETRIES is invalid"),
        ("ORUSAGE_HTTP_RETRIES", "many", "ORUSAGE_HTTP_RETRIES is invalid"),
        ("ORUSAGE_HTTP_TIMEOUT", "0", "ORUSAGE_HTTP_TIMEOUT is invalid"),
        ("ORUSAGE_ANALYTICS_RATE", "0", "ORUSAGE_ANALYTICS_RATE is invalid"),
        ("ORUSAGE_HISTORY_DAYS", "1000", "ORUSAGE_HISTORY_DAYS is invalid"),
        ("OPENROUTER_BASE_URL", "openrouter.ai/api/v1", "OPENROUTER_BASE_URL is invalid"),
    ],
)
@pytest.mark.reliability("bad-input")
def test_bad_config_values(setting: str, value: str, says: str, fake: FakeServer, stored: Path) -> None:
    before = fact_tables(stored)
    result = run_cli(["ingest"], _env(fake, stored, **{setting: value}))
    assert result.returncode == 2
    assert says in _one_line(result.stderr)
    assert fact_tables(stored) == before


@pytest.mark.reliability("bad-input")
def test_a_damaged_database_is_reported_and_left_as_it_was(fake: FakeServer, stored: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.duckdb"
    data = bytearray(stored.read_bytes())
    data[4096 : 4096 + 8192] = os.urandom(8192)  # the header blocks
    damaged.write_bytes(bytes(data))
    result = run_cli(["ingest"], _env(fake, damaged))
    assert result.returncode == 5
    assert str(damaged) in _one_line(result.stderr)
    assert damaged.read_bytes() == bytes(data)


# Root passes every permission check through these capabilities; without them it meets the file's mode bits
# like anyone else. Dropped from the bounding and inheritable sets, they are gone for the child after exec, while
# it still reads the checkout it owns, wherever that is (a clone in a private folder, mode 700, included).
BYPASS_CAPS = "-dac_override,-dac_read_search,-fowner"


def _as_unprivileged() -> list[str]:
    """The command prefix that runs a child without any way around file permissions."""
    return (
        [SETPRIV or "setpriv", f"--bounding-set={BYPASS_CAPS}", f"--inh-caps={BYPASS_CAPS}"]
        if os.geteuid() == 0
        else []
    )


@pytest.mark.skipif(os.geteuid() == 0 and SETPRIV is None, reason="needs setpriv to drop root's capabilities")
@pytest.mark.reliability("bad-input")
def test_a_folder_the_process_cannot_write(fake: FakeServer, stored: Path, tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    db = folder / "orusage.duckdb"
    shutil.copy(stored, db)
    db.chmod(0o444)
    folder.chmod(0o555)
    before = db.read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    env.update(_env(fake, db), HOME=str(tmp_path))
    try:
        result = subprocess.run(
            [*_as_unprivileged(), sys.executable, "-m", "orusage.cli", "ingest"],
            env=env, capture_output=True, text=True, timeout=120, cwd=str(tmp_path), check=False,
        )  # fmt: skip
    finally:
        folder.chmod(0o755)
    assert result.returncode == 5, result.stderr
    line = _one_line(result.stderr)
    assert "permission denied" in line or "cannot write" in line, line
    assert db.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["orusage.duckdb"]  # no lock, WAL or snapshot left behind


def _file_size_limit(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.reliability("bad-input")
@pytest.mark.slow
def test_a_full_disk_loses_nothing(fake: FakeServer, stored: Path, tmp_path: Path) -> None:
    db = tmp_path / "full.duckdb"
    shutil.copy(stored, db)
    before = fact_tables(db)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "ORUSAGE_"))}
    env.update(_env(fake, db, ORUSAGE_HISTORY_DAYS="365"))  # a longer backfill: more to write than fits
    limit = db.stat().st_size + 256 * 1024
    result = subprocess.run(
        [sys.executable, "-m", "orusage.cli", "ingest", "--quiet"],
        env=env, capture_output=True, text=True, timeout=300, cwd=str(tmp_path), check=False,
        preexec_fn=lambda: _file_size_limit(limit),
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert "disk is full or the file size limit was reached" in _one_line(result.stderr)
    after = fact_tables(db)
    for table, rows in before.items():  # everything stored before is still there
        assert set(rows) <= set(after[table]), table
