"""The fake accounts: workspaces, API keys, apps and the management key.

``build_account`` is the demo account; ``second_account`` a separate, smaller organisation (its own workspaces,
members, keys and management key) that one server can serve beside it, as OpenRouter serves every account
from one base URL. Apps are OpenRouter's, not an account's: both accounts' traffic can name the same app.

Dates are absolute (never relative to ``now``) so that every fake agrees on which key and app produced which
traffic on a given day; only states that depend on the present (is a key disabled yet?) look at ``now``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fake_openrouter.keys import (
    DEMO_API_KEY,
    DEMO_API_KEY_NAME,
    DEMO_MANAGEMENT_KEY,
    DEMO_MANAGEMENT_KEY_NAME,
    DEMO_SECOND_API_KEY,
    DEMO_SECOND_API_KEY_NAME,
    DEMO_SECOND_MANAGEMENT_KEY,
    DEMO_SECOND_MANAGEMENT_KEY_NAME,
    key_hash,
    key_label,
)

_NS = uuid.UUID("0b7f4a39-22c8-4a43-8a51-6d3c1f2e9b10")
USER_ID = "user_2vFakeDemoOwner0000000000"
MEMBER_ID = "user_2vFakeDemoMember000000000"
ANALYST_ID = "user_2vFakeDemoAnalyst00000000"
CONTRACTOR_ID = "user_2vFakeDemoContractor00000"


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    slug: str
    description: str | None
    is_default: bool
    created_at: datetime
    created_by: str | None

    @property
    def default_guardrail_id(self) -> str:
        return str(uuid.uuid5(_NS, f"guardrail/{self.id}"))


@dataclass(frozen=True)
class Member:
    """A member of the organization; generations carry the id of their key's creator."""

    id: str
    first_name: str | None
    last_name: str | None
    email: str
    role: str  # "org:admin" or "org:member"
    joined_at: datetime

    @property
    def display_name(self) -> str:
        """How analytics labels a member: the full name, else the email."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email


MEMBERS: tuple[Member, ...] = (
    Member(USER_ID, "Dana", "Whitfield", "dana@acme-labs.example", "org:admin", _ts("2024-11-02T08:15:00")),
    Member(MEMBER_ID, "Ravi", "Menon", "ravi@acme-labs.example", "org:member", _ts("2025-02-10T09:30:00")),
    Member(ANALYST_ID, "Sofia", "Lindqvist", "sofia@acme-labs.example", "org:admin", _ts("2025-07-28T13:05:00")),
    # Real members can lack a last name: the spec makes both name fields nullable.
    Member(CONTRACTOR_ID, "Kenji", None, "kenji.contractor@example.net", "org:member", _ts("2026-07-01T10:00:00")),
)


@dataclass(frozen=True)
class App:
    app_id: int
    title: str | None
    origin: str
    http_referer: str

    @property
    def label(self) -> str:
        """How analytics names an app: its title, else its origin URL."""
        return self.title if self.title else self.origin


@dataclass(frozen=True)
class ApiKey:
    hash: str
    name: str
    workspace_id: str
    created_at: datetime
    limit: float | None = None
    limit_reset: str | None = None
    include_byok_in_limit: bool = False
    creator_user_id: str | None = USER_ID
    disabled_on: date | None = None  # traffic stops that day; the key reads as disabled from then on
    traffic_share: float = 0.0  # 0: an idle key
    apps: tuple[tuple[int | None, float], ...] = ((None, 1.0),)  # (app_id or unattributed, share)
    reasoning_tilt: float = 1.0  # how much more this key favours reasoning models
    external_users: bool = False  # whether its apps pass a `user` id

    @property
    def label(self) -> str:
        return key_label(self.hash)

    def active_on(self, day: date) -> bool:
        if self.traffic_share <= 0 or self.created_at.date() > day:
            return False
        return self.disabled_on is None or day < self.disabled_on

    def disabled(self, now: datetime) -> bool:
        return self.disabled_on is not None and now.date() >= self.disabled_on

    def updated_at(self, now: datetime) -> datetime | None:
        if self.disabled(now) and self.disabled_on is not None:
            return datetime(self.disabled_on.year, self.disabled_on.month, self.disabled_on.day, 9, 12, tzinfo=UTC)
        return None


@dataclass(frozen=True)
class ManagementKey:
    hash: str
    name: str
    created_at: datetime

    @property
    def label(self) -> str:
        return key_label(self.hash)


def _ws(
    slug: str, name: str, desc: str | None, created: str, default: bool = False, scope: str = "", owner: str = USER_ID
) -> Workspace:
    """A workspace; ``scope`` keeps another account's ids apart (every account has a "default" slug)."""
    return Workspace(
        id=str(uuid.uuid5(_NS, f"workspace/{scope}{slug}")),
        name=name,
        slug=slug,
        description=desc,
        is_default=default,
        created_at=_ts(created),
        created_by=owner,
    )


