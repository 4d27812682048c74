"""What a user left behind, read from GitLab and from the audit events they authored.

Two sources, because neither is enough alone: GitLab's lists show what the user *owns* (their
tokens and keys); only the audit log shows what they created *for other accounts* (an
impersonation token for root, a PAT on a colleague, an admin flag, a membership, a hook, a
runner, a deploy token, an OAuth application, a changed variable). Each finding is a
:class:`Finding`: an action, a target and a line saying why; contain.py orders them into steps.
Audit events are raw API dicts or ``console.audit.AuditEvent`` objects (:data:`AuditInput`);
:func:`authored_by` turns each into one flat mapping (:data:`EventFields`) that the rest reads.
All text is raw server text (sanitised where it is displayed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import gitlab

from actions.hook_actions import DeleteHook
from actions.key_actions import DeleteSshKey, DisableDeployKey, RevokeDeployToken
from actions.membership_actions import ChangeMemberLevel, RemoveMember, level_of
from actions.model import JSON, Action, Target
from actions.oauth_actions import DeleteOAuthApp
from actions.resource import read_or_gone
from actions.runner_actions import DeleteRunner
from actions.settings_actions import RemoveAdmin
from actions.token_actions import RevokeToken, token_kind_of
from actions.transport import HttpFailure, get_json
from actions.variable_actions import SetVariableValue
from console.audit.model import AuditEvent

#: an audit event as given: a raw API dict or a normalised (cached) event
AuditInput: TypeAlias = Mapping[str, Any] | AuditEvent
#: an audit event's top-level fields by name (its ``details`` under ``"details"``)
EventFields: TypeAlias = Mapping[str, Any]

MAX_PAGES = 50
_TOKEN_ID = re.compile(r"(?:with id|token_id:)\s*(\d+)")
_HOOK_SCOPES = {"SystemHook": "system", "GroupHook": "group", "ProjectHook": "project"}
_VAR_EVENTS = {
    "ci_variable": "project",
    "ci_group_variable": "group",
    "ci_instance_variable": "instance",
}


@dataclass(frozen=True)
class Finding:
    """One foothold: ``group`` orders it into a step (see ``contain.STEP_ORDER``)."""

    group: str
    action: Action
    target: Target
    why: str
    needs_input: str = ""


def pages(gl: gitlab.Gitlab, path: str, **query: JSON) -> list[Mapping[str, JSON]]:
    """Every row of a paginated list (offset pages of 100)."""
    out: list[Mapping[str, JSON]] = []
    for page in range(1, MAX_PAGES + 1):
        body = get_json(gl, path, per_page=100, page=page, **query)
        rows = [r for r in body if isinstance(r, Mapping)] if isinstance(body, list) else []
        out.extend(rows)
        if len(rows) < 100:
            break
    return out


def event_fields(event: AuditInput) -> EventFields:
    """The event's fields by name: a raw dict as it is, a normalised event as its dict."""
    return event.to_dict() if isinstance(event, AuditEvent) else event


def field(event: EventFields, key: str) -> Any:
    """A top-level field of an event, else the same key in its ``details``."""
    value = event.get(key)
    details = event.get("details") or {}
    if value in (None, "") and isinstance(details, Mapping):
        value = details.get(key)
    return value


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def authored_by(events: Iterable[AuditInput], user_id: int, since: str | None) -> list[EventFields]:
    """The events ``user_id`` authored at or after ``since``, oldest first."""
    out = [
        e
        for e in map(event_fields, events)
        if as_int(field(e, "author_id")) == user_id
        and (since is None or str(field(e, "created_at") or "") >= since)
    ]
    out.sort(key=lambda e: str(field(e, "created_at") or ""))
    return out


def owned_findings(gl: gitlab.Gitlab, user_id: int) -> list[Finding]:
    """The user's own active tokens and SSH keys (GPG keys: see ``contain``, the responder
    chooses revoke or delete)."""
    found: list[Finding] = []
    for tok in pages(gl, "/personal_access_tokens", user_id=user_id, state="active"):
        if token_kind_of(tok)[0] == "personal":
            found.append(
                Finding(
                    "own_tokens",
                    RevokeToken(),
                    _token_target(tok),
                    "a personal access token of the user",
                )
            )
    for tok in pages(gl, f"/users/{user_id}/impersonation_tokens", state="active"):
        found.append(
            Finding(
                "own_tokens",
                RevokeToken(kind="impersonation", owner_id=user_id),
                _token_target(tok),
                "an impersonation token of the user",
            )
        )
    for key in pages(gl, f"/users/{user_id}/keys"):
        found.append(
            Finding(
                "keys",
                DeleteSshKey(user_id=user_id),
                Target("ssh_key", int(key["id"]), str(key.get("title") or "")),
                "an SSH key of the user",
            )
        )
    return found


def _token_target(tok: Mapping[str, JSON]) -> Target:
    return Target("token", int(tok["id"]), str(tok.get("name") or f"token {tok['id']}"))


def audit_findings(
    gl: gitlab.Gitlab, user_id: int, events: Iterable[AuditInput], *, since: str | None = None
) -> list[Finding]:
    """Footholds the user's audit trail shows they created for others, or changed."""
    found: list[Finding] = []
    for e in authored_by(events, user_id, since):
        name = str(field(e, "event_name") or "")
        finding = _from_event(gl, user_id, name, e)
        if finding is not None:
            found.append(finding)
    return found


