"""`orusage report weekly`: the review of one ISO week, from the snapshot, as HTML, Markdown or JSON.

* HTML: one self-contained file, the charts embedded as PNG ``data:`` URIs (opens anywhere, mails as is);
* Markdown: the file plus its charts as PNG files in ``<name>_files/`` beside it, linked relatively;
* JSON: every number the dashboard's Weekly review page shows (``review.as_json.to_json``).

Reads the published snapshot only, like every reader. This module stays light (no charts): JSON needs none;
``orusage.review.rendered`` draws and writes the HTML and Markdown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

from core.clock import today_utc
from core.errors import ConfigError
from core.settings import Settings
from queries.store import read_snapshot
from review.as_json import to_json
from review.load import weekly_review
from review.model import Review
from review.weeks import IsoWeek, NoCompletedDayError, last_complete_week

FORMATS = ("html", "md", "json")
SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json"}


def parse_week(text: str | None, today: date) -> IsoWeek:
    """``--week``, or the last complete week; a ConfigError (exit 2) for text that is no ISO week."""
    if not text:
        return last_complete_week(today)
    try:
        return IsoWeek.parse(text)
    except ValueError as exc:
        raise ConfigError(f"--week: {exc}.", "Write the week as YYYY-Www, e.g. 2026-W47.") from None


def load_review(db_path: Path, week: IsoWeek, today: date) -> Review:
    with read_snapshot(db_path) as con:
        try:
            return weekly_review(con, week, today)
        except NoCompletedDayError as exc:
            raise ConfigError(f"--week {week.label}: {exc}.", "Pick a week that has begun; days are UTC.") from None


def format_for(requested: str | None, out: Path | None) -> str:
    if requested:
        return requested
    if out is not None and out.suffix.lower() in SUFFIXES:
        return SUFFIXES[out.suffix.lower()]
    return "html"


def write_json(review: Review, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json_text(review), encoding="utf-8")
    return out


def json_text(review: Review) -> str:
    return json.dumps(to_json(review), indent=2, ensure_ascii=False) + "\n"


def run_weekly(
    settings: Settings,
    week_text: str | None,
    kind: str | None,
    out: Path | None,
    *,
    send: bool,
    config_path: Path | None,
    echo: Callable[..., None],
    resend: bool = False,
) -> None:
    """`orusage report weekly`: write (to ``out``, else stdout) and/or send the review of one week."""
    today = today_utc()
    review = load_review(settings.orusage_db, parse_week(week_text, today), today)
    chosen = format_for(kind, out)
    send = send or resend
    if chosen == "json" and not send:
        # The numbers only: nothing is drawn, so Altair and vl-convert are not even loaded.
        if out is None:
            echo(json_text(review), nl=False)
        else:
            write_json(review, out)
            echo(f"report {review.week} ({review.status}): wrote {out}", err=True)
        return
    from orusage.review.rendered import build, write

    # Charts are drawn only when something shows them: a file, or an e-mail.
    built = build(review, with_images=send or out is not None)
    if out is not None:
        written = [write_json(review, out)] if chosen == "json" else write(built, chosen, out)
        images = f" and {len(written) - 1} chart images" if len(written) > 1 else ""
        echo(f"report {review.week} ({review.status}): wrote {written[0]}{images}", err=True)
    elif not send:
        echo(built.html() if chosen == "html" else built.markdown(None), nl=False)
    if send:
        from orusage.review.send import send_report

        result = send_report(built, settings, echo, config_path, week=str(review.week), resend=resend)
        echo(result.summary(str(review.week)), err=True)