WORKSPACES: tuple[Workspace, ...] = (
    _ws("default", "Default Workspace", None, "2024-11-02T08:15:00", default=True),
    _ws("research", "Research", "Evals and offline batch jobs", "2025-03-10T14:02:00"),
    _ws("client-projects", "Client Projects", "Work billed to clients", "2025-08-01T10:30:00"),
)
DEFAULT_WORKSPACE, RESEARCH, CLIENTS = WORKSPACES

APPS: tuple[App, ...] = (
    App(301245, "Acme Support Bot", "https://support.acme.example", "https://support.acme.example/chat"),
    App(301388, "Docs Assistant", "https://docs.example.com", "https://docs.example.com/"),
    App(302017, "SQL Copilot", "https://sqlcopilot.example.io", "https://sqlcopilot.example.io/app"),
    App(118834, "Cline", "https://cline.bot", "https://cline.bot/"),
    App(126502, "Roo Code", "https://roocode.com", "https://roocode.com/"),
    App(140921, "Open WebUI", "https://openwebui.com", "https://openwebui.com/"),
    App(133760, "LibreChat", "https://librechat.ai", "https://librechat.ai/"),
    App(305511, None, "https://internal.tools.example", "https://internal.tools.example/reports"),
    App(306002, "Newsletter Summarizer", "https://newsletter.example.org", "https://newsletter.example.org/"),
    App(307450, "Mobile Companion", "https://app.companion.example", "https://app.companion.example/"),
    App(308123, "Eval Harness", "https://evals.example.net", "https://evals.example.net/run"),
    App(309876, None, "http://localhost:3000", "http://localhost:3000/"),
)
APPS_BY_ID: dict[int, App] = {a.app_id: a for a in APPS}


def _key(name: str, ws: Workspace, created: str, **kw: object) -> ApiKey:
    secret_hash = key_hash(DEMO_API_KEY) if name == DEMO_API_KEY_NAME else key_hash(f"fake-openrouter/{name}")
    return ApiKey(hash=secret_hash, name=name, workspace_id=ws.id, created_at=_ts(created), **kw)  # type: ignore[arg-type]


