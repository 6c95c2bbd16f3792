"""The query-string format of the filters, both ways, and what happens to hostile or stale values."""

from __future__ import annotations

from datetime import date

import pytest

from dashboard import urlstate
from dashboard.urlstate import Allowed, encode, parse, subject
from queries.filters import RANGES, Filters, range_days

TODAY = date(2026, 11, 20)
ALLOWED = Allowed(
    models={"openai/gpt-5-2025-08-07", "x-ai/grok-3-mini"},
    providers={"OpenAI", "Azure"},
    apps={"Cline", "unattributed"},
    keys={"a" * 64, "b" * 64},
    workspaces={"Research"},
    catalog={"openai/gpt-5-2025-08-07", "x-ai/grok-3-mini", "google/unused"},
)


@pytest.mark.parametrize(
    "key,start,end",
    [
        ("7d", date(2026, 11, 13), date(2026, 11, 19)),
        ("30d", date(2026, 10, 21), date(2026, 11, 19)),
        ("90d", date(2026, 8, 22), date(2026, 11, 19)),
        ("month", date(2026, 11, 1), date(2026, 11, 19)),
        ("last-month", date(2026, 10, 1), date(2026, 10, 31)),
        ("year", date(2026, 1, 1), date(2026, 11, 19)),
    ],
)
def test_presets_are_completed_utc_days(key: str, start: date, end: date) -> None:
    assert range_days(key, TODAY) == (start, end)


def test_this_month_on_the_first_has_no_completed_day() -> None:
    first, last = range_days("month", date(2026, 12, 1))
    assert last < first
    assert range_days("last-month", date(2026, 1, 15)) == (date(2025, 12, 1), date(2025, 12, 31))


def test_round_trip() -> None:
    chosen = Filters(
        date(2026, 9, 1),
        date(2026, 9, 30),
        "custom",
        models=("x-ai/grok-3-mini", "openai/gpt-5-2025-08-07"),
        providers=("Azure",),
        apps=("Cline",),
        keys=("b" * 64,),
        workspace="Research",
    )
    params = encode(chosen)
    assert list(params) == ["range", "from", "to", "models", "providers", "apps", "keys", "workspace"]
    as_lists = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    parsed, notes = parse(as_lists, ALLOWED, TODAY)
    assert notes == () and parsed == chosen  # the same value, from the link back to the link
    assert (parsed.range, parsed.start, parsed.end) == ("custom", date(2026, 9, 1), date(2026, 9, 30))
    assert parsed.models == ("x-ai/grok-3-mini", "openai/gpt-5-2025-08-07")  # order kept
    assert (parsed.providers, parsed.apps, parsed.keys, parsed.workspace) == (
        ("Azure",),
        ("Cline",),
        ("b" * 64,),
        "Research",
    )
    assert encode(Filters(date(2026, 1, 1), date(2026, 1, 2), "30d")) == {"range": "30d"}


def test_an_empty_query_string_is_the_default() -> None:
    parsed, notes = parse({}, ALLOWED, TODAY)
    assert parsed == Filters.preset("30d", TODAY) and notes == ()


def test_from_and_to_alone_mean_custom() -> None:
    parsed, notes = parse({"from": ["2026-09-01"], "to": ["2026-09-02"]}, ALLOWED, TODAY)
    assert (parsed.range, parsed.start, parsed.end, notes) == ("custom", date(2026, 9, 1), date(2026, 9, 2), ())


HOSTILE: list[tuple[dict[str, list[str]], str]] = [
    ({"models": ["x') OR 1=1 --"]}, "models: `x') OR 1=1 --` is not known"),
    ({"models": ["openai/gpt-5-2025-08-07'; DROP TABLE activity; --"]}, "is not known"),
    ({"providers": ["<script>alert(1)</script>"]}, "providers:"),
    ({"apps": ["`rm -rf`"]}, "apps: `?rm -rf?`"),
    ({"keys": ["' UNION SELECT * FROM api_keys --"]}, "keys:"),
    ({"workspace": ["Research' OR '1'='1"]}, "workspace:"),
    ({"range": ["1; DROP"]}, "range: `1; DROP` is not one of"),
    ({"range": ["custom"], "from": ["2026-02-30"], "to": ["2026-03-01"]}, "needs `from` and `to`"),
    ({"range": ["custom"], "from": ["2026-10-10"], "to": ["2026-10-01"]}, "`from` is after `to`"),
    ({"range": ["custom"], "from": ["2026-11-01"], "to": ["2026-11-20"]}, "completed UTC days"),
    ({"range": ["custom"], "from": ["1900-01-01"], "to": ["2026-11-01"]}, "days must lie between"),
    ({"range": ["custom"], "from": ["20261001"], "to": ["2026-10-02"]}, "YYYY-MM-DD"),
    ({"range": ["7d"], "from": ["2026-10-01"]}, "only used with range=custom"),
    ({"order_by": ["spend; DROP TABLE x"]}, "unknown parameter `order_by`"),
    ({"workspace": ["Research", "Other"]}, "only one value allowed"),
]


