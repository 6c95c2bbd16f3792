"""The Generations page's own view (sort, search, finish reasons, tags, page) as query parameters, both ways.

Pure, like ``urlstate``: every rule is tested directly. A sort name must be one of
``queries.generations_reads.SORTS`` (the allowlist of columns); the search text, finish reasons and tags
(``KEY=VALUE``) are bound parameters of the read, so they are only trimmed and capped here. Anything else
is dropped and noted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from dashboard.urlstate import FINISH, ORDER, PAGE, ROWS, SEARCH, SORT, TAG, shown
from queries.generations_reads import DEFAULT_SORT, SEARCH_MAX, SORTS

ROW_CHOICES = (25, 50, 100)
DEFAULT_ROWS = 50
MAX_FINISH = 20  # finish reasons in a link: more than OpenRouter has
FINISH_CHARS = 40
MAX_TAGS = 20  # tags in a link
TAG_CHARS = 301  # a key (100) = a value (200)
ORDERS = ("desc", "asc")


@dataclass(frozen=True)
class View:
    sort: str = DEFAULT_SORT
    descending: bool = True
    search: str = ""
    finish: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # KEY=VALUE
    page: int = 1  # 1-based; clamped to the last page by the page itself
    rows: int = DEFAULT_ROWS


def _one(params: Mapping[str, Sequence[str]], name: str, notes: list[str]) -> str | None:
    values = list(params.get(name, ()))
    if len(values) > 1:
        notes.append(f"{name}: only one value allowed, kept the first")
    return values[0] if values else None


def parse(params: Mapping[str, Sequence[str]]) -> tuple[View, tuple[str, ...]]:
    """Read the page's parameters from a query string; drop and note what is wrong."""
    notes: list[str] = []
    view = View()
    sort = _one(params, SORT, notes)
    if sort is not None and sort not in SORTS:
        notes.append(f"sort: `{shown(sort)}` is not one of {', '.join(SORTS)}")
        sort = None
    order = _one(params, ORDER, notes)
    if order is not None and order not in ORDERS:
        notes.append(f"order: `{shown(order)}` is not asc or desc")
        order = None
    search = (_one(params, SEARCH, notes) or "").strip()
    if len(search) > SEARCH_MAX:
        notes.append(f"q: cut to its first {SEARCH_MAX} characters")
        search = search[:SEARCH_MAX]
    finish: list[str] = []
    for value in params.get(FINISH, ()):
        if len(value) > FINISH_CHARS or not value.isprintable():
            notes.append(f"finish: `{shown(value)}` is not a finish reason")
        elif value not in finish and len(finish) < MAX_FINISH:
            finish.append(value)
    tags: list[str] = []
    for value in params.get(TAG, ()):
        if len(value) > TAG_CHARS or "=" not in value or not value.isprintable():
            notes.append(f"tag: `{shown(value)}` is not KEY=VALUE")
        elif value not in tags and len(tags) < MAX_TAGS:
            tags.append(value)
    page = _int(_one(params, PAGE, notes), PAGE, notes, lambda n: n >= 1, "a page number from 1")
    rows = _int(_one(params, ROWS, notes), ROWS, notes, lambda n: n in ROW_CHOICES, f"one of {ROW_CHOICES}")
    return (
        View(
            sort=sort or view.sort,
            descending=order != "asc",
            search=search,
            finish=tuple(finish),
            tags=tuple(tags),
            page=page or view.page,
            rows=rows or view.rows,
        ),
        tuple(notes),
    )


def _int(text: str | None, name: str, notes: list[str], ok: Callable[[int], bool], wanted: str) -> int | None:
    if text is None:
        return None
    value = int(text) if text.isdigit() and len(text) <= 9 else None
    if value is None or not ok(value):
        notes.append(f"{name}: `{shown(text)}` is not {wanted}")
        return None
    return value


def encode(view: View) -> dict[str, str | list[str]]:
    """Only what differs from the defaults, so a plain page keeps a plain link."""
    out: dict[str, str | list[str]] = {}
    default = View()
    if view.sort != default.sort:
        out[SORT] = view.sort
    if not view.descending:
        out[ORDER] = "asc"
    if view.search:
        out[SEARCH] = view.search
    if view.finish:
        out[FINISH] = list(view.finish)
    if view.tags:
        out[TAG] = list(view.tags)
    if view.page != default.page:
        out[PAGE] = str(view.page)
    if view.rows != default.rows:
        out[ROWS] = str(view.rows)
    return out
