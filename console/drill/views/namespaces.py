"""Group, project and member entities (``/groups``, ``/projects``, their ``/members``)."""

from __future__ import annotations

from typing import Any

from console.drill.model import Group, Member, Project
from console.drill.state import DrillState
from console.drill.views.users import user_basic


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