ACTIVE_KEYS: tuple[ApiKey, ...] = (
    _key(DEMO_API_KEY_NAME, DEFAULT_WORKSPACE, "2024-11-05T09:00:00", traffic_share=0.34,
         apps=((301245, 0.35), (301388, 0.25), (306002, 0.1), (None, 0.3)), external_users=True),
    _key("staging", DEFAULT_WORKSPACE, "2025-01-20T16:45:00", traffic_share=0.07, limit=50.0,
         limit_reset="weekly", apps=((301245, 0.3), (301388, 0.2), (None, 0.5))),
    _key("internal-tools", DEFAULT_WORKSPACE, "2025-02-14T11:20:00", traffic_share=0.08, limit=25.0,
         limit_reset="daily", apps=((140921, 0.5), (305511, 0.3), (None, 0.2)), creator_user_id=MEMBER_ID),
    _key("data-pipeline", RESEARCH, "2025-03-12T07:55:00", traffic_share=0.14, limit=400.0, limit_reset="monthly",
         include_byok_in_limit=True, apps=((302017, 0.4), (None, 0.6)), reasoning_tilt=2.5),
    _key("notebooks", RESEARCH, "2025-04-02T13:10:00", traffic_share=0.06,
         apps=((309876, 0.6), (None, 0.4)), reasoning_tilt=2.0, creator_user_id=MEMBER_ID),
    _key("client-acme", CLIENTS, "2025-08-04T10:00:00", traffic_share=0.12, limit=250.0, limit_reset="monthly",
         apps=((118834, 0.4), (126502, 0.3), (302017, 0.3)), external_users=True, creator_user_id=ANALYST_ID),
    _key("legacy-bot", DEFAULT_WORKSPACE, "2024-11-20T18:30:00", traffic_share=0.05, limit=100.0,
         disabled_on=date(2026, 5, 4), apps=((133760, 0.7), (None, 0.3)),
         creator_user_id=None),  # created at the org level: analytics shows its traffic with an empty `user`
    _key("mobile-app", DEFAULT_WORKSPACE, "2026-07-15T12:00:00", traffic_share=0.10,
         apps=((307450, 0.9), (None, 0.1)), external_users=True, creator_user_id=CONTRACTOR_ID),
    _key("eval-harness", RESEARCH, "2026-02-10T08:40:00", traffic_share=0.05, apps=((308123, 1.0),),
         reasoning_tilt=3.0, creator_user_id=MEMBER_ID),
)  # fmt: skip

MANAGEMENT_KEY = ManagementKey(
    hash=key_hash(DEMO_MANAGEMENT_KEY), name=DEMO_MANAGEMENT_KEY_NAME, created_at=_ts("2024-11-02T08:20:00")
)


@dataclass(frozen=True)
class Account:
    workspaces: tuple[Workspace, ...]
    keys: tuple[ApiKey, ...]  # traffic keys first, then idle ones
    apps: tuple[App, ...]
    management_key: ManagementKey
    members: tuple[Member, ...] = MEMBERS
    user_id: str = USER_ID

    @property
    def default_workspace(self) -> Workspace:
        return next(w for w in self.workspaces if w.is_default)

    def key_by_hash(self, hash_hex: str) -> ApiKey | None:
        return next((k for k in self.keys if k.hash == hash_hex), None)

    def workspace(self, workspace_id: str) -> Workspace | None:
        return next((w for w in self.workspaces if w.id == workspace_id), None)

    def member(self, user_id: str) -> Member | None:
        return next((m for m in self.members if m.id == user_id), None)


def build_account(idle_keys: int = 0) -> Account:
    """The account; ``idle_keys`` extra keys without traffic (in the default workspace) exercise paging."""
    start = _ts("2026-01-05T09:00:00")
    idle = tuple(
        _key(f"idle-{i:03d}", DEFAULT_WORKSPACE, (start + timedelta(minutes=7 * i)).isoformat()[:19])
        for i in range(idle_keys)
    )
    return Account(workspaces=WORKSPACES, keys=ACTIVE_KEYS + idle, apps=APPS, management_key=MANAGEMENT_KEY)


# ---- The second account: another organisation, served by the same fake (the management key chooses) --------

SECOND_USER_ID = "user_2vFakeSecondOwner00000000"
SECOND_MEMBER_ID = "user_2vFakeSecondMember0000000"
SECOND_VOLUME = 0.35  # its generations a day, as a share of the demo account's
_SECOND = "second/"

SECOND_MEMBERS: tuple[Member, ...] = (
    Member(SECOND_USER_ID, "Amara", "Okafor", "amara@northwind-studio.example", "org:admin",
           _ts("2025-03-03T09:00:00")),
    Member(SECOND_MEMBER_ID, "Lucas", "Moreau", "lucas@northwind-studio.example", "org:member",
           _ts("2025-04-14T10:20:00")),
)  # fmt: skip

