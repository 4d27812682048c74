"""Webhooks (system, group, project): delete, set a new secret token, or disable.

The URL and the events a hook fires on are read first and journaled (the plan shows them).
GitLab never returns a hook's secret token (19.0 only says ``token_present``), so a new secret
cannot be verified by a read: it is generated here, shown once, and never repeated after a crash.
GitLab has no "disabled" switch for a hook; *disable* turns every event off (the URL stays, so
the hook can be inspected), which a read-back can prove. Webhook edits write no audit event.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

import gitlab

from actions.model import JSON, ApplyResult, State, Target
from actions.registry import register
from actions.resource import DeleteObject, ObjectAction, int_param, read_or_gone, str_param
from actions.transport import http
from console.secret import Secret, redact_url

HOOK_SCOPES = ("system", "group", "project")
SECRET_BYTES = 32


def hook_path(scope: str, owner_id: int, hook_id: int) -> str:
    if scope == "system":
        return f"/hooks/{hook_id}"
    if scope in ("group", "project"):
        return f"/{scope}s/{owner_id}/hooks/{hook_id}"
    raise ValueError(f"unknown hook scope {scope!r}")


def event_flags(body: Mapping[str, JSON]) -> dict[str, bool]:
    """Every ``*_events`` flag of a hook's JSON."""
    return {k: bool(v) for k, v in body.items() if k.endswith("_events") and isinstance(v, bool)}


class _HookMixin(ObjectAction):
    target_kinds = frozenset({"hook"})

    def __init__(self, *, scope: str, owner_id: int = 0) -> None:
        if scope not in HOOK_SCOPES:
            raise ValueError(f"unknown hook scope {scope!r}")
        self.scope = scope
        self.owner_id = owner_id

    def params(self) -> dict[str, JSON]:
        return {"scope": self.scope, "owner_id": self.owner_id}

    def path(self, target: Target) -> str:
        return hook_path(self.scope, self.owner_id, target.id)

    def read_state(self, gl: gitlab.Gitlab, target: Target) -> State:
        body = read_or_gone(gl, self.path(target))
        if body is None:
            return State({"exists": False})
        on = sorted(k for k, v in event_flags(body).items() if v)
        # Journaled: credentials a URL may carry (user:pass@, ?token=) are masked.
        url = redact_url(str(body.get("url") or ""))[0]
        return State(
            {
                "exists": True,
                "url": url,
                "events_on": on,
                "enable_ssl_verification": body.get("enable_ssl_verification"),
                "created_at": body.get("created_at"),
            }
        )


class DeleteHook(_HookMixin, DeleteObject):
    name = "delete_hook"
    title = "Delete webhook"
    description = "Delete the webhook: it sends nothing any more. Irreversible."


class DisableHook(_HookMixin):
    name = "disable_hook"
    title = "Disable webhook"
    description = (
        "Turn every event of the webhook off (GitLab has no on/off switch); the URL "
        "stays for inspection."
    )
    method = "PUT"
    already = "no event enabled; nothing sent"

    def desired(self, state: State) -> bool:
        return state.get("exists") is True and not state.get("events_on")

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        body = read_or_gone(gl, self.path(target)) or {}
        data: dict[str, JSON] = {k: False for k in event_flags(body)}
        data["url"] = body.get("url")
        return http(gl, "put", self.path(target), data=data)


class SetHookSecret(_HookMixin):
    name = "set_hook_secret"
    title = "Set a new webhook secret"
    description = (
        "Give the webhook a new secret token (shown once, for the receiving end); the "
        "old one no longer signs requests. Not verifiable by a read; never repeated."
    )
    method = "PUT"
    convergent = False
    observable = False
    resume_note = "the new secret was lost with the crash: set another by hand"

    def desired(self, state: State) -> bool:
        return False  # GitLab never returns the secret: a read cannot show it changed

    def precheck(self, target: Target, state: State) -> str | None:
        if state.get("exists") is False:
            return "the webhook no longer exists"
        return None

    def apply(self, gl: gitlab.Gitlab, target: Target) -> ApplyResult:
        body = read_or_gone(gl, self.path(target)) or {}
        token = secrets.token_urlsafe(SECRET_BYTES)
        # The URL is always resent: older GitLab wiped fields missing from a hook update.
        result = http(gl, "put", self.path(target), data={"url": body.get("url"), "token": token})
        return ApplyResult(
            result.http_status, result.request_id, None, Secret(token), {"secret_set": True}
        )

    def verified(self, state: State, result: ApplyResult) -> bool:
        ok = result.http_status is not None and 200 <= result.http_status < 300
        return ok and state.get("exists") is True


def _scope(p: Mapping[str, JSON]) -> dict[str, JSON]:
    return {"scope": str_param(p, "scope", "project"), "owner_id": int_param(p, "owner_id")}


def _delete(p: Mapping[str, JSON]) -> DeleteHook:
    s = _scope(p)
    return DeleteHook(scope=str(s["scope"]), owner_id=int_param(s, "owner_id"))


def _disable(p: Mapping[str, JSON]) -> DisableHook:
    s = _scope(p)
    return DisableHook(scope=str(s["scope"]), owner_id=int_param(s, "owner_id"))


def _secret(p: Mapping[str, JSON]) -> SetHookSecret:
    s = _scope(p)
    return SetHookSecret(scope=str(s["scope"]), owner_id=int_param(s, "owner_id"))


register(DeleteHook.name, _delete)
register(DisableHook.name, _disable)
register(SetHookSecret.name, _secret)
