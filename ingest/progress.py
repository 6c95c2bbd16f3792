"""Progress reporting: a bar on a terminal, silence under cron (log lines only)."""

from __future__ import annotations

import logging
import sys
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

log = logging.getLogger("orusage.ingest")


class Reporter(Protocol):
    def begin(self, total: int, what: str) -> None: ...
    def step(self, description: str) -> None: ...
    def end(self) -> None: ...


class QuietReporter:
    """For cron and tests: no bar, one log line per unit at INFO."""

    def begin(self, total: int, what: str) -> None:
        log.info("%s: %d units", what, total)

    def step(self, description: str) -> None:
        log.info("done: %s", description)

    def end(self) -> None:
        pass


class BarReporter:
    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description:<34}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task: TaskID | None = None

    def begin(self, total: int, what: str) -> None:
        self._progress.start()
        self._task = self._progress.add_task(what, total=total)

    def step(self, description: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, advance=1, description=description[:34])

    def end(self) -> None:
        if self._task is not None:
            self._progress.update(self._task, description="done")
        self._progress.stop()


def reporter_for_terminal(quiet: bool = False) -> Reporter:
    return BarReporter() if not quiet and sys.stderr.isatty() else QuietReporter()
