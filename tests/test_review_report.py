"""`orusage report weekly` as a user runs it (child processes): the HTML opened in a real headless Chromium, the
Markdown parsed by a CommonMark parser with its images on disk, the JSON equal to the review's numbers, and
`--send` delivering a multipart/related e-mail (to a real SMTP server on loopback) and the Markdown (to a
webhook on loopback). Charts are drawn once per file, so each report is rendered once for the module."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from aiosmtpd.controller import Controller
from markdown_it import MarkdownIt

from orusage.cli import main
from orusage.review.document import Figure, Heading, Paragraph
from orusage.review.images import Image
from orusage.review.mail import build_email
from queries.store import read_snapshot, snapshot_path
from review.as_json import to_json
from review.load import weekly_review
from review.weeks import last_complete_week
from tests.browser import SCREENSHOTS, browser_page, free_port, require_chromium
from tests.helpers import query, run_cli

PNG = b"\x89PNG\r\n\x1a\n"
CHARTS = {"weekly_bridge", "weekly_model_parts", "weekly_daily", "weekly_movers_model", "weekly_what_if"}


def _env(db: Path, today: date) -> dict[str, str]:
    return {"ORUSAGE_DB": str(db), "ORUSAGE_TODAY": today.isoformat()}


# ---- loopback receivers for --send ------------------------------------------------------------------------------


@dataclass
class Inbox:
    mails: list[bytes] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.mails.append(bytes(envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int, int]]:
    """An SMTP server and a webhook, both on loopback: (what they received, SMTP port, webhook port)."""
    box = Inbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            box.hooks.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    web = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    try:
        yield box, smtp.port, web.server_address[1]
    finally:
        web.shutdown()
        web.server_close()
        smtp.stop()


# ---- the reports, each written once ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def html_report(demo_db: Path, demo_today: date, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "weekly.html"
    result = run_cli(["report", "weekly", "--out", str(out)], env=_env(demo_db, demo_today))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stderr
    return out


@pytest.fixture(scope="module")
def md_report(
    demo_db: Path, demo_today: date, tmp_path_factory: pytest.TempPathFactory, inbox: tuple[Inbox, int, int]
) -> Path:
    """The Markdown report of a copy of the demo store whose budgets an `orusage alerts check` has evaluated,
    also sent (--send) through an alerts config with an e-mail and a webhook channel."""
    folder = tmp_path_factory.mktemp("report md")  # a space: links must be encoded
    db = folder / "orusage.duckdb"
    shutil.copyfile(demo_db, db)
    env = {**_env(db, demo_today), "ORUSAGE_NOW": f"{demo_today}T16:00:00Z"}
    budgets = folder / "budgets.toml"
    budgets.write_text(BUDGETS, encoding="utf-8")
    checked = run_cli(["alerts", "check", "--config", str(budgets)], env=env)
    assert checked.returncode == 0, checked.stderr
    _box, smtp_port, web_port = inbox
    config = folder / "config.toml"
    config.write_text(DELIVERY.format(web_port=web_port, smtp_port=smtp_port), encoding="utf-8")
    out = folder / "weekly review.md"
    args = ["report", "weekly", "--format", "md", "--out", str(out), "--send", "--config", str(config)]
    result = run_cli(args, env=env)
    assert result.returncode == 0, result.stderr
    assert "sent to webhook, email" in result.stderr
    return out


BUDGETS = """
[delivery]
stdout = true

[[budget]]
name = "account"
scope = "account"
period = "month"
limit_usd = 150
"""
DELIVERY = """
[delivery.webhook]
url = "http://127.0.0.1:{web_port}/hook"