def _from_event(gl: gitlab.Gitlab, uid: int, name: str, e: EventFields) -> Finding | None:
    entity_type = str(field(e, "entity_type") or "")
    entity_id = as_int(field(e, "entity_id")) or 0
    target_id = as_int(field(e, "target_id"))
    target_type = str(field(e, "target_type") or "")
    label = str(field(e, "target_details") or "")
    source = {"Group": "group", "Project": "project"}.get(entity_type)
    if name == "personal_access_token_created" and target_id not in (None, uid):
        return _token_for_other(gl, e, target_id or 0)
    if name in ("group_access_token_created", "project_access_token_created") and source:
        # "Created group access token with token_id: 12 …": the message names the token even
        # where the target is the bot user
        match = _TOKEN_ID.search(str(field(e, "custom_message") or ""))
        token_id = int(match.group(1)) if match else target_id
        if token_id is None:
            return None
        return Finding(
            "other_tokens",
            RevokeToken(kind=source, owner_id=entity_id),
            Target("token", token_id, label),
            f"a {source} access token they made",
        )
    if (
        name == "add_ssh_key"
        and entity_type == "User"
        and entity_id != uid
        and target_id is not None
    ):
        return Finding(
            "keys",
            DeleteSshKey(user_id=entity_id),
            Target("ssh_key", target_id, label),
            "an SSH key they added to another account",
        )
    if (
        name in ("deploy_token_created", "group_deploy_token_created")
        and source
        and target_id is not None
    ):
        return Finding(
            "deploy",
            RevokeDeployToken(owner_type=source, owner_id=entity_id),
            Target("deploy_token", target_id, label),
            "a deploy token they created",
        )
    if name == "deploy_key_added" and source == "project" and target_id is not None:
        return Finding(
            "deploy",
            DisableDeployKey(project_id=entity_id),
            Target("deploy_key", target_id, label),
            "a deploy key they added",
        )
    if name == "webhook_created" and target_type in _HOOK_SCOPES and target_id is not None:
        scope = _HOOK_SCOPES[target_type]
        return Finding(
            "hooks",
            DeleteHook(scope=scope, owner_id=0 if scope == "system" else entity_id),
            Target("hook", target_id, label),
            f"a {scope} hook they created",
        )
    if name in ("ci_runner_created", "ci_runner_registered") and target_id is not None:
        return Finding(
            "runners",
            DeleteRunner(),
            Target("runner", target_id, label),
            "a runner they registered",
        )
    if name == "oauth_application_created" and target_id is not None:
        return Finding(
            "oauth",
            DeleteOAuthApp(),
            Target("oauth_application", target_id, label),
            "an OAuth application they created",
        )
    if (
        name == "user_admin_status_updated"
        and str(field(e, "to")) == "true"
        and target_id not in (None, uid)
    ):
        return Finding(
            "admin",
            RemoveAdmin(),
            Target("user", target_id or 0, label),
            "an account they made administrator",
        )
    if name == "member_created" and source and target_id is not None:
        # to another account, or to themselves (it would come back on unblock)
        return Finding(
            "members",
            RemoveMember(source=source, source_id=entity_id),
            Target("member", target_id, label),
            f"a {source} membership they granted",
        )
    if name == "member_updated" and source and target_id is not None:
        return _level_back(e, source, entity_id, target_id, label)
    for prefix, scope in _VAR_EVENTS.items():
        if name in (f"{prefix}_created", f"{prefix}_updated"):
            key = label or str(field(e, "target_id") or "")
            owner = 0 if scope == "instance" else entity_id
            return Finding(
                "variables",
                SetVariableValue(scope=scope, owner_id=owner, key=key),
                Target("variable", owner, key),
                f"a {scope} variable they changed",
                needs_input=f"a new value for {key}",
            )
    return None


def _level_back(
    e: EventFields, source: str, source_id: int, target_id: int, label: str
) -> Finding | None:
    if str(field(e, "change") or "") != "access_level":
        return None
    before, after = level_of(str(field(e, "from") or "")), level_of(str(field(e, "to") or ""))
    if before is None or after is None or after <= before:
        return None
    return Finding(
        "members",
        ChangeMemberLevel(source=source, source_id=source_id, level=before),
        Target("member", target_id, label),
        f"access they raised from {field(e, 'from')} to {field(e, 'to')}",
    )


def _token_for_other(gl: gitlab.Gitlab, e: EventFields, owner_id: int) -> Finding | None:
    match = _TOKEN_ID.search(str(field(e, "custom_message") or ""))
    if match is None:
        return None
    token_id = int(match.group(1))
    try:
        tok = read_or_gone(gl, f"/personal_access_tokens/{token_id}")
    except HttpFailure:
        tok = None
    if tok is None or tok.get("user_id") != owner_id:
        return None  # gone already, or the message named another token
    kind, owner = token_kind_of(tok)
    what = "an impersonation token" if kind == "impersonation" else "a personal access token"
    return Finding(
        "other_tokens",
        RevokeToken(kind=kind, owner_id=owner),
        _token_target(tok),
        f"{what} they created for another account",
    )


def cached_events_of(
    store: Any, incident_id: int, user_id: int, limit: int = 20_000
) -> list[dict[str, Any]]:
    """The audit events the local store holds that ``user_id`` authored (what the Audit pane
    loaded): Contain reads what the responder has seen, without a second full audit fetch."""
    from console.store.events import EventQuery

    rids = store.event_rid_view(incident_id, EventQuery(author=str(user_id), oldest_first=True))
    picked = list(rids[:limit])
    return [
        e
        for e in store.events_by_rids(incident_id, picked)
        if as_int(e.get("author_id")) == user_id
    ]
