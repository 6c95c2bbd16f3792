"""`orusage report chargeback`: one month's spend per team (cost centre), per model and per key within each
team, the unallocated spend as its own line, as CSV, Markdown, HTML or JSON.

The numbers are ``queries.allocation``'s, the ones the dashboard's Teams page and the FOCUS export's tags
show; the lines add up to the account's spend for the month (checked here: a difference is a bug). Teams
are the alerts config's as the last ``orusage alerts check`` stored them, applied to the whole month as they
stand today, which the report says. Reads the published snapshot only.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from core import fmt
from core.clock import today_utc, utcnow
from core.errors import ConfigError
from core.settings import Settings
from queries import allocation
from queries import status as status_reads
from queries.store import read_snapshot

FORMATS = ("csv", "md", "html", "json")
SUFFIXES = {".csv": "csv", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json"}
NOT_STORED = "keys not stored"  # the key line of spend on keys the store does not know
TOLERANCE = 1e-6  # USD: the lines must add up to the account's month within this


@dataclass
class Line:
    name: str  # a team, a model's permaslug or a key's name
    spend: float
    billed: float
    byok: float
    requests: float
    tokens: float
    share: float  # of the account's spend (teams) or of the team's (its models and keys)
    estimated: float = 0.0  # spend that comes from a key-day split between lines (the app rule)
    key: str | None = None  # the key's hash, for key lines


@dataclass
class Team:
    line: Line
    kind: str | None  # key | app | member; None for the unallocated line
    models: list[Line] = field(default_factory=list)
    keys: list[Line] = field(default_factory=list)


@dataclass
class Chargeback:
    month: str  # 2026-11
    first: date
    last: date
    complete: bool  # False: the current month, through yesterday
    generated_at: datetime
    teams_as_of: datetime | None  # when the last alerts check stored the teams (if it evaluated a budget)
    account_spend: float
    account_billed: float
    account_byok: float
    teams: list[Team] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(t.line.spend for t in self.teams)


def parse_month(text: str | None, today: date) -> tuple[str, date, date, bool]:
    """(label, first day, last completed day, complete): ``--month`` or the last complete month."""
    if not text:
        last = today.replace(day=1) - timedelta(days=1)
        return f"{last:%Y-%m}", last.replace(day=1), last, True
    try:
        first = datetime.strptime(text.strip() + "-01", "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(f"--month {text!r} is not a month.", "Write it as YYYY-MM, e.g. 2026-11.") from None
    following = (first + timedelta(days=32)).replace(day=1)
    yesterday = today - timedelta(days=1)
    if first > yesterday:
        raise ConfigError(
            f"--month {text}: no day of it is over yet (today is {today}, UTC).", "Pick a month that has begun."
        )
    last = min(following - timedelta(days=1), yesterday)
    return f"{first:%Y-%m}", first, last, last == following - timedelta(days=1)


def _lines(frame: pd.DataFrame, column: str, total: float, labels: dict[str, str] | None = None) -> list[Line]:
    out = []
    records: list[dict[Hashable, Any]] = frame.sort_values(["spend", column], ascending=[False, True]).to_dict(
        "records"
    )
    for row in records:
        value = row[column]
        name = NOT_STORED if value is None or value != value else str(value)
        spend = float(row["spend"])
        out.append(
            Line(
                name=(labels or {}).get(name, name),
                spend=spend,
                billed=spend - float(row["byok"]),
                byok=float(row["byok"]),
                requests=float(row["requests"]),
                tokens=float(row["prompt"]) + float(row["completion"]),
                share=spend / total if total else 0.0,
                estimated=spend - float(row["exact_spend"]),
                key=None if column != "key" or name == NOT_STORED else name,
            )
        )
    return out


def build(db: Path, month: str | None, today: date) -> Chargeback:
    label, first, last, complete = parse_month(month, today)
    with read_snapshot(db) as con:
        teams = allocation.allocate(con, first, last, today, by=("team",))
        by_model = allocation.allocate(con, first, last, today, by=("team", "model"))
        by_key = allocation.allocate(con, first, last, today, by=("team", "key"))
        kinds = allocation.team_kinds(con)
        account = allocation.account_spend(con, first, last, today)
        key_names = status_reads.key_names(con)
        as_of = allocation.teams_as_of(con)
    report = Chargeback(
        month=label,
        first=first,
        last=last,
        complete=complete,
        generated_at=utcnow(),
        teams_as_of=as_of,
        account_spend=account,
        account_billed=float((teams["spend"] - teams["byok"]).sum()) if len(teams) else 0.0,
        account_byok=float(teams["byok"].sum()) if len(teams) else 0.0,
    )
    kind_of = dict(zip(kinds["team"], kinds["kind"], strict=True))
    ordered = sorted(_lines(teams, "team", account), key=lambda x: (x.name == allocation.UNALLOCATED, -x.spend))
    for line in ordered:
        mine_models = by_model.loc[by_model["team"] == line.name]
        mine_keys = by_key.loc[by_key["team"] == line.name]
        report.teams.append(
            Team(
                line=line,
                kind=kind_of.get(line.name),
                models=_lines(mine_models, "model", line.spend),
                keys=_lines(mine_keys, "key", line.spend, key_names),
            )
        )
    # Teams that spent nothing this month still get their line (at $0): finance looks for every cost centre.
    for team in sorted(set(kind_of) - {t.line.name for t in report.teams}):
        report.teams.insert(-1 if report.teams else 0, Team(Line(team, 0, 0, 0, 0, 0, 0), kind_of[team]))
    if kinds.empty:
        report.notes.append(
            "No teams are stored: add [teams.NAME] to the alerts config and run `orusage alerts check`; "
            "until then all spend is unallocated."
        )
    for row in kinds.loc[kinds["overlaps"] > 0].itertuples():
        report.notes.append(
            f"Team {row.team}: {row.overlaps} of its {row.kind}s also belong to a team earlier by name, which "
            "they are counted in (each dollar goes to one line)."
        )
    estimated = sum(t.line.estimated for t in report.teams if t.kind == "app")
    if estimated > TOLERANCE:
        report.notes.append(
            f"{fmt.usd(estimated)} of app teams' spend is placed on keys in proportion to their spend: OpenRouter "
            "reports apps per model, not per key, so which key ran an app is estimated (docs/focus.md#teams)."
        )
    if abs(report.total - account) > TOLERANCE:
        raise RuntimeError(f"the team lines add up to {report.total!r}, not the account's {account!r}")
    return report


# ---- rendering ----------------------------------------------------------------------------------------------


def _teams_sentence(report: Chargeback) -> str:
    when = f" (at {fmt.utc_time(report.teams_as_of)})" if report.teams_as_of else ""
    return (
        f"Teams are the alerts config's, as the last `orusage alerts check` stored them{when}, applied to the "
        "whole month as they stand today. Each dollar goes to one line: a key or workspace rule first, then an "
        "app rule, then a member rule; what no rule claims is unallocated."
    )


def _period(report: Chargeback) -> str:
    span = fmt.day_range(report.first, report.last)
    return f"{span} (UTC)" + ("" if report.complete else ", month to date")


def to_json(report: Chargeback) -> dict[str, Any]:
    data = asdict(report)
    data["total"] = report.total
    data["teams_rule"] = _teams_sentence(report)
    return data


def render_json(report: Chargeback) -> str:
    return json.dumps(to_json(report), indent=2, default=str, ensure_ascii=False) + "\n"


CSV_COLUMNS = ("level", "team", "team_kind", "model", "key", "key_name", "spend_usd", "billed_usd", "byok_usd",
               "requests", "tokens", "share", "estimated_usd")  # fmt: skip


def render_csv(report: Chargeback) -> str:
    """One row per team, then its models and keys (``level``), and the total; money unrounded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def row(level: str, team: Team | None, line: Line, model: str = "", key: str = "", name: str = "") -> None:
        writer.writerow([level, team.line.name if team else "", (team.kind or "") if team else "", model, key, name,
                         repr(line.spend), repr(line.billed), repr(line.byok), round(line.requests, 6),
                         round(line.tokens, 6), round(line.share, 9), repr(line.estimated)])  # fmt: skip

    for team in report.teams:
        row("team", team, team.line)
        for m in team.models:
            row("model", team, m, model=m.name)
        for k in team.keys:
            row("key", team, k, key=k.key or "", name=k.name)
    total = Line("total", report.total, report.account_billed, report.account_byok, 0, 0, 1.0)
    total.requests = sum(t.line.requests for t in report.teams)
    total.tokens = sum(t.line.tokens for t in report.teams)
    row("total", None, total)
    return buffer.getvalue()


