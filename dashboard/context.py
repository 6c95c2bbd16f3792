"""What a page run hands to the page it shows, and how a page file finds it.

Pages are files (``dashboard/nav/*.py``) that Streamlit executes inside the entry script's run, in the
same thread; the entry script puts this run's state in a context variable before running the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from core.errors import OrusageError
from dashboard.data import Meta, Store
from queries.filters import Filters
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
        filters: Filters | None = None,
    ) -> Route:
        """The route for the sidebar's filters (or other ``filters``) plus ``extra`` breakdown dimensions.
        Teams that cannot be one filter make a route that says why."""
        chosen = self.filters if filters is None else filters
        found = route(chosen.dims | frozenset(extra), chosen.start, chosen.end, self.meta.spans, self.today, needs)
        if chosen.team_problem is not None:
            return replace(found, segments=(), gaps=(), unanswerable=f"Teams: {chosen.team_problem}.")
        return found


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
