"""What a page run hands to the page it shows, and how a page file finds it.

Pages are files (``dashboard/nav/*.py``) that Streamlit executes inside the entry script's run, in the
same thread; the entry script puts this run's state in a context variable before running the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dashboard.data import Meta, Store
from dashboard.filters import Filters
from queries.errors import OrusageError
from queries.reads_facts import Selection
from queries.reads_routing import Dim, Need, Route, route


@dataclass(frozen=True)
class PageContext:
    store: Store  # this run's lazy connection: never keep it beyond the run
    today: date  # UTC
    meta: Meta
    filters: Filters
    model: str | None = None  # the Model detail page's subject
    shown: set[str] = field(default_factory=set)  # notes already shown in this run, shown once

    def route(
        self,
        extra: Iterable[Dim] = (),
        needs: Iterable[Need] = (),
        *,
        start: date | None = None,
        end: date | None = None,
        selection: Selection | None = None,
    ) -> Route:
        """The route for the sidebar's filters (or ``selection``) plus ``extra`` breakdown dimensions."""
        chosen = self.filters.selection if selection is None else selection
        return route(
            chosen.dims | frozenset(extra),
            self.filters.start if start is None else start,
            self.filters.end if end is None else end,
            self.meta.spans,
            self.today,
            needs,
        )


@dataclass(frozen=True)
class RunState:
    db: Path
    ctx: PageContext | None  # None: nothing ingested yet
    error: OrusageError | None = None


_RUN: ContextVar[RunState] = ContextVar("orusage_run")


def set_run(state: RunState) -> None:
    _RUN.set(state)


def current_run() -> RunState:
    return _RUN.get()
