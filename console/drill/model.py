"""The drill's plain records: one dataclass per GitLab object, no behaviour beyond a few flags.

Timestamps are the exact strings GitLab sends (``timefmt.iso``): every one is UTC with the same
width, so string order is time order. The mutable instance that holds them is ``state``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

# GitLab user types (``users.user_type``). Group access-token bots are ``project_bot`` users in
# GitLab too; the drill keeps them apart only by their ``group_<id>_bot_<hex>`` username.
HUMAN = "human"
PROJECT_BOT = "project_bot"
SERVICE_ACCOUNT = "service_account"
INTERNAL_TYPES = frozenset(
    {
        "alert_bot",
        "support_bot",
        "ghost",
        "migration_bot",
        "security_bot",
        "automation_bot",
        "admin_bot",
        "visual_review_bot",
    }
)
BOT_TYPES = frozenset(
    {
        PROJECT_BOT,
        SERVICE_ACCOUNT,
        "alert_bot",
        "support_bot",
        "migration_bot",
        "security_bot",
        "automation_bot",
        "admin_bot",
        "visual_review_bot",
    }
)

STATES = ("active", "blocked", "banned", "deactivated", "blocked_pending_approval", "ldap_blocked")

ACCESS_NAMES = {
    10: "Guest",
    15: "Planner",
    20: "Reporter",
    30: "Developer",
    40: "Maintainer",
    50: "Owner",
}


@dataclass(slots=True)
class User:
    id: int
    username: str
    name: str
    email: str
    state: str
    user_type: str
    is_admin: bool
    two_factor: bool
    external: bool
    created_at: str
    created_by: int | None
    confirmed_at: str | None
    last_sign_in_at: str | None
    current_sign_in_at: str | None
    last_activity_on: str | None
    current_sign_in_ip: str | None
    last_sign_in_ip: str | None
    sign_in_count: int
    identities: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None
    locked: bool = False
    public_email: str = ""
    bio: str = ""
    job_title: str = ""
    organization: str = ""
    private_profile: bool = False
    projects_limit: int = 100_000
    can_create_group: bool = True
    can_create_project: bool = True
    namespace_id: int = 0
    updated_at: str = ""
    password_expires_at: str | None = None
    auditor: bool = False

    @property
    def bot(self) -> bool:
        return self.user_type in BOT_TYPES

    @property
    def internal(self) -> bool:
        return self.user_type in INTERNAL_TYPES

    @property
    def ldap(self) -> bool:
        return any(str(i.get("provider", "")).startswith("ldap") for i in self.identities)

    @property
    def blocked_like(self) -> bool:
        return self.state in ("blocked", "ldap_blocked", "blocked_pending_approval")


@dataclass(slots=True)
class Token:
    """A personal, impersonation, service-account or resource (group/project bot) token."""

    id: int
    user_id: int
    name: str
    value: str
    scopes: list[str]
    created_at: str
    expires_at: str | None  # YYYY-MM-DD
    revoked: bool = False
    last_used_at: str | None = None
    last_used_ips: list[str] = field(default_factory=list)
    description: str = ""
    impersonation: bool = False
    resource_type: str | None = None  # "group" | "project" for access tokens
    resource_id: int | None = None
    access_level: int | None = None
    previous_id: int | None = None  # the token this one was rotated from
    rotated_to: int | None = None

    def expired(self, today: date) -> bool:
        return self.expires_at is not None and date.fromisoformat(self.expires_at) <= today

    def active(self, today: date) -> bool:
        return not self.revoked and not self.expired(today)


@dataclass(slots=True)
class SshKey:
    id: int
    user_id: int
    title: str
    key: str
    created_at: str
    expires_at: str | None = None
    usage_type: str = "auth_and_signing"
    last_used_at: str | None = None


@dataclass(slots=True)
class GpgKey:
    id: int
    user_id: int
    key: str
    created_at: str


@dataclass(slots=True)
class Email:
    id: int
    user_id: int
    email: str
    confirmed_at: str | None


@dataclass(slots=True)
class Group:
    id: int
    name: str
    path: str
    full_path: str
    description: str
    created_at: str
    visibility: str = "private"
    parent_id: int | None = None
    require_two_factor_authentication: bool = False
    two_factor_grace_period: int = 48


@dataclass(slots=True)
class Project:
    id: int
    name: str
    path: str
    group_id: int
    description: str
    created_at: str
    visibility: str = "private"
    default_branch: str = "main"
    creator_id: int = 1
    last_activity_at: str = ""


@dataclass(slots=True)
class Member:
    source_type: str  # "Namespace" (group) | "Project"
    source_id: int
    user_id: int
    access_level: int
    created_at: str
    created_by: int | None = 1
    expires_at: str | None = None


@dataclass(slots=True)
class Runner:
    id: int
    description: str
    runner_type: str  # instance_type | group_type | project_type
    created_at: str
    contacted_at: str | None
    token: str
    token_expires_at: str | None = None
    paused: bool = False
    tag_list: list[str] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    project_ids: list[int] = field(default_factory=list)
    ip_address: str = ""
    version: str = "18.4.0"
    platform: str = "linux"
    architecture: str = "amd64"
    creator_id: int | None = 1
    locked: bool = False
    run_untagged: bool = True
    access_level: str = "not_protected"
    maximum_timeout: int | None = None
    maintenance_note: str | None = None
    system_id: str = ""


@dataclass(slots=True)
class Variable:
    scope: str  # instance | group | project
    owner_id: int  # 0 for instance
    key: str
    value: str
    variable_type: str = "env_var"
    protected: bool = False
    masked: bool = False
    hidden: bool = False
    raw: bool = False
    environment_scope: str = "*"
    description: str | None = None


@dataclass(slots=True)
class Hook:
    id: int
    scope: str  # system | group | project
    owner_id: int
    url: str
    created_at: str
    token: str = ""
    name: str | None = None
    description: str | None = None
    events: dict[str, bool] = field(default_factory=dict)
    enable_ssl_verification: bool = True
    push_events_branch_filter: str | None = None
    branch_filter_strategy: str = "wildcard"
    created_by: int = 1


@dataclass(slots=True)
class DeployToken:
    id: int
    name: str
    username: str
    token: str
    scopes: list[str]
    expires_at: str | None
    created_at: str
    owner_type: str  # group | project
    owner_id: int
    revoked: bool = False


@dataclass(slots=True)
class DeployKey:
    id: int
    title: str
    key: str
    fingerprint: str
    fingerprint_sha256: str
    created_at: str
    expires_at: str | None = None
    usage_type: str = "auth"
    user_id: int = 1
    projects: dict[int, bool] = field(default_factory=dict)  # project id -> can_push
    last_used_at: str | None = None


@dataclass(slots=True)
class OAuthApp:
    """An instance-wide OAuth application (the only kind the REST API can list or delete)."""

    id: int
    application_id: str
    name: str
    secret: str
    callback_url: str
    scopes: list[str]
    created_at: str
    confidential: bool = True
    owner_id: int | None = None  # None: instance-wide; user-owned apps are invisible to REST


@dataclass(slots=True)
class AuditEvent:
    id: int
    author_id: int
    entity_id: int
    entity_type: str
    event_name: str | None
    details: dict[str, Any]
    created_at: str


@dataclass(slots=True)
class ContribEvent:
    id: int
    user_id: int
    project_id: int | None
    action_name: str
    target_type: str | None
    target_title: str | None
    created_at: str
    push_data: dict[str, Any] | None = None
    target_id: int | None = None
