"""Docs that can't rot: every command explains itself, has a section in docs/commands.md and a row in the
README's command table; the README stays a front door; every relative link in the docs leads somewhere;
the README's two commands are the ones the Makefile and CI run."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from orusage.cli import cli
from tests.helpers import REPO, run_cli


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        found.append((full, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{full} "))
    return found


COMMANDS = _commands(cli)


def test_there_are_commands() -> None:
    assert {"ingest", "dashboard", "demo", "fake-openrouter"} <= {name for name, _ in COMMANDS}


README = REPO / "README.md"
COMMANDS_DOC = REPO / "docs" / "commands.md"
DOCS = [README, *sorted((REPO / "docs").glob("*.md"))]
README_MAX_LINES = 200


def _prose(text: str) -> str:
    """The text without fenced code blocks, whose lines are neither headings nor links."""
    return re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.M | re.S)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lowercased, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts as its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", _prose(path.read_text(encoding="utf-8")), re.M):
        slug = _slug(heading)
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)  # GitHub numbers repeated headings
        seen[slug] = seen.get(slug, 0) + 1
    return found


def _links(path: Path) -> list[str]:
    text = re.sub(r"(`+).+?\1", "", _prose(path.read_text(encoding="utf-8")))  # code spans hold no links
    return re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)


def _readme_table() -> dict[str, str]:
    """The README's command table: `orusage NAME` in a row's first cell → the row."""
    rows: dict[str, str] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        found = re.fullmatch(r"`orusage ([^`]+)`", cells[1].strip()) if line.startswith("|") else None
        if found:
            rows[found.group(1)] = line
    return rows


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_help_and_is_documented(name: str, command: click.Command) -> None:
    assert command.help and len(command.help.strip()) > 40, f"`orusage {name}` needs real --help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"`orusage {name} {param.opts[0]}` has no help text"
    manual = COMMANDS_DOC.read_text(encoding="utf-8")
    assert re.search(rf"^#+ `orusage {re.escape(name)}`$", _prose(manual), re.M), (
        f"docs/commands.md has no section `orusage {name}`"
    )
    # A group is in the table through its commands (`orusage alerts check` stands for `orusage alerts`).
    rows = [row for cmd, row in _readme_table().items() if cmd == name or cmd.startswith(f"{name} ")]
    assert rows, f"the README's command table has no row for `orusage {name}`"
    assert all("](docs/" in row for row in rows), f"the README's row for `orusage {name}` links nowhere in docs/"


def test_readme_is_a_front_door() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move the detail into docs/"


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(REPO)) for d in DOCS])
def test_relative_links_lead_somewhere(doc: Path) -> None:
    broken = []
    for link in _links(doc):
        if re.match(r"[a-z][a-z0-9+.-]*:", link, re.I):
            continue  # https:, mailto: …
        target, _, anchor = link.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        if link.startswith("/") or not path.exists():
            broken.append(f"{link}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{link}: no heading #{anchor} in {path.relative_to(REPO)}")
    assert not broken, f"{doc.relative_to(REPO)}: " + "; ".join(broken)


def test_help_runs_as_a_user_would() -> None:
    result = run_cli(["--help"])
    assert result.returncode == 0
    assert "orusage demo" in result.stdout and "Exit codes" in result.stdout
    for name, _ in COMMANDS:
        sub = run_cli([*name.split(), "--help"])
        assert sub.returncode == 0, sub.stderr
        assert "Usage: orusage" in sub.stdout


def test_readme_quick_start_is_the_makefile_and_ci() -> None:
    readme = README.read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make demo" in quick and "make test" in quick
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