def _key_head(team: Team) -> str:
    """An app team's keys are an estimate (analytics report apps per model, not per key): the header says so."""
    return "API key (estimated)" if team.kind == "app" else "API key"


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
    return out


def _team_rows(report: Chargeback) -> list[list[str]]:
    rows = [[t.line.name, t.kind or "—", fmt.usd(t.line.spend), fmt.share(t.line.share), fmt.usd(t.line.billed),
             fmt.usd(t.line.byok), fmt.count(t.line.requests), fmt.tokens(t.line.tokens),
             fmt.usd(t.line.estimated) if t.line.estimated > TOLERANCE else "—"] for t in report.teams]  # fmt: skip
    rows.append(["**Total**", "", f"**{fmt.usd(report.total)}**", "100.0%", fmt.usd(report.account_billed),
                 fmt.usd(report.account_byok), "", "", ""])  # fmt: skip
    return rows


TEAM_HEAD = ["Team", "Made of", "Spend", "Share", "Billed", "BYOK upstream", "Requests", "Tokens", "Estimated"]


def render_md(report: Chargeback) -> str:
    spend = f"Account spend **{fmt.usd(report.account_spend)}**"
    split = f"({fmt.usd(report.account_billed)} billed by OpenRouter + {fmt.usd(report.account_byok)} BYOK upstream)"
    out = [f"# Chargeback · {report.month}", "", f"{_period(report)}. {spend} {split}.", ""]
    out += [_teams_sentence(report), ""]
    out += _md_table(TEAM_HEAD, _team_rows(report))
    for team in report.teams:
        if not team.models and not team.keys:
            continue
        out += ["", f"## {team.line.name} · {fmt.usd(team.line.spend)}", ""]
        models = [[m.name, fmt.usd(m.spend), fmt.share(m.share)] for m in team.models]
        keys = [[k.name, fmt.usd(k.spend), fmt.share(k.share)] for k in team.keys]
        out += [*_md_table(["Model", "Spend", "Share"], models), ""]
        out += _md_table([_key_head(team), "Spend", "Share"], keys)
    if report.notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in report.notes]
    out += ["", f"Generated {fmt.utc_time(report.generated_at)} by openrouter-usage."]
    return "\n".join(out) + "\n"


