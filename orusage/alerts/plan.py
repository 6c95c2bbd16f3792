"""What a run changes, from what the rules found and what the store already holds: a pure function.

* An alert whose key is stored (in any state) is never raised again: each alert is sent once. Threshold
  keys hold the percentage, not the dollar amount, so raising a limit re-evaluates against the new limit
  without resending what was sent; a higher threshold crossed later is a new key and is sent.
* Thresholds of one budget period newly crossed in the same run: only the highest is sent, and only if it
  is above every threshold already recorded for that period; the others are recorded as ``suppressed``.
* A recovery clears an ``active`` forecast, spike or stale-data alert and sends a notice, once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from orusage.alerts.findings import RECOVERABLE, THRESHOLD, AlertKey, Finding, Recovery

ACTIVE = "active"
SUPPRESSED = "suppressed"
CLEARED = "cleared"


@dataclass(frozen=True)
class StoredAlert:
    alert_id: int
    key: AlertKey
    status: str


@dataclass(frozen=True)
class NewAlert:
    finding: Finding
    status: str  # active (sent) | suppressed (recorded only)


@dataclass(frozen=True)
class Clear:
    alert_id: int
    recovery: Recovery


@dataclass(frozen=True)
class Plan:
    new: tuple[NewAlert, ...] = ()
    clears: tuple[Clear, ...] = ()

    @property
    def raised(self) -> list[Finding]:
        return [n.finding for n in self.new if n.status == ACTIVE]

    def __bool__(self) -> bool:
        return bool(self.new or self.clears)


def plan(outcomes: Sequence[Finding | Recovery], stored: Sequence[StoredAlert]) -> Plan:
    known = {s.key: s for s in stored}
    fresh: dict[AlertKey, Finding] = {}
    for outcome in outcomes:
        if isinstance(outcome, Finding) and outcome.key not in known:
            fresh.setdefault(outcome.key, outcome)

    recorded_top: dict[tuple[str, str], float] = {}
    for s in stored:
        if s.key.kind == THRESHOLD:
            group = (s.key.budget, s.key.period)
            recorded_top[group] = max(recorded_top.get(group, 0.0), s.key.threshold)
    crossed: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    new: list[NewAlert] = []
    for finding in fresh.values():
        if finding.key.kind == THRESHOLD:
            crossed[(finding.key.budget, finding.key.period)].append(finding)
        else:
            new.append(NewAlert(finding, ACTIVE))
    for group, findings in crossed.items():
        top = max(findings, key=lambda f: f.key.threshold)
        for finding in sorted(findings, key=lambda f: f.key.threshold):
            sent = finding is top and finding.key.threshold > recorded_top.get(group, 0.0)
            new.append(NewAlert(finding, ACTIVE if sent else SUPPRESSED))

    clears: list[Clear] = []
    cleared: set[AlertKey] = set()
    for outcome in outcomes:
        if not isinstance(outcome, Recovery) or outcome.key in cleared:
            continue
        existing = known.get(outcome.key)
        if existing is not None and existing.status == ACTIVE and existing.key.kind in RECOVERABLE:
            clears.append(Clear(existing.alert_id, outcome))
            cleared.add(outcome.key)
    new.sort(key=lambda n: n.finding.key)
    return Plan(tuple(new), tuple(clears))