@pytest.mark.parametrize("params,note", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_values_are_dropped_with_a_note(params: dict[str, list[str]], note: str) -> None:
    parsed, notes = parse(params, ALLOWED, TODAY)
    assert any(note in n for n in notes), notes
    # Nothing that is not allowed survives: the query runs as without it.
    assert set(parsed.models) <= set(ALLOWED.models)
    assert set(parsed.providers) <= set(ALLOWED.providers)
    assert set(parsed.apps) <= set(ALLOWED.apps)
    assert set(parsed.keys) <= set(ALLOWED.keys)
    assert parsed.workspace in (None, *ALLOWED.workspaces)
    assert parsed.range in RANGES
    if parsed.range != "custom":
        assert (parsed.start, parsed.end) == range_days(parsed.range, TODAY)


def test_good_values_survive_next_to_bad_ones() -> None:
    parsed, notes = parse({"models": ["nope", "x-ai/grok-3-mini", "x-ai/grok-3-mini"]}, ALLOWED, TODAY)
    assert parsed.models == ("x-ai/grok-3-mini",)
    assert len(notes) == 1


def test_notes_are_safe_to_print() -> None:
    _parsed, notes = parse({"apps": ["a`b\nc" + "x" * 100]}, ALLOWED, TODAY)
    (note,) = notes
    assert "\n" not in note and "`b" not in note and "…" in note and len(note) < 100


def test_too_many_values_are_cut() -> None:
    many = Allowed(models={f"m/{i}" for i in range(200)})
    parsed, _notes = parse({"models": [f"m/{i}" for i in range(200)]}, many, TODAY)
    assert len(parsed.models) == urlstate.MAX_VALUES


def test_the_model_page_subject() -> None:
    assert subject([], ALLOWED) == (None, None)
    assert subject(["google/unused"], ALLOWED) == ("google/unused", None)
    chosen, note = subject(["../../etc/passwd"], ALLOWED)
    assert chosen is None and note is not None and "not known" in note


# ---- members, teams, the Explore page's view, a click on a value -------------------------------------------

WITH_PEOPLE = Allowed(**{**ALLOWED.__dict__, "members": {"Dana Whitfield", "Kenji"}, "teams": {"research", "support"}})


def test_members_and_teams_round_trip_after_the_old_parameters() -> None:
    day = date(2026, 11, 3)
    chosen = Filters(day, day, "custom", apps=("Cline",), members=("Kenji", "Dana Whitfield"), teams=("support",))
    params = encode(chosen)
    # The existing parameters keep their names and their order; the new ones follow.
    assert list(params) == ["range", "from", "to", "apps", "members", "teams"]
    as_lists = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    parsed, notes = parse(as_lists, WITH_PEOPLE, TODAY)
    assert notes == () and parsed == chosen


def test_unknown_members_and_teams_are_dropped_with_a_note() -> None:
    parsed, notes = parse({"members": ["Mallory", "Kenji"], "teams": ["'; DROP TABLE x"]}, WITH_PEOPLE, TODAY)
    assert parsed.members == ("Kenji",) and parsed.teams == ()
    assert any("members: `Mallory`" in n for n in notes) and any(n.startswith("teams:") for n in notes)


def test_a_click_on_a_value_sets_that_filter_alone() -> None:
    chosen = Filters(TODAY, TODAY, "7d", providers=("Azure", "OpenAI"), apps=("Cline",))
    opened = urlstate.with_value(chosen, "providers", "OpenAI", WITH_PEOPLE)
    assert opened == Filters(TODAY, TODAY, "7d", providers=("OpenAI",), apps=("Cline",))
    assert urlstate.with_value(chosen, "workspace", "Research", WITH_PEOPLE) == Filters(
        TODAY, TODAY, "7d", providers=("Azure", "OpenAI"), apps=("Cline",), workspace="Research"
    )
    assert urlstate.with_value(chosen, "members", "Kenji", WITH_PEOPLE) is not None
    assert urlstate.with_value(chosen, "providers", "Nobody", WITH_PEOPLE) is None
    assert urlstate.with_value(chosen, "range", "7d", WITH_PEOPLE) is None


def test_the_explore_view_in_the_link() -> None:
    from dashboard import explore_url

    assert explore_url.parse({}) == (explore_url.View(), ())
    view, notes = explore_url.parse({"by": ["member"], "then": ["date"], "metric": ["tokens"], "top": ["20"]})
    assert view == explore_url.View("member", "date", "tokens", 20) and notes == ()
    assert explore_url.encode(view) == {"by": "member", "then": "date", "metric": "tokens", "top": "20"}
    assert explore_url.encode(explore_url.View()) == {}, "a plain page keeps a plain link"
    # "then" defaults to the model, unless the model is what "by" groups by.
    assert explore_url.parse({"by": ["model"]})[0].then == explore_url.NONE
    bad, notes = explore_url.parse({"by": ["spend; --"], "then": ["app"], "metric": ["cost"], "top": ["7"]})
    assert bad == explore_url.View(then=explore_url.NONE) and len(notes) == 4
    assert explore_url.parse_per_day({"per_day": ["price"]}) == ("price", ())
    assert explore_url.parse_per_day({"per_day": ["<b>"]})[0] == "spend"
