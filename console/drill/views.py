"""JSON shapes, following GitLab's Grape entities (``lib/api/entities``).

User entities nest: ``UserBasic`` ⊂ ``User`` ⊂ ``UserPublic`` ⊂ ``UserWithAdmin`` ⊂
``UserDetailsWithAdmin``. Sign-in IPs and ``sign_in_count`` exist only in the last one, which
only ``GET /users/:id`` (and ``GET /user``) as an administrator returns. ``user_type`` is not
exposed by the REST users API; clients tell bots apart by ``bot`` and the username pattern.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from console.drill.model import (
    AuditEvent,
    ContribEvent,
    DeployKey,
    DeployToken,
    Email,
    GpgKey,
    Group,
    Hook,
    Member,
    OAuthApp,
    Project,
    Runner,
    SshKey,
    Token,
    User,
    Variable,
)
from console.drill.state import DrillState
from console.drill.timefmt import iso

_avatar_cache: dict[str, str] = {}


def avatar_url(email: str) -> str:
    cached = _avatar_cache.get(email)
    if cached is None:
        digest = hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()
        cached = f"https://www.gravatar.com/avatar/{digest}?s=80&d=identicon"
        _avatar_cache[email] = cached
    return cached


def user_basic(state: DrillState, u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "name": u.name,
        "state": u.state,
        "locked": u.locked,
        "avatar_url": avatar_url(u.email),
        "web_url": f"{state.url}/{u.username}",
    }


def user_profile(state: DrillState, u: User) -> dict[str, Any]:
    """``API::Entities::User`` — what a non-admin gets from ``GET /users/:id``."""
    data = user_basic(state, u)
    data.update(
        {
            "created_at": u.created_at,
            "bio": u.bio,
            "location": "",
            "public_email": u.public_email,
            "skype": "",
            "linkedin": "",
            "twitter": "",
            "discord": "",
            "website_url": "",
            "organization": u.organization,
            "job_title": u.job_title,
            "pronouns": None,
            "bot": u.bot,
            "work_information": u.organization or None,
            "followers": 0,
            "following": 0,
            "is_followed": False,
            "local_time": None,
        }
    )
    return data


def user_public(state: DrillState, u: User) -> dict[str, Any]:
    data = user_profile(state, u)
    data.update(
        {
            "last_sign_in_at": u.last_sign_in_at,
            "confirmed_at": u.confirmed_at,
            "last_activity_on": u.last_activity_on,
            "email": u.email,
            "theme_id": 3,
            "color_scheme_id": 1,
            "projects_limit": u.projects_limit,
            "current_sign_in_at": u.current_sign_in_at,
            "identities": [dict(i) for i in u.identities],
            "can_create_group": u.can_create_group,
            "can_create_project": u.can_create_project,
            "two_factor_enabled": u.two_factor,
            "external": u.external,
            "private_profile": u.private_profile,
            "commit_email": u.email,
            "shared_runners_minutes_limit": None,
            "extra_shared_runners_minutes_limit": None,
            "scim_identities": [],
        }
    )
    return data


def user_with_admin(state: DrillState, u: User) -> dict[str, Any]:
    """``UserWithAdmin`` — the admin list shape. No sign-in IPs here (source-verified)."""
    data = user_public(state, u)
    creator = state.users.get(u.created_by) if u.created_by is not None else None
    data.update(
        {
            "is_admin": u.is_admin,
            "note": u.note,
            "namespace_id": u.namespace_id,
            "created_by": user_basic(state, creator) if creator is not None else None,
            "is_auditor": u.auditor,
            "using_license_seat": u.user_type == "human" and u.state == "active",
            "provisioned_by_group_id": None,
            "enterprise_group_id": None,
            "enterprise_group_associated_at": None,
        }
    )
    return data


def user_details_with_admin(state: DrillState, u: User, highest_role: int) -> dict[str, Any]:
    data = user_with_admin(state, u)
    data.update(
        {
            "highest_role": highest_role,
            "current_sign_in_ip": u.current_sign_in_ip,
            "last_sign_in_ip": u.last_sign_in_ip,
            "sign_in_count": u.sign_in_count,
            "plan": "ultimate" if state.tier == "ultimate" else state.tier,
            "trial": False,
        }
    )
    return data


def service_account(state: DrillState, u: User) -> dict[str, Any]:
    return {"id": u.id, "username": u.username, "name": u.name, "email": u.email,
            "public_email": u.public_email or None}


def pat(t: Token, *, with_token: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": t.id,
        "name": t.name,
        "revoked": t.revoked,
        "created_at": t.created_at,
        "description": t.description,
        "scopes": list(t.scopes),
        "user_id": t.user_id,
        "last_used_at": t.last_used_at,
        "active": not t.revoked and not _expired(t),
        "expires_at": t.expires_at,
        "last_used_ips": list(t.last_used_ips),
    }
    if t.impersonation:
        data["impersonation"] = True
    if with_token:
        data["token"] = t.value
    return data


def _expired(t: Token) -> bool:
    return t.expires_at is not None and date.fromisoformat(t.expires_at) <= datetime.now(UTC).date()


def resource_token(t: Token, *, with_token: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "user_id": t.user_id,
        "active": not t.revoked and not _expired(t),
        "granular": False,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "revoked": t.revoked,
        "access_level": t.access_level or 40,
        "scopes": list(t.scopes),
        "last_used_at": t.last_used_at,
        "resource_type": t.resource_type or "project",
        "resource_id": t.resource_id or 0,
    }
    if with_token:
        data["token"] = t.value
    return data


def ssh_key(k: SshKey) -> dict[str, Any]:
    return {
        "id": k.id,
        "title": k.title,
        "created_at": k.created_at,
        "expires_at": k.expires_at,
        "key": k.key,
        "usage_type": k.usage_type,
        "last_used_at": k.last_used_at,
    }


def gpg_key(k: GpgKey) -> dict[str, Any]:
    return {"id": k.id, "key": k.key, "created_at": k.created_at}


def email(e: Email) -> dict[str, Any]:
    return {"id": e.id, "email": e.email, "confirmed_at": e.confirmed_at}


def group(state: DrillState, g: Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "web_url": f"{state.url}/groups/{g.full_path}",
        "name": g.name,
        "path": g.path,
        "description": g.description,
        "visibility": g.visibility,
        "share_with_group_lock": False,
        "require_two_factor_authentication": g.require_two_factor_authentication,
        "two_factor_grace_period": g.two_factor_grace_period,
        "project_creation_level": "developer",
        "auto_devops_enabled": None,
        "subgroup_creation_level": "maintainer",
        "emails_disabled": False,
        "emails_enabled": True,
        "mentions_disabled": None,
        "lfs_enabled": True,
        "default_branch": None,
        "default_branch_protection": 2,
        "avatar_url": None,
        "request_access_enabled": True,
        "full_name": g.full_path.replace("/", " / "),
        "full_path": g.full_path,
        "created_at": g.created_at,
        "parent_id": g.parent_id,
        "organization_id": 1,
        "shared_runners_setting": "enabled",
        "ldap_cn": None,
        "ldap_access": None,
        "marked_for_deletion_on": None,
    }


def project(state: DrillState, p: Project) -> dict[str, Any]:
    g = state.groups.get(p.group_id)
    ns_path = g.full_path if g is not None else ""
    ns_name = g.name if g is not None else ""
    path_with_ns = f"{ns_path}/{p.path}"
    return {
        "id": p.id,
        "description": p.description,
        "name": p.name,
        "name_with_namespace": f"{ns_name} / {p.name}",
        "path": p.path,
        "path_with_namespace": path_with_ns,
        "created_at": p.created_at,
        "default_branch": p.default_branch,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": f"git@drill.invalid:{path_with_ns}.git",
        "http_url_to_repo": f"{state.url}/{path_with_ns}.git",
        "web_url": f"{state.url}/{path_with_ns}",
        "readme_url": None,
        "forks_count": 0,
        "avatar_url": None,
        "star_count": 0,
        "last_activity_at": p.last_activity_at or p.created_at,
        "visibility": p.visibility,
        "namespace": {
            "id": p.group_id,
            "name": ns_name,
            "path": g.path if g is not None else "",
            "kind": "group",
            "full_path": ns_path,
            "parent_id": g.parent_id if g is not None else None,
            "avatar_url": None,
            "web_url": f"{state.url}/groups/{ns_path}",
        },
        "creator_id": p.creator_id,
        "archived": False,
    }


def project_identity(state: DrillState, p: Project) -> dict[str, Any]:
    g = state.groups.get(p.group_id)
    ns_name = g.name if g is not None else ""
    return {
        "id": p.id,
        "description": p.description,
        "name": p.name,
        "name_with_namespace": f"{ns_name} / {p.name}",
        "path": p.path,
        "path_with_namespace": state.project_path(p.id),
        "created_at": p.created_at,
    }


def member(state: DrillState, m: Member) -> dict[str, Any]:
    u = state.users[m.user_id]
    data = user_basic(state, u)
    creator = state.users.get(m.created_by) if m.created_by is not None else None
    data.update(
        {
            "access_level": m.access_level,
            "created_at": m.created_at,
            "created_by": user_basic(state, creator) if creator is not None else None,
            "expires_at": m.expires_at,
            "is_using_seat": u.user_type == "human",
            "membership_state": "active",
        }
    )
    return data


def membership(state: DrillState, m: Member) -> dict[str, Any]:
    if m.source_type == "Project":
        p = state.projects.get(m.source_id)
        name = p.name if p is not None else ""
    else:
        g = state.groups.get(m.source_id)
        name = g.name if g is not None else ""
    return {
        "source_id": m.source_id,
        "source_name": name,
        "source_type": m.source_type,
        "access_level": m.access_level,
    }


def runner(r: Runner) -> dict[str, Any]:
    """``GET /runners/all`` list row (``API::Entities::Ci::Runner``)."""
    return {
        "id": r.id,
        "description": r.description,
        "ip_address": "",  # empty since 17.0: IPs live on runner managers
        "active": not r.paused,
        "paused": r.paused,
        "is_shared": r.runner_type == "instance_type",
        "runner_type": r.runner_type,
        "name": "gitlab-runner",
        "online": r.contacted_at is not None,
        "created_by": None,
        "created_at": r.created_at,
        "status": "online" if r.contacted_at is not None else "never_contacted",
        "job_execution_status": "idle",
    }


def runner_detail(state: DrillState, r: Runner) -> dict[str, Any]:
    data = runner(r)
    creator = state.users.get(r.creator_id) if r.creator_id is not None else None
    data.update(
        {
            "created_by": user_basic(state, creator) if creator is not None else None,
            "tag_list": list(r.tag_list),
            "run_untagged": r.run_untagged,
            "locked": r.locked,
            "maximum_timeout": r.maximum_timeout,
            "access_level": r.access_level,
            "maintenance_note": r.maintenance_note,
            "contacted_at": r.contacted_at,
            "version": "",
            "revision": "",
            "platform": "",
            "architecture": "",
            "projects": [project_identity(state, state.projects[p])
                         for p in r.project_ids if p in state.projects],
            "groups": [
                {"id": g, "web_url": f"{state.url}/groups/{state.group_path(g)}",
                 "name": state.groups[g].name}
                for g in r.group_ids if g in state.groups
            ],
        }
    )
    return data


def runner_manager(r: Runner) -> dict[str, Any]:
    return {
        "id": r.id * 10 + 1,
        "system_id": r.system_id,
        "version": r.version,
        "revision": "0e5d8a5b",
        "platform": r.platform,
        "architecture": r.architecture,
        "created_at": r.created_at,
        "contacted_at": r.contacted_at,
        "ip_address": r.ip_address,
        "status": "online" if r.contacted_at is not None else "never_contacted",
    }


def variable(v: Variable) -> dict[str, Any]:
    data: dict[str, Any] = {
        "variable_type": v.variable_type,
        "key": v.key,
        # Hidden variables never reveal their value (GitLab returns null).
        "value": None if v.hidden else v.value,
        "protected": v.protected,
        "masked": v.masked,
        "raw": v.raw,
        "description": v.description,
    }
    if v.scope != "instance":
        data["environment_scope"] = v.environment_scope
        data["hidden"] = v.hidden
    return data


_SYSTEM_EVENTS = ("push_events", "tag_push_events", "merge_requests_events",
                  "repository_update_events")
_PROJECT_EVENTS = (
    "push_events", "tag_push_events", "merge_requests_events", "repository_update_events",
    "issues_events", "confidential_issues_events", "note_events", "confidential_note_events",
    "pipeline_events", "wiki_page_events", "job_events", "deployment_events",
    "feature_flag_events", "releases_events", "emoji_events", "resource_access_token_events",
)
_GROUP_EXTRA = ("subgroup_events", "member_events")


def hook(h: Hook) -> dict[str, Any]:
    """Hook JSON. The secret ``token`` is write-only and never serialised."""
    data: dict[str, Any] = {
        "id": h.id,
        "url": h.url,
        "name": h.name,
        "description": h.description,
        "created_at": h.created_at,
    }
    names: tuple[str, ...] = _SYSTEM_EVENTS if h.scope == "system" else _PROJECT_EVENTS
    if h.scope == "group":
        names = names + _GROUP_EXTRA
    for name in names:
        data[name] = bool(h.events.get(name, name == "push_events"))
    data.update(
        {
            "enable_ssl_verification": h.enable_ssl_verification,
            "alert_status": "executable",
            "disabled_until": None,
            "url_variables": [],
            "custom_webhook_template": None,
            "custom_headers": [],
            "push_events_branch_filter": h.push_events_branch_filter,
            "branch_filter_strategy": h.branch_filter_strategy,
        }
    )
    if h.scope == "project":
        data["project_id"] = h.owner_id
    elif h.scope == "group":
        data["group_id"] = h.owner_id
    return data


def deploy_token(t: DeployToken, *, with_token: bool = False) -> dict[str, Any]:
    expired = t.expires_at is not None and t.expires_at <= (iso(datetime.now(UTC)) or "")
    data: dict[str, Any] = {
        "id": t.id,
        "name": t.name,
        "username": t.username,
        "expires_at": t.expires_at,
        "scopes": list(t.scopes),
        "revoked": t.revoked,
        "expired": expired,
    }
    if with_token:
        data["token"] = t.token
    return data


def deploy_key_admin(state: DrillState, k: DeployKey) -> dict[str, Any]:
    write = [p for p, push in k.projects.items() if push and p in state.projects]
    read = [p for p, push in k.projects.items() if not push and p in state.projects]
    return {
        "id": k.id,
        "title": k.title,
        "created_at": k.created_at,
        "expires_at": k.expires_at,
        "last_used_at": k.last_used_at,
        "key": k.key,
        "fingerprint": k.fingerprint,
        "fingerprint_sha256": k.fingerprint_sha256,
        "usage_type": k.usage_type,
        "projects_with_write_access": [project_identity(state, state.projects[p]) for p in write],
        "projects_with_readonly_access": [project_identity(state, state.projects[p])
                                          for p in read],
    }


def deploy_key_project(k: DeployKey, project_id: int) -> dict[str, Any]:
    return {
        "id": k.id,
        "title": k.title,
        "created_at": k.created_at,
        "expires_at": k.expires_at,
        "key": k.key,
        "fingerprint": k.fingerprint,
        "fingerprint_sha256": k.fingerprint_sha256,
        "usage_type": k.usage_type,
        "can_push": k.projects.get(project_id, False),
    }


def oauth_app(a: OAuthApp) -> dict[str, Any]:
    """``GET /applications`` row: the secret is never listed (only POST returns it once)."""
    return {
        "id": a.id,
        "application_id": a.application_id,
        "application_name": a.name,
        "callback_url": a.callback_url,
        "confidential": a.confidential,
    }


def audit_event(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "author_id": e.author_id,
        "entity_id": e.entity_id,
        "entity_type": e.entity_type,
        "event_name": e.event_name,
        "details": e.details,
        "created_at": e.created_at,
    }


def contrib_event(state: DrillState, e: ContribEvent) -> dict[str, Any]:
    u = state.users.get(e.user_id)
    data: dict[str, Any] = {
        "id": e.id,
        "project_id": e.project_id,
        "action_name": e.action_name,
        "target_id": e.target_id,
        "target_iid": e.target_id,
        "target_type": e.target_type,
        "author_id": e.user_id,
        "target_title": e.target_title,
        "created_at": e.created_at,
        "author": user_basic(state, u) if u is not None else None,
        "imported": False,
        "imported_from": "none",
        "author_username": u.username if u is not None else None,
    }
    if e.push_data is not None:
        data["push_data"] = e.push_data
    return data
