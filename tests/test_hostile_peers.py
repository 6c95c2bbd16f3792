"""Peers that echo what they were sent: nothing secret is printed, logged, stored or shown (issue 16).

A gateway in front of the fake OpenRouter (``tests.hostile_peers.HostileProxy``) answers 400, 401, 402, 403
and 404 with the request's ``Authorization`` header in its error message (plain, percent-encoded, and
inside base64 credentials), and webhook receivers answer "Cannot POST /hooks/TOKEN?secret=…". After the real
`orusage` commands met them (`-v ingest`, `status`, `doctor`, `alerts check`, `export`), the key and the
tokens are searched for, in every spelling, in every output, every file beside the store and in the export,
every VARCHAR column, and every dashboard page.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from core import scrub as scrubbing
from fake_openrouter.server import FakeServer
from tests.dashboard_session import pages
from tests.fake_fixtures import MANAGEMENT_KEY
from tests.helpers import REPO, run_cli
from tests.hostile_peers import EchoReceiver, HostileProxy, Rule, echo_message, running_proxy

KEY = "sk-or-v1-SENTINEL-echo-5f1c0a9e7b3d4c2a8e6f0b1d9c7a5e3f"
HOOK_TOKEN = "HOOKTOKEN-sentinel-7c4e1b9a"
QUERY_TOKEN = "QUERYTOKEN-sentinel-2d8f6a0c"
SLACK_TOKEN = "SLACKTOKEN-sentinel-9e3b5d7f"
SECRETS = (KEY, HOOK_TOKEN, QUERY_TOKEN, SLACK_TOKEN)
ECHOED = (400, 401, 402, 403, 404)
EXIT_FOR = {400: 4, 401: 3, 402: 3, 403: 3, 404: 2}


def spellings(secret: str) -> list[str]:
    """Every way the secret could show: as it is, its tail, percent-encoded, and base64 as a peer wrote it."""
    basic = base64.b64encode(("user:" + f"Bearer {secret}").encode()).decode()
    return [secret, secret[-12:], quote(secret, safe=""), base64.b64encode(secret.encode()).decode()[:16], basic[8:-4]]


def leaks(text: str) -> list[str]:
    return [form for secret in SECRETS for form in spellings(secret) if form in text]


def _env(base_url: str, db: Path, **more: str) -> dict[str, str]:
    return {
        "OPENROUTER_BASE_URL": base_url,
        "OPENROUTER_MANAGEMENT_KEY": KEY,
        "ORUSAGE_DB": str(db),
        "ORUSAGE_HISTORY_DAYS": "31",
        "ORUSAGE_HTTP_RETRIES": "0",
        **more,
    }


@pytest.fixture(scope="module")
def proxy(fake: FakeServer) -> Iterator[HostileProxy]:
    with running_proxy(fake.base_url, MANAGEMENT_KEY) as p:
        yield p


@pytest.fixture(scope="module")
def echoed(proxy: HostileProxy, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, list[str]]:
    """(store, export folder, every output, one line per echoed failure) after meeting the echoing peers."""
    db = tmp_path_factory.mktemp("echo") / "orusage.duckdb"
    outputs: list[str] = []
    first = run_cli(["-v", "ingest"], _env(proxy.base_url, db))
    assert first.returncode == 0, first.stderr
    outputs.append(first.stdout + first.stderr)
    lines = []
    for status in ECHOED:
        proxy.add(Rule("/credits", echo_status=status, times=1))
        result = run_cli(["-v", "ingest"], _env(proxy.base_url, db))
        assert result.returncode == EXIT_FOR[status], (status, result.stderr)
        lines.append(result.stderr.strip().splitlines()[-1])
        outputs.append(result.stdout + result.stderr)
    proxy.add(Rule("/key", echo_status=401, times=1))  # doctor's first question
    doctor = run_cli(["doctor"], _env(proxy.base_url, db))
    assert doctor.returncode == 3 and "FAIL" in doctor.stdout, doctor.stdout
    outputs.append(doctor.stdout + doctor.stderr)
    # Webhooks that echo their path and query (tokens in both), through `alerts check -v`.
    receiver = EchoReceiver()
    try:
        config = db.parent.parent / f"{db.parent.name}-alerts.toml"  # the user's config: not beside the store
        config.write_text(
            '[[budget]]\nname = "tiny"\nscope = "account"\nperiod = "month"\nlimit_usd = 0.01\n\n'
            f'[delivery.webhook]\nurl = "{receiver.url(f"/hooks/{HOOK_TOKEN}?secret={QUERY_TOKEN}&x=1")}"\n\n'
            "[delivery.slack]\n"
        )
        env = _env(
            proxy.base_url,
            db,
            ORUSAGE_CONFIG=str(config),
            ORUSAGE_SLACK_WEBHOOK_URL=receiver.url(f"/services/T000/B000/{SLACK_TOKEN}"),
        )
        alerts = run_cli(["-v", "alerts", "check"], env)
        assert alerts.returncode == 4 and "404" in alerts.stderr, alerts.stderr
        assert len(receiver.posts) >= 2 and any(HOOK_TOKEN in p for p in receiver.posts)  # they were called
        outputs.append(alerts.stdout + alerts.stderr)
    finally:
        receiver.stop()
    for args in (["status"], ["status", "--json"]):
        result = run_cli(args, _env(proxy.base_url, db))
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    export = db.parent.parent / f"{db.parent.name}-export"
    result = run_cli(["export", "--format", "csv", "--out", str(export)], _env(proxy.base_url, db))
    assert result.returncode == 0, result.stderr
    outputs.append(result.stdout + result.stderr)
    return db, export, "\n".join(outputs), lines


@pytest.mark.slow
@pytest.mark.reliability("secret")
def test_the_peers_did_echo_and_the_lines_still_say_what_happened(
    echoed: tuple[Path, Path, str, list[str]], proxy: HostileProxy
) -> None:
    _, _, text, lines = echoed
    assert sum(1 for _, path in proxy.seen if path.startswith("/api/v1/credits")) >= len(ECHOED)
    assert echo_message("GET", "/x", f"Bearer {KEY}").count(KEY) == 2  # what was echoed holds the key
    for status, line in zip(ECHOED, lines, strict=True):
        assert f"({status})" in line and scrubbing.MASK in line, line  # the peer's words, minus the key
    assert "done:" in text  # -v was on ...
    assert "HTTP Request" not in text  # ... and httpx said nothing about URLs


@pytest.mark.slow
@pytest.mark.reliability("secret")
def test_no_secret_in_any_output(echoed: tuple[Path, Path, str, list[str]]) -> None:
    _, _, text, _ = echoed
    assert leaks(text) == []


@pytest.mark.slow
@pytest.mark.reliability("secret")
def test_no_secret_in_any_varchar_column(echoed: tuple[Path, Path, str, list[str]]) -> None:
    db, _, _, _ = echoed
    con = duckdb.connect(str(db), read_only=True)
    try:
        messages = [r[0] for r in con.execute("SELECT message FROM ingest_runs WHERE status = 'failed'").fetchall()]
        errors = [r[0] for r in con.execute("SELECT error FROM alert_deliveries WHERE error IS NOT NULL").fetchall()]
        assert len(messages) >= len(ECHOED) and all(scrubbing.MASK in m for m in messages), messages
        assert errors and all("404" in e for e in errors), errors
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
        ).fetchall()
        for table, column in columns:
            for secret in SECRETS:
                for form in spellings(secret):
                    hits = con.execute(
                        f'SELECT count(*) FROM "{table}" WHERE contains("{column}", ?)', [form]
                    ).fetchone()
                    assert hits == (0,), f"{table}.{column} holds a secret"
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.reliability("secret")
def test_no_secret_in_any_file(echoed: tuple[Path, Path, str, list[str]]) -> None:
    db, export, _, _ = echoed
    files = [p for folder in (db.parent, export) for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".csv" for p in files) and any(p.name.endswith(".snapshot.duckdb") for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            for form in spellings(secret):
                assert form.encode() not in data, path.name


@pytest.mark.slow
@pytest.mark.reliability("secret")
def test_no_secret_on_any_page(echoed: tuple[Path, Path, str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    db, _, _, _ = echoed
    monkeypatch.setenv("ORUSAGE_DB", str(db))
    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=60).run()
    shown_masked = False
    for file, _title in pages():
        at.switch_page(file).run()
        assert not at.exception, file
        tables = "".join(frame.value.to_csv() for frame in at.dataframe)  # the cells, not only the frame
        rendered = repr(list(at.main)) + repr(list(at.sidebar)) + tables
        assert len(rendered) > 1000, file
        assert leaks(rendered) == [], file
        shown_masked = shown_masked or scrubbing.MASK in rendered
    assert shown_masked  # a page did show a peer's words (the runs' messages, the deliveries' errors)


# ---- the scrubber itself --------------------------------------------------------------------------------


@pytest.mark.reliability("secret")
def test_every_spelling_of_a_secret_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_MANAGEMENT_KEY", KEY)
    url = f"https://hooks.example.test/api/{HOOK_TOKEN}/x?token={QUERY_TOKEN}&page=2"
    monkeypatch.setenv("ORUSAGE_WEBHOOK_URL", url)
    for shift in range(3):  # the key inside longer base64 texts, at each of the three alignments
        framed = base64.b64encode(b"u" * shift + f"Bearer {KEY}".encode() + b"!tail").decode()
        assert _decodes_to_part_of(scrubbing.scrub(framed), KEY) is None
        assert _decodes_to_part_of(framed, KEY) is not None  # the check itself finds the key when it is there
    text = " | ".join(
        [
            f"Authorization: Bearer {KEY}",
            quote(KEY, safe=""),
            re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(url, safe="")),  # lower-case hex
            f"Cannot POST /api/{HOOK_TOKEN}/x?token={QUERY_TOKEN}",
            base64.b64encode(HOOK_TOKEN.encode()).decode(),
            base64.urlsafe_b64encode(QUERY_TOKEN.encode()).decode(),
        ]
    )
    clean = scrubbing.scrub(text)
    assert leaks(clean) == [] and KEY not in clean
    assert "/api/" in clean and "Cannot POST" in clean  # short path parts are not secrets: the line still reads


def _decodes_to_part_of(text: str, secret: str, span: int = 8) -> str | None:
    """A ``span``-character piece of ``secret`` that some base64 run of ``text`` decodes to, at any alignment."""
    pieces = {secret[i : i + span] for i in range(len(secret) - span + 1)}
    for run in re.findall(r"[A-Za-z0-9+/]{4,}", text):
        for start in range(4):
            chunk = run[start:][: (len(run) - start) // 4 * 4]
            decoded = base64.b64decode(chunk).decode("latin-1") if chunk else ""
            for piece in pieces:
                if piece in decoded:
                    return piece
    return None


def test_a_secret_handed_in_is_scrubbed_and_short_values_are_not_searched() -> None:
    assert scrubbing.scrub(f"x {SLACK_TOKEN} y", SLACK_TOKEN) == f"x {scrubbing.MASK} y"
    assert scrubbing.scrub("a b c", "b") == "a b c"  # one letter would blank out every word


@pytest.mark.reliability("secret")
def test_messages_an_older_version_stored_unscrubbed_are_cleaned(tmp_path: Path) -> None:
    from datetime import datetime

    from queries import writes
    from queries.store import Writer

    with Writer(tmp_path / "orusage.duckdb") as writer:
        with writer.transaction() as con:
            run = writes.start_run(con, "ingest", datetime(2026, 11, 20))
            writes.finish_run(con, run, "failed", datetime(2026, 11, 20), 0, 0, f"401 (said: Bearer {KEY})")
            clean = writes.start_run(con, "ingest", datetime(2026, 11, 21))
            writes.finish_run(con, clean, "failed", datetime(2026, 11, 21), 0, 0, "503 (said: try later)")
        with writer.transaction() as con:
            assert writes.rescrub_messages(con, lambda text: scrubbing.scrub(text, KEY)) == 1
        messages = [r[0] for r in writer.con.execute("SELECT message FROM ingest_runs ORDER BY run_id").fetchall()]
    assert messages == [f"401 (said: Bearer {scrubbing.MASK})", "503 (said: try later)"]
