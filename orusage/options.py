"""What every `orusage` command shares: the help context and the `--db` option (one definition, used by
``orusage.cli`` and the ``alerts`` group it registers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

FC = TypeVar("FC", bound=Callable[..., object])

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def db_option() -> Callable[[FC], FC]:
    return click.option(
        "--db",
        "db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The DuckDB file (default: $ORUSAGE_DB or ~/.local/share/openrouter-usage/orusage.duckdb).",
    )
