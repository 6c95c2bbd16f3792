"""Limits on a paged listing (``/keys``, ``/workspaces``, ``/models``, ``/organization/members``), so that a
server that ignores ``offset`` (answering the same page for ever) or never stops cannot keep a run, and
its memory, growing: at most ``MAX_PAGES`` pages and ``DEADLINE_S`` seconds per listing, and a page equal
to the one before ends the listing as an error. Each one ends the run with exit 4 and one line; nothing
of the listing is stored."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ingest.errors import BadResponseError, UnavailableError

MAX_PAGES = 1_000
DEADLINE_S = 600.0


class PageGuard:
    def __init__(
        self,
        where: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_pages: int = MAX_PAGES,
        deadline_s: float = DEADLINE_S,
    ) -> None:
        self.where = where
        self.max_pages = max_pages
        self.deadline_s = deadline_s
        self._clock = clock
        self._started = clock()
        self._previous: Sequence[object] | None = None
        self.pages = 0

    def more(self, page: Sequence[object], offset: int) -> None:
        """Called with each page (asked for at ``offset``) after which another is to be asked for: raise
        when the listing runs away."""
        self.pages += 1
        if page and self._previous is not None and list(page) == list(self._previous):
            raise BadResponseError(
                f"{self.where} answered the same page twice (at offset {offset}): the server ignores offset.",
                "The listing was stopped and nothing of it stored. Is OPENROUTER_BASE_URL an OpenRouter API?",
            )
        self._previous = page
        if self.pages >= self.max_pages:
            raise BadResponseError(
                f"{self.where} went on for {self.max_pages:,} pages without ending.",
                "The listing was stopped and nothing of it stored. Is OPENROUTER_BASE_URL an OpenRouter API?",
            )
        if self._clock() - self._started > self.deadline_s:
            raise UnavailableError(
                f"{self.where} took more than {self.deadline_s / 60:g} minutes to list ({self.pages} pages).",
                "The listing was stopped and nothing of it stored; run again later.",
            )