def _html_table(head: list[str], rows: list[list[str]], total: bool = False) -> str:
    """A table; ``total``: its last row is the total (bold)."""
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        ("<tr class='total'>" if total and i == len(rows) - 1 else "<tr>")
        + "".join(f"<td>{html.escape(c.replace('**', ''))}</td>" for c in r)
        + "</tr>"
        for i, r in enumerate(rows)
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{padding:.3em .7em;border-bottom:1px solid #ddd}"
    "td:not(:first-child),th:not(:first-child){text-align:right}tr.total td{font-weight:600}"
    ".note{color:#555}"
)


def render_html(report: Chargeback) -> str:
    esc = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Chargeback {esc(report.month)}"
             f"</title><style>{_STYLE}</style></head><body><h1>Chargeback · {esc(report.month)}</h1>",
             f"<p>{esc(_period(report))}. Account spend <strong>{esc(fmt.usd(report.account_spend))}</strong> "
             f"({esc(fmt.usd(report.account_billed))} billed by OpenRouter + {esc(fmt.usd(report.account_byok))} "
             f"BYOK upstream).</p><p class='note'>{esc(_teams_sentence(report))}</p>",
             _html_table(TEAM_HEAD, _team_rows(report), total=True)]  # fmt: skip
    for team in report.teams:
        if not team.models and not team.keys:
            continue
        parts.append(f"<h2>{esc(team.line.name)} · {esc(fmt.usd(team.line.spend))}</h2>")
        models = [[m.name, fmt.usd(m.spend), fmt.share(m.share)] for m in team.models]
        keys = [[k.name, fmt.usd(k.spend), fmt.share(k.share)] for k in team.keys]
        parts.append(_html_table(["Model", "Spend", "Share"], models))
        parts.append(_html_table([_key_head(team), "Spend", "Share"], keys))
    if report.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in report.notes) + "</ul>")
    parts.append(f"<p class='note'>Generated {esc(fmt.utc_time(report.generated_at))} by openrouter-usage.</p>")
    return "".join(parts) + "</body></html>\n"


RENDER: dict[str, Callable[[Chargeback], str]] = {
    "csv": render_csv,
    "md": render_md,
    "html": render_html,
    "json": render_json,
}


def run_chargeback(
    settings: Settings, month: str | None, kind: str | None, out: Path | None, echo: Callable[..., None]
) -> None:
    """Write the report to ``out`` (its suffix picks the format unless --format does), else to stdout."""
    chosen = kind or (SUFFIXES.get(out.suffix.lower(), "md") if out is not None else "md")
    report = build(settings.orusage_db, month, today_utc())
    text = RENDER[chosen](report)
    if out is None:
        echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    echo(
        f"wrote the {report.month} chargeback ({len(report.teams)} lines, {fmt.usd(report.total)}) to {out}",
        err=True,
    )