[delivery.email]
host = "127.0.0.1"
port = {smtp_port}
from = "orusage@example.com"
to = ["finance@example.com"]
starttls = false
"""


# ---- HTML ------------------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_html_report_in_chromium(html_report: Path) -> None:
    require_chromium()
    html = html_report.read_text(encoding="utf-8")
    # Self-contained: nothing fetched (app names may well be URLs, so look at what would load).
    assert not re.search(r'(src|href)="(https?:)?//', html) and "<script" not in html and "<link" not in html
    with browser_page(html_report.resolve().as_uri()) as page:
        page.wait_for_load_state("load")
        images = page.evaluate(
            """() => [...document.images].map(i => ({chart: i.dataset.chart, complete: i.complete,
                     width: i.naturalWidth, height: i.naturalHeight, src: i.src.slice(0, 22)}))"""
        )
        assert {i["chart"] for i in images} == CHARTS
        for image in images:
            assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
            assert image["src"] == "data:image/png;base64,"
        assert page.locator("h1").inner_text().startswith("Weekly cost review")
        assert page.locator("table").count() >= 6
        page.set_viewport_size({"width": 1100, "height": 1000})
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "weekly-report.png"), full_page=True)


# ---- Markdown --------------------------------------------------------------------------------------------------


def _inline_images(tokens: list[Any]) -> list[tuple[str, str]]:
    found = []
    for token in tokens:
        for child in token.children or []:
            if child.type == "image":
                found.append((str(child.attrGet("src")), child.content))
    return found


def test_the_markdown_report_parses_with_its_tables_and_images(md_report: Path) -> None:
    text = md_report.read_text(encoding="utf-8")
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    for section in ("Summary", "Why spend changed", "Top movers", "Efficiency", "Budget and month-end forecast"):
        assert section in headings, headings
    # Every table intact: as many cells in each row as in its header, and nothing left as a literal pipe row.
    tables = 0
    for i, token in enumerate(tokens):
        if token.type != "table_open":
            continue
        tables += 1
        close = next(j for j in range(i, len(tokens)) if tokens[j].type == "table_close")
        cells_per_row: list[int] = []
        for j in range(i, close):
            if tokens[j].type == "tr_open":
                cells_per_row.append(0)
            elif tokens[j].type in ("th_open", "td_open"):
                cells_per_row[-1] += 1
        assert len(set(cells_per_row)) == 1 and len(cells_per_row) > 1, cells_per_row
    assert tables >= 7
    budget = text.split("## Budget and month-end forecast", 1)[1].split("\n## ", 1)[0]
    assert "| account | account |" in budget and "Month-end forecast" in budget  # the alerts run's budget
    assert not [t for t in tokens if t.type == "inline" and t.content.startswith("|")], "a table fell apart"
    images = _inline_images(tokens)
    assert {Path(unquote(src)).stem for src, _alt in images} == CHARTS
    for src, alt in images:
        assert not src.startswith(("/", "http", "data:")), src  # relative links
        path = md_report.parent / unquote(src)
        assert path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG, path
        assert alt


# ---- e-mail and webhook ----------------------------------------------------------------------------------------


def _check_related(mail: EmailMessage) -> None:
    """The HTML part references cid: images that all exist as image parts of the same multipart/related."""
    related = [p for p in mail.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1
    parts = list(related[0].iter_parts())
    assert parts[0].get_content_type() == "text/html"
    html = parts[0].get_content()
    refs = set(re.findall(r'src="cid:([^"]+)"', html))
    # A long Content-ID may be folded onto a continuation line in transit: unfold it, as mail clients do.
    images = {re.sub(r"\s+", "", str(p["Content-ID"])).strip("<>"): p for p in parts[1:]}
    assert refs and refs == set(images), (refs, set(images))
    for part in images.values():
        assert part.get_content_type() == "image/png" and part.get_content_disposition() == "inline"
        assert part.get_content()[:8] == PNG
    assert "data:image" not in html


def test_the_email_is_multipart_related_with_cid_images(md_report: Path, inbox: tuple[Inbox, int, int]) -> None:
    box, _smtp, _web = inbox
    assert len(box.mails) == 1
    mail = message_from_bytes(box.mails[0], policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["To"] == "finance@example.com" and mail["Subject"].startswith("[orusage] Weekly cost review")
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    assert plain is not None and "## Summary" in plain.get_content()
    _check_related(mail)
    cids = re.findall(r'src="cid:([^"]+)"', mail.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert len(cids) == len(CHARTS)


def test_the_webhook_gets_the_markdown(md_report: Path, inbox: tuple[Inbox, int, int]) -> None:
    box, _smtp, _web = inbox
    assert len(box.hooks) == 1
    hook = box.hooks[0]
    assert hook["kind"] == "report" and hook["title"].startswith("Weekly cost review")
    assert "## Why spend changed" in hook["text"] and "| Model |" in hook["text"]
    assert "](" not in hook["text"], "no image links a webhook receiver could not fetch"


def test_the_mime_message_is_built_as_a_pure_function() -> None:
    images = [Image("a", "chart a", PNG + b"a"), Image("b", "chart b", PNG + b"b")]
    blocks = [Heading(1, "Title <&>"), Paragraph("text with `code`"), Figure("a"), Figure("b"), Figure("missing")]
    mail = build_email(subject="s", sender="x@example.com", to=["y@example.com", "z@example.com"], title="t",
                       blocks=blocks, images=images, text="plain")  # fmt: skip
    assert mail["To"] == "y@example.com, z@example.com"
    _check_related(mail)
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Title &lt;&amp;&gt;" in html and "<code>code</code>" in html


# ---- JSON and exit codes ---------------------------------------------------------------------------------------


def test_the_json_file_holds_the_reviews_numbers(
    demo_db: Path, demo_today: date, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    monkeypatch.setenv("ORUSAGE_TODAY", demo_today.isoformat())
    out = tmp_path / "w.json"
    with pytest.raises(SystemExit) as ended:
        main(["report", "weekly", "--out", str(out)])
    assert ended.value.code == 0
    with read_snapshot(demo_db) as con:
        expected = to_json(weekly_review(con, last_complete_week(demo_today), demo_today))
    same(json.loads(out.read_text(encoding="utf-8")), json.loads(json.dumps(expected)), "review")


def same(got: Any, want: Any, where: str) -> None:
    """The same document, numbers within 1e-9 (relative): DuckDB's parallel sums may add in another order."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(want, bool):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), where
    else:
        assert got == want, where


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--week", "2099-W01"], 2, "has not started yet"),
        (["--week", "week 47"], 2, "is not an ISO week"),
        (["--format", "pdf"], 2, "Invalid value for '--format'"),
        (["--week", "2025-W40", "--format", "md"], 0, "No data is stored for 2025-W40"),
    ],
)
def test_exit_codes(
    demo_db: Path,
    demo_today: date,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    said: str,
) -> None:
    monkeypatch.setenv("ORUSAGE_DB", str(demo_db))
    monkeypatch.setenv("ORUSAGE_TODAY", demo_today.isoformat())
    with pytest.raises(SystemExit) as ended:
        main(["report", "weekly", *args])
    assert ended.value.code == code
    captured = capsys.readouterr()
    assert said in captured.out + captured.err


