"""Docs that can't rot: every command explains itself and is in the README; the README's two
commands are the ones the Makefile and CI run."""

from __future__ import annotations

import re

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


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_help_and_is_in_the_readme(name: str, command: click.Command) -> None:
    assert command.help and len(command.help.strip()) > 40, f"`orusage {name}` needs real --help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"`orusage {name} {param.opts[0]}` has no help text"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"`orusage {re.escape(name)}\b", readme), f"README does not mention `orusage {name}`"


def test_help_runs_as_a_user_would() -> None:
    result = run_cli(["--help"])
    assert result.returncode == 0
    assert "orusage demo" in result.stdout and "Exit codes" in result.stdout
    for name, _ in COMMANDS:
        sub = run_cli([*name.split(), "--help"])
        assert sub.returncode == 0, sub.stderr
        assert "Usage: orusage" in sub.stdout


def test_readme_quick_start_is_the_makefile_and_ci() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make demo" in quick and "make test" in quick
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
