"""User entities and what hangs off a user: keys, emails, memberships, contribution events.

User entities nest: ``UserBasic`` ⊂ ``User`` ⊂ ``UserPublic`` ⊂ ``UserWithAdmin`` ⊂
``UserDetailsWithAdmin``. Sign-in IPs and ``sign_in_count`` exist only in the last one, which
only ``GET /users/:id`` (and ``GET /user``) as an administrator returns. ``user_type`` is not
exposed by the REST users API; clients tell bots apart by ``bot`` and the username pattern.
"""

from __future__ import annotations

import hashlib
from typing import Any

from console.drill.model import ContribEvent, Email, GpgKey, Member, SshKey, User
from console.drill.state import DrillState

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
    return {
        "id": u.id,
        "username": u.username,
        "name": u.name,
        "email": u.email,
        "public_email": u.public_email or None,
    }


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
