"""The one filter value: which UTC days and which models, providers, apps, keys, workspace, members and teams a
view shows.

Made once at the edge (``dashboard.urlstate.parse`` from a link, ``dashboard.filters.sidebar`` from the
widgets, both checked against what the store knows), then handed unchanged to every read down to the SQL,
where each value is a bound ``VARCHAR[]`` parameter. A field has the name of its URL parameter all the way
down (``models`` in the link, here and in the statement's parameters). Pure: no I/O.

A team is not a dimension of any table: it stands for its keys, apps or members (as the last alerts run
resolved them, ``cost_centres``), so a team filter becomes that dimension's filter (``TeamScope``), met
with whatever that dimension's own filter chose. The one allocation of spend to teams (the Teams page,
Explore by team: ``queries.allocation``) reads ``teams`` instead: the chosen teams' lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from core import fmt
from queries.reads_routing import Dim

CUSTOM = "custom"
DEFAULT_RANGE = "30d"
RANGES: dict[str, str] = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "month": "This month",
    "last-month": "Last month",
    "year": "This year",
    CUSTOM: "Custom",
}


def range_days(key: str, today: date) -> tuple[date, date]:
    """A preset's completed UTC days. "This month" on the 1st has none: (start, start - 1 day)."""
    yesterday = today - timedelta(days=1)
    if key in ("7d", "30d", "90d"):
        return yesterday - timedelta(days=int(key[:-1]) - 1), yesterday
    if key == "month":
        return today.replace(day=1), yesterday
    if key == "last-month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if key == "year":
        return today.replace(month=1, day=1), yesterday
    raise ValueError(f"not a preset: {key!r}")


# A value no row holds: what a filter becomes when a team and a dimension's own choice have nothing in common.
NOTHING = "\x00nothing"
# The dimension each kind of team member (``cost_centres.kind``) stands for.
TEAM_KINDS: dict[str, Dim] = {"key": Dim.KEY, "app": Dim.APP, "member": Dim.MEMBER}


@dataclass(frozen=True)
class TeamScope:
    """What the chosen teams stand for: the values of one dimension, or why they cannot be one filter."""

    dim: Dim | None
    values: tuple[str, ...] = ()
    problem: str | None = None


def team_scope(chosen: Sequence[str], teams: Mapping[str, tuple[str, tuple[str, ...]]]) -> TeamScope | None:
    """The chosen teams (names) as one dimension's values; ``teams``: name -> (kind, values)."""
    found = [teams[t] for t in chosen if t in teams]
    if not found:
        return None
    kinds = sorted({kind for kind, _ in found})
    apart = [kind for kind in kinds if kind not in TEAM_KINDS]
    if apart:  # teams of tags: only per-generation records hold them
        return TeamScope(None, problem=f"teams of {apart[0]}s are no filter of these figures")
    if len(kinds) > 1:
        return TeamScope(
            None,
            problem=f"the chosen teams hold {' and '.join(k + 's' for k in kinds)}: a filter keeps one kind "
            "(choose teams of one kind, or see the Teams page, which allocates each request once)",
        )
    values = tuple(sorted({v for _, vs in found for v in vs}))
    return TeamScope(TEAM_KINDS[kinds[0]], values or (NOTHING,))


@dataclass(frozen=True)
class Filters:
    """UTC days ``start``..``end`` (both included; ``range`` names the preset they came from) and the values
    each dimension is limited to: an empty tuple (or no workspace) means all."""

    start: date
    end: date
    range: str = CUSTOM
    models: tuple[str, ...] = ()  # permaslugs
    providers: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()  # key hashes
    workspace: str | None = None
    members: tuple[str, ...] = ()  # members as analytics name them (`user`)
    teams: tuple[str, ...] = ()  # team names; ``team`` holds what they stand for
    team: TeamScope | None = None
    accounts: tuple[str, ...] = ()  # account names (queries.accounts)

    @classmethod
    def preset(cls, key: str, today: date, **values: tuple[str, ...] | str | TeamScope | None) -> Filters:
        start, end = range_days(key, today)
        return cls(start, end, key, **values)  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        """The range as a page says it: "last 30 days", or its days."""
        return fmt.day_range(self.start, self.end) if self.range == CUSTOM else RANGES[self.range].lower()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def own(self, dim: Dim) -> tuple[str, ...]:
        """The values chosen for ``dim`` itself (teams aside)."""
        if dim is Dim.WORKSPACE:
            return (self.workspace,) if self.workspace else ()
        return {
            Dim.MODEL: self.models,
            Dim.PROVIDER: self.providers,
            Dim.APP: self.apps,
            Dim.KEY: self.keys,
            Dim.MEMBER: self.members,
            Dim.END_USER: (),
            Dim.ACCOUNT: self.accounts,
        }[dim]

    def values(self, dim: Dim) -> tuple[str, ...]:
        """What ``dim`` is limited to: its own choice, met with the teams' values when they are of ``dim``."""
        own = self.own(dim)
        if self.team is None or self.team.dim is not dim:
            return own
        if not own:
            return self.team.values
        return tuple(v for v in own if v in self.team.values) or (NOTHING,)

    @property
    def dims(self) -> frozenset[Dim]:
        """The dimensions these filters limit."""
        return frozenset(d for d in Dim if self.values(d))

    @property
    def team_problem(self) -> str | None:
        """Why the chosen teams cannot be one filter (None when they can, or none is chosen)."""
        return self.team.problem if self.team is not None else None

    def over(self, start: date, end: date) -> Filters:
        """The same values over other days (a custom range)."""
        return replace(self, start=start, end=end, range=CUSTOM)

    def previous(self) -> Filters:
        """The same values over the period of equal length just before this one."""
        return self.over(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def everything(start: date, end: date) -> Filters:
    """Every model, provider, app, key and workspace over ``start``..``end``: account-wide figures."""
    return Filters(start, end)
