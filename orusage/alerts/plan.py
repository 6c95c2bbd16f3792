"""What a run changes, from what the rules found and what the store already holds: a pure function.

* An alert whose key is stored (in any state) is never raised again: each alert is sent once. Threshold
  keys hold the percentage, not the dollar amount, so raising a limit re-evaluates against the new limit
  without resending what was sent; a higher threshold crossed later is a new key and is sent.
* Thresholds of one budget period newly crossed in the same run: only the highest is sent, and only if it
  is above every threshold already recorded for that period; the others are recorded as ``suppressed``.
  A period's end reports a threshold only if no alert of that period already reported it or a higher one.
* A recovery clears an ``active`` alert of a recoverable kind and sends a notice, once; acknowledging an
  alert does not stop its recovery notice.
* An open alert that still holds is sent again every ``remind_hours`` (kinds in ``REMINDABLE``; thresholds
  from 100 %), unless it was acknowledged or its rule and scope are snoozed.
* An open one-off notice (a threshold of a period that has ended, a price change, …) that no longer holds
  is closed without a message; so is any alert of a budget no longer in the config.
* While a rule and scope are snoozed, what it raises or clears is recorded with its deliveries ``muted``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from orusage.alerts.findings import (
    ACCOUNT_BUDGET,
    PERIOD_END,
    RECOVERABLE,
    REMINDABLE,
    THRESHOLD,
    AlertKey,
    Finding,
    Recovery,
)

ACTIVE = "active"
SUPPRESSED = "suppressed"
CLEARED = "cleared"
CLOSED = "closed"


@dataclass(frozen=True)
class StoredAlert:
    alert_id: int
    key: AlertKey
    status: str
    acked: bool = False
    notified_at: datetime | None = None


@dataclass(frozen=True)
class NewAlert:
    finding: Finding
    status: str  # active (sent) | suppressed (recorded only)
    muted: bool = False  # its rule and scope are snoozed: recorded, not sent


@dataclass(frozen=True)
class Clear:
    alert_id: int
    recovery: Recovery
    muted: bool = False


@dataclass(frozen=True)
class Reminder:
    alert_id: int
    finding: Finding


@dataclass(frozen=True)
class Plan:
    new: tuple[NewAlert, ...] = ()
    clears: tuple[Clear, ...] = ()
    reminders: tuple[Reminder, ...] = ()
    closes: tuple[int, ...] = field(default=())

    @property
    def raised(self) -> list[Finding]:
        return [n.finding for n in self.new if n.status == ACTIVE]

    def __bool__(self) -> bool:
        return bool(self.new or self.clears or self.reminders or self.closes)


def _muted(key: AlertKey, snoozed: Collection[tuple[str, str, str]]) -> bool:
    return (key.budget, key.kind, key.subject) in snoozed


def _remindable(key: AlertKey) -> bool:
    return key.kind in REMINDABLE and (key.kind != THRESHOLD or key.threshold >= 100)


def plan(
    outcomes: Sequence[Finding | Recovery],
    stored: Sequence[StoredAlert],
    *,
    now: datetime | None = None,
    remind_hours: float = 0.0,
    snoozed: Collection[tuple[str, str, str]] | Mapping[tuple[str, str, str], datetime] = (),
    budgets: Collection[str] | None = None,
) -> Plan:
    """``budgets``: the budgets this run evaluated (None: keep every budget's alerts open)."""
    known = {s.key: s for s in stored}
    found: dict[AlertKey, Finding] = {}
    for outcome in outcomes:
        if isinstance(outcome, Finding):
            found.setdefault(outcome.key, outcome)
    fresh = {k: f for k, f in found.items() if k not in known}

    recorded_top: dict[tuple[str, str], float] = {}
    for s in stored:
        if s.key.kind in (THRESHOLD, PERIOD_END):
            group = (s.key.budget, s.key.period)
            recorded_top[group] = max(recorded_top.get(group, 0.0), s.key.threshold)
    crossed: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    new: list[NewAlert] = []
    for finding in fresh.values():
        if finding.key.kind == THRESHOLD:
            crossed[(finding.key.budget, finding.key.period)].append(finding)
        elif finding.key.kind == PERIOD_END:
            if finding.key.threshold > recorded_top.get((finding.key.budget, finding.key.period), 0.0):
                new.append(NewAlert(finding, ACTIVE, _muted(finding.key, snoozed)))
        else:
            new.append(NewAlert(finding, ACTIVE, _muted(finding.key, snoozed)))
    for group, findings in crossed.items():
        top = max(findings, key=lambda f: f.key.threshold)
        for finding in sorted(findings, key=lambda f: f.key.threshold):
            sent = finding is top and finding.key.threshold > recorded_top.get(group, 0.0)
            new.append(NewAlert(finding, ACTIVE if sent else SUPPRESSED, _muted(finding.key, snoozed)))

    clears: list[Clear] = []
    cleared: set[AlertKey] = set()
    for outcome in outcomes:
        if not isinstance(outcome, Recovery) or outcome.key in cleared:
            continue
        existing = known.get(outcome.key)
        if existing is not None and existing.status == ACTIVE and existing.key.kind in RECOVERABLE:
            clears.append(Clear(existing.alert_id, outcome, _muted(outcome.key, snoozed)))
            cleared.add(outcome.key)

    reminders: list[Reminder] = []
    closes: list[int] = []
    for s in stored:
        if s.status != ACTIVE or s.key in cleared:
            continue
        if budgets is not None and s.key.budget != ACCOUNT_BUDGET and s.key.budget not in budgets:
            closes.append(s.alert_id)
        elif s.key not in found:
            if s.key.kind not in RECOVERABLE:
                closes.append(s.alert_id)
        elif (
            remind_hours > 0
            and now is not None
            and not s.acked
            and not _muted(s.key, snoozed)
            and _remindable(s.key)
            and (s.notified_at is None or now - s.notified_at >= timedelta(hours=remind_hours))
        ):
            reminders.append(Reminder(s.alert_id, found[s.key]))
    new.sort(key=lambda n: n.finding.key)
    return Plan(tuple(new), tuple(clears), tuple(reminders), tuple(closes))
