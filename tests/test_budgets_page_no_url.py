"""The Budgets page never shows a URL: a webhook receiver that answers 404 spelling its own address back (with
the token in it, written another way than the config wrote it) has its delivery listed as failed, with the
reason, and no address. Real `orusage alerts check` against a real HTTP receiver, then the page (AppTest)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from queries.store import snapshot_path
from tests.dashboard_fixtures import APP, run_app
from tests.helpers import query, run_cli

TOKEN = "SENTINEL-hook-token-77aa31"
NOW, TODAY = "2026-11-20T15:30:00", "2026-11-20"


@pytest.fixture
def echoing_receiver() -> Iterator[str]:
    """Answers every POST with 404 and a body that names the request's URL, host spelled as `localhost`."""

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            port = self.server.server_address[1]
            body = f"Cannot POST http://localhost:{port}{self.path} (no such hook)".encode()
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook/{TOKEN}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.reliability("secret")
def test_a_failed_delivery_is_listed_without_its_url(
    demo_db: Path, tmp_path: Path, echoing_receiver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "orusage.duckdb"
    shutil.copy(demo_db, db)
    shutil.copy(snapshot_path(demo_db), snapshot_path(db))
    config = tmp_path / "alerts.toml"
    config.write_text(
        '[[budget]]\nname = "tiny"\nscope = "account"\nperiod = "month"\nlimit_usd = 1\n\n'
        f'[delivery.webhook]\nurl = "{echoing_receiver}"\n',
        encoding="utf-8",
    )
    result = run_cli(["alerts", "check", "--db", str(db), "--config", str(config)], {"ORUSAGE_NOW": NOW})
    assert result.returncode == 4, result.stdout + result.stderr  # not delivered, and said so
    errors = [str(e) for (e,) in query(snapshot_path(db), "SELECT error FROM alert_deliveries WHERE error IS NOT NULL")]
    assert errors and all("404" in e for e in errors)
    assert any("://" in e for e in errors), "the receiver's words reach the store: the page must not repeat them"
    monkeypatch.setenv("ORUSAGE_DB", str(db))
    monkeypatch.setenv("ORUSAGE_TODAY", TODAY)
    monkeypatch.setenv("ORUSAGE_CONFIG", str(config))
    at = run_app(AppTest.from_file(str(APP), default_timeout=60))
    at.switch_page("nav/budgets.py")
    run_app(at)
    (failed,) = [t for t in at.dataframe if "error" in t.value.columns]
    # Tried and failed: the reason, without the address (the others wait untried: a failing channel is tried
    # once per run).
    shown = [e for e in failed.value["error"].tolist() if isinstance(e, str)]
    assert shown and all("404" in e and "<url>" in e for e in shown)
    assert not any("://" in e for e in shown)
    port = echoing_receiver.split(":")[2].split("/")[0]
    rendered = repr(list(at.main)) + repr(list(at.sidebar)) + failed.value.to_csv()
    assert TOKEN not in rendered and "/hook/" not in rendered and f":{port}" not in rendered
