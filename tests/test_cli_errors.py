"""Bad input through the real `orusage` command: the right exit code, one clear line, no traceback,
no secret echoed, and the stored data intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_openrouter.server import FakeServer
from tests.fake_fixtures import API_KEY, MANAGEMENT_KEY
from tests.helpers import fact_tables, run_cli


def env(server: FakeServer, db: Path, key: str | None = MANAGEMENT_KEY, **more: str) -> dict[str, str]:
    values = {"OPENROUTER_BASE_URL": server.base_url, "ORUSAGE_DB": str(db), "ORUSAGE_HTTP_RETRIES": "0", **more}
    if key is not None:
        values["OPENROUTER_MANAGEMENT_KEY"] = key
    return values


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture(scope="module")
def stored_db(tmp_path_factory: pytest.TempPathFactory, fake: FakeServer) -> Path:
    db = tmp_path_factory.mktemp("cli") / "orusage.duckdb"
    result = run_cli(["ingest"], env(fake, db))
    assert result.returncode == 0, result.stderr
    assert "ingest ok" in result.stdout
    return db


def test_ingest_succeeds_and_says_so(stored_db: Path) -> None:
    assert fact_tables(stored_db)["activity"]


@pytest.mark.parametrize(
    ("key", "code", "says"),
    [
        (None, 2, "OPENROUTER_MANAGEMENT_KEY is not set"),
        ("", 2, "OPENROUTER_MANAGEMENT_KEY is not set"),
        ("sk-or-v1-not-a-real-key", 3, "OpenRouter rejected OPENROUTER_MANAGEMENT_KEY (401)"),
        (API_KEY, 3, "holds a regular API key"),
    ],
    ids=["missing", "blank", "wrong", "regular-key"],
)
@pytest.mark.reliability("bad-input")
def test_key_problems(key: str | None, code: int, says: str, fake: FakeServer, stored_db: Path) -> None:
    before = fact_tables(stored_db)
    result = run_cli(["ingest"], env(fake, stored_db, key))
    assert result.returncode == code
    line = one_line(result.stderr)
    assert says in line and "management" in line.lower()
    if key:
        assert key not in result.stderr + result.stdout
    assert fact_tables(stored_db) == before


@pytest.mark.parametrize(
    ("kind", "params", "says"),
    [
        ("status", {"code": 500}, "answered 500"),
        ("status", {"code": 429}, "answered 429"),
        ("malformed_json", {}, "not JSON"),
        ("wrong_type", {"field": "usage"}, "unexpected shape"),
        ("reset", {}, "failed"),
    ],
    ids=["500", "429", "malformed-json", "wrong-type", "reset"],
)
@pytest.mark.reliability("fault")
def test_openrouter_faults_exit_4_with_one_line(
    kind: str, params: dict[str, object], says: str, fresh_fake: FakeServer, stored_db: Path, tmp_path: Path
) -> None:
    before = fact_tables(stored_db)
    fresh_fake.add_fault("/activity", kind, times=50, **params)
    result = run_cli(["ingest"], env(fresh_fake, stored_db))
    assert result.returncode == 4, result.stderr
    assert says in one_line(result.stderr)
    assert fact_tables(stored_db) == before  # the completed units rewrote identical rows; nothing lost


def test_bad_config_values(fake: FakeServer, tmp_path: Path) -> None:
    result = run_cli(["ingest"], env(fake, tmp_path / "x.duckdb", OPENROUTER_BASE_URL="openrouter.ai"))
    assert result.returncode == 2
    assert "OPENROUTER_BASE_URL is invalid" in one_line(result.stderr)
    result = run_cli(["ingest"], env(fake, tmp_path / "x.duckdb", ORUSAGE_HTTP_TIMEOUT="soon"))
    assert result.returncode == 2
    assert "ORUSAGE_HTTP_TIMEOUT is invalid" in one_line(result.stderr)


def test_base_url_that_is_not_openrouter(fake: FakeServer, tmp_path: Path) -> None:
    result = run_cli(["ingest"], env(fake, tmp_path / "x.duckdb", OPENROUTER_BASE_URL=fake.base_url + "/nope"))
    assert result.returncode == 2
    assert "OPENROUTER_BASE_URL" in one_line(result.stderr)


@pytest.mark.reliability("fault")
def test_unreachable_server(tmp_path: Path, fake: FakeServer) -> None:
    result = run_cli(["ingest"], env(fake, tmp_path / "x.duckdb", OPENROUTER_BASE_URL="http://127.0.0.1:9/api/v1"))
    assert result.returncode == 4
    assert "OpenRouter is unavailable" in one_line(result.stderr)


@pytest.mark.reliability("bad-input")
def test_a_file_that_is_not_a_database(fake: FakeServer, tmp_path: Path) -> None:
    db = tmp_path / "notes.duckdb"
    db.write_text("my notes\n" * 200)
    result = run_cli(["ingest"], env(fake, db))
    assert result.returncode == 5
    assert str(db) in one_line(result.stderr)
    assert db.read_text() == "my notes\n" * 200