SECOND_WORKSPACES: tuple[Workspace, ...] = (
    _ws("default", "Default Workspace", None, "2025-03-03T09:00:00", default=True, scope=_SECOND, owner=SECOND_USER_ID),
    _ws("agents", "Agents", "Coding agents and catalogue batch jobs", "2025-05-19T15:40:00", scope=_SECOND,
        owner=SECOND_USER_ID),
)  # fmt: skip
SECOND_DEFAULT_WORKSPACE, SECOND_AGENTS = SECOND_WORKSPACES

SECOND_APPS: tuple[App, ...] = (
    APPS_BY_ID[118834],  # Cline and Open WebUI: public apps the demo account's traffic names too
    APPS_BY_ID[140921],
    App(311204, "Northwind Storefront", "https://shop.northwind.example", "https://shop.northwind.example/"),
    App(311377, "Catalog Tagger", "https://tagger.northwind.example", "https://tagger.northwind.example/jobs"),
)


def _second_key(name: str, ws: Workspace, created: str, **kw: object) -> ApiKey:
    """A key of the second account: its hash differs from the demo account's key of the same name."""
    secret = DEMO_SECOND_API_KEY if name == DEMO_SECOND_API_KEY_NAME else f"fake-openrouter/second/{name}"
    kw.setdefault("creator_user_id", SECOND_USER_ID)
    return ApiKey(hash=key_hash(secret), name=name, workspace_id=ws.id, created_at=_ts(created), **kw)  # type: ignore[arg-type]


SECOND_ACTIVE_KEYS: tuple[ApiKey, ...] = (
    _second_key(DEMO_SECOND_API_KEY_NAME, SECOND_DEFAULT_WORKSPACE, "2025-03-04T10:00:00", traffic_share=0.42,
                apps=((311204, 0.75), (None, 0.25)), external_users=True),
    _second_key("staging", SECOND_DEFAULT_WORKSPACE, "2025-03-20T14:30:00", traffic_share=0.08, limit=20.0,
                limit_reset="weekly", apps=((311204, 0.5), (None, 0.5))),
    _second_key("catalog-batch", SECOND_AGENTS, "2025-05-20T08:00:00", traffic_share=0.2, limit=150.0,
                limit_reset="monthly", apps=((311377, 0.85), (None, 0.15)), reasoning_tilt=2.0,
                creator_user_id=SECOND_MEMBER_ID),
    _second_key("coding-agents", SECOND_AGENTS, "2025-06-02T11:15:00", traffic_share=0.25,
                apps=((118834, 0.6), (140921, 0.4)), reasoning_tilt=1.5, creator_user_id=SECOND_MEMBER_ID),
    _second_key("old-prototype", SECOND_DEFAULT_WORKSPACE, "2025-03-05T16:00:00", traffic_share=0.05,
                disabled_on=date(2026, 3, 16), apps=((None, 1.0),)),
)  # fmt: skip

SECOND_MANAGEMENT_KEY = ManagementKey(
    hash=key_hash(DEMO_SECOND_MANAGEMENT_KEY),
    name=DEMO_SECOND_MANAGEMENT_KEY_NAME,
    created_at=_ts("2025-03-03T09:10:00"),
)


def second_account(idle_keys: int = 0) -> Account:
    """The second account; ``idle_keys`` extra keys without traffic (in its default workspace), as for the demo."""
    start = _ts("2026-01-12T09:00:00")
    idle = tuple(
        _second_key(f"idle-{i:03d}", SECOND_DEFAULT_WORKSPACE, (start + timedelta(minutes=11 * i)).isoformat()[:19])
        for i in range(idle_keys)
    )
    return Account(
        workspaces=SECOND_WORKSPACES,
        keys=SECOND_ACTIVE_KEYS + idle,
        apps=SECOND_APPS,
        management_key=SECOND_MANAGEMENT_KEY,
        members=SECOND_MEMBERS,
        user_id=SECOND_USER_ID,
    )
