"""A large organisation's account, for benchmarks: many keys, models, apps and members on the fake's own
generator (``dataset.build(..., large=LargeAccount())``), so every endpoint agrees as it does for the demo.

Like the demo account, everything is fixed in absolute time and derived from indices, so two builds agree.
The catalogue keeps the demo's models and adds variants of them (``<id>-v<n>``, their own endpoints, a
fraction of the popularity); keys are spread over the demo's three workspaces, each serving a few apps of
its own; members created keys in turn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from fake_openrouter.account import MANAGEMENT_KEY, MEMBERS, WORKSPACES, Account, ApiKey, App, Member
from fake_openrouter.catalog import MODELS, Model
from fake_openrouter.keys import key_hash

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # before the fake's history begins: every key has a full year


@dataclass(frozen=True)
class LargeAccount:
    """How large: counts, and how many more generations a day than the demo account (``volume``)."""

    keys: int = 50
    models: int = 300
    apps: int = 200
    members: int = 12
    volume: float = 20.0


def catalog(count: int) -> tuple[Model, ...]:
    """The demo's models, then variants of them up to ``count``."""
    models = list(MODELS[:count])
    for i in range(len(models), count):
        base = MODELS[i % len(MODELS)]
        models.append(
            replace(
                base,
                id=f"{base.id}-v{i}",
                canonical_slug=f"{base.canonical_slug}-v{i}",
                name=f"{base.name} (v{i})",
                popularity=base.popularity * (0.2 + 0.6 * ((i * 37) % 11) / 10),
            )
        )
    return tuple(models)


def _members(count: int) -> tuple[Member, ...]:
    extra = tuple(
        Member(
            f"user_2vFakeLargeMember{i:07d}",
            f"Member{i}",
            "Large",
            f"member{i}@large-org.example",
            "org:member",
            START - timedelta(days=30 - i),
        )
        for i in range(max(0, count - len(MEMBERS)))
    )
    return MEMBERS + extra


def account(size: LargeAccount) -> Account:
    """``size.keys`` keys with traffic over ``size.apps`` apps, in the demo's workspaces."""
    members = _members(size.members)
    apps = tuple(
        App(500_000 + a, f"Large App {a:03d}" if a % 7 else None, f"https://app{a:03d}.large-org.example",
            f"https://app{a:03d}.large-org.example/")
        for a in range(size.apps)
    )  # fmt: skip
    keys = []
    for k in range(size.keys):
        own = [apps[(k * 4 + j) % size.apps].app_id for j in range(4)]
        shared = apps[(k * 13 + 7) % size.apps].app_id
        keys.append(
            ApiKey(
                hash=key_hash(f"fake-openrouter/large/{k}"),
                name=f"large-key-{k:02d}",
                workspace_id=WORKSPACES[k % len(WORKSPACES)].id,
                created_at=START + timedelta(hours=k),
                limit=float(100 * (k % 5)) if k % 5 else None,
                limit_reset="monthly" if k % 5 else None,
                creator_user_id=members[k % len(members)].id,
                traffic_share=1.0 / (1 + k % 10),
                apps=((own[0], 0.4), (own[1], 0.2), (own[2], 0.1), (own[3], 0.1), (shared, 0.1), (None, 0.1)),
                reasoning_tilt=1.0 + (k % 4) * 0.5,
                external_users=k % 3 == 0,
            )
        )
    return Account(workspaces=WORKSPACES, keys=tuple(keys), apps=apps, management_key=MANAGEMENT_KEY, members=members)