def test_no_data_yet_exits_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORUSAGE_DB", str(tmp_path / "none.duckdb"))
    with pytest.raises(SystemExit) as ended:
        main(["report", "weekly", "--format", "json"])
    assert ended.value.code == 5
    assert "orusage ingest" in capsys.readouterr().err


def test_every_channel_is_tried_and_failures_are_named(demo_db: Path, demo_today: date) -> None:
    """Slack and stdout get summary lines; a channel that fails does not stop the others."""
    from pydantic import SecretStr

    from orusage.alerts.delivery import StdoutChannel, WebhookChannel
    from orusage.review.rendered import build
    from orusage.review.send import deliver

    with read_snapshot(demo_db) as con:
        report = build(weekly_review(con, last_complete_week(demo_today), demo_today), with_images=False)
    printed: list[str] = []
    dead = WebhookChannel(SecretStr(f"http://127.0.0.1:{free_port()}/hook?token=s3cret"), timeout=2)
    sent, failures = deliver(report, [dead, StdoutChannel(printed.append)])
    assert sent == ["stdout"] and len(failures) == 1
    assert failures[0].startswith("webhook: ") and "s3cret" not in failures[0]
    assert "Weekly cost review" in printed[0] and "Spend changed by" in printed[0] and "Up most:" in printed[0]


@pytest.mark.slow
def test_send_is_recorded_per_week_and_channel_and_resend_sends_it_again(
    demo_db: Path, demo_today: date, inbox: tuple[Inbox, int, int], tmp_path: Path
) -> None:
    box, smtp_port, web_port = inbox
    db = tmp_path / "orusage.duckdb"
    shutil.copyfile(demo_db, db)
    shutil.copyfile(snapshot_path(demo_db), snapshot_path(db))
    config = tmp_path / "config.toml"
    config.write_text(DELIVERY.format(web_port=web_port, smtp_port=smtp_port), encoding="utf-8")
    env = {**_env(db, demo_today), "ORUSAGE_NOW": f"{demo_today}T16:00:00Z"}
    args = ["report", "weekly", "--format", "json", "--send", "--config", str(config)]
    hooks, mails = len(box.hooks), len(box.mails)
    first = run_cli(args, env=env)
    assert first.returncode == 0, first.stderr
    week = str(last_complete_week(demo_today))
    assert f"report {week}: sent to webhook, email" in first.stderr
    assert (len(box.hooks), len(box.mails)) == (hooks + 1, mails + 1)
    again = run_cli(args, env=env)
    assert again.returncode == 0, again.stderr
    assert f"report {week}: nothing sent; already sent to webhook on {demo_today} 16:00 UTC" in again.stderr
    assert "(--resend sends it again)" in again.stderr
    assert (len(box.hooks), len(box.mails)) == (hooks + 1, mails + 1)  # not repeated
    resent = run_cli([*args, "--resend"], env=env)
    assert resent.returncode == 0 and f"report {week}: sent to webhook, email" in resent.stderr
    assert (len(box.hooks), len(box.mails)) == (hooks + 2, mails + 2)
    assert query(db, "SELECT channel, status, sends FROM report_deliveries ORDER BY channel") == [
        ("email", "sent", 2),
        ("webhook", "sent", 2),
    ]
