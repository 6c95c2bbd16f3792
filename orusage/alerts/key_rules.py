"""Key hygiene as alerts (``queries.key_hygiene`` finds the issues, for the API keys page too).

* near its limit → ``key_limit``, one per key and limit period; a recovery notice once it no longer is
  (the limit reset, or was raised);
* expiring → ``key_expiring``, once per expiry date; unused → ``key_unused``, once per last use; no limit
  → ``key_no_limit``, once per key. These close without a message when they no longer hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orusage.alerts.config import AccountRules
from orusage.alerts.findings import (
    ACCOUNT_BUDGET,
    KEY_EXPIRING,
    KEY_LIMIT,
    KEY_NO_LIMIT,
    KEY_UNUSED,
    AlertKey,
    Finding,
    Recovery,
)
from queries import key_hygiene as kh

_KINDS = {kh.NEAR_LIMIT: KEY_LIMIT, kh.EXPIRING: KEY_EXPIRING, kh.UNUSED: KEY_UNUSED, kh.NO_LIMIT: KEY_NO_LIMIT}
_TITLES = {
    kh.NEAR_LIMIT: "API key {name!r} is near its limit",
    kh.EXPIRING: "API key {name!r} expires on {when}",
    kh.UNUSED: "API key {name!r} is unused",
    kh.NO_LIMIT: "API key {name!r} has no spending limit",
}


def key_outcomes(
    issues: Sequence[kh.KeyIssue], rules: AccountRules, active: Sequence[AlertKey], names: Mapping[str, str]
) -> list[Finding | Recovery]:
    """``active``: the open alerts' keys; ``names``: key hash → name, for the recovery notices."""
    out: list[Finding | Recovery] = []
    for issue in issues:
        kind = _KINDS[issue.kind]
        threshold = {
            KEY_LIMIT: rules.key_limit_percent,
            KEY_EXPIRING: float(rules.key_expiry_days),
            KEY_UNUSED: float(rules.key_unused_days),
        }.get(kind, 0.0)
        text = issue.text[0].upper() + issue.text[1:] + "."
        out.append(
            Finding(
                AlertKey(ACCOUNT_BUDGET, kind, issue.hash, issue.period, threshold),
                _TITLES[issue.kind].format(name=issue.name, when=issue.when),
                text,
            )
        )
    near = {(o.key.subject, o.key.period) for o in out if o.key.kind == KEY_LIMIT}
    for key in active:
        if key.kind == KEY_LIMIT and (key.subject, key.period) not in near:
            name = names.get(key.subject, key.subject[:12])
            out.append(
                Recovery(
                    key,
                    f"API key {name!r} is no longer near its limit",
                    f"Key {name!r} is no longer near its limit of the period {key.period.replace(':', ' from ')}: "
                    "the limit reset, or was raised.",
                )
            )
    return out
