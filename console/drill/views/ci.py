"""CI/CD and integration entities: runners and their managers, variables, hooks, deploy keys.

Secrets stay out: a hook's token is write-only and a hidden variable's value is null.
"""

from __future__ import annotations

from typing import Any

from console.drill.model import DeployKey, Hook, Runner, Variable
from console.drill.state import DrillState
from console.drill.views.namespaces import project_identity
from console.drill.views.users import user_basic


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
            "projects": [
                project_identity(state, state.projects[p])
                for p in r.project_ids
                if p in state.projects
            ],
            "groups": [
                {
                    "id": g,
                    "web_url": f"{state.url}/groups/{state.group_path(g)}",
                    "name": state.groups[g].name,
                }
                for g in r.group_ids
                if g in state.groups
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


_SYSTEM_EVENTS = (
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "repository_update_events",
)
_PROJECT_EVENTS = (
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "repository_update_events",
    "issues_events",
    "confidential_issues_events",
    "note_events",
    "confidential_note_events",
    "pipeline_events",
    "wiki_page_events",
    "job_events",
    "deployment_events",
    "feature_flag_events",
    "releases_events",
    "emoji_events",
    "resource_access_token_events",
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
        "projects_with_readonly_access": [project_identity(state, state.projects[p]) for p in read],
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
