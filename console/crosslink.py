"""Credentials and the audit log, cross-linked: reasons the inventory alone cannot see.

A credential is flagged when the audit events stored for the incident show it was created or
changed by a user the responder flagged, or when it was used from an IP its owner never signed
in from (tokens report ``last_used_ips``; a runner reports the address it contacts GitLab from,
and its owner is whoever registered it). Runners, variables, hooks, keys and deploy tokens are
included: every kind whose audit events name it as their target.

Everything here reads the store; it runs in a worker after the inventory or the events load,
and again when a review mark changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

from console.store import EventQuery, Mark

__all__ = ["CrosslinkStore", "crosslink_flags", "event_target"]

#: Credential kind → the ``target_type`` GitLab's audit events give that object.
_TARGET_TYPES: Final = {
    "pat": "PersonalAccessToken",
    "impersonation": "PersonalAccessToken",
    "bot_token": "PersonalAccessToken",
    "service_token": "PersonalAccessToken",
    "deploy_key": "DeployKey",
    "deploy_token": "DeployToken",
    "runner": "Ci::Runner",
    "ssh_key": "Key",
    "gpg_key": "GpgKey",
    "instance_variable": "Ci::Variable",
    "group_variable": "Ci::Variable",
    "project_variable": "Ci::Variable",
    "system_hook": "SystemHook",
    "group_hook": "GroupHook",
    "project_hook": "ProjectHook",
}
_VARIABLE_KINDS: Final = frozenset({"instance_variable", "group_variable", "project_variable"})
_SIGN_IN: Final = frozenset({"SIGNIN"})


class CrosslinkStore(Protocol):
    """The store reads this needs (``console.store.Store`` provides them)."""

    def marks(self, incident_id: int, object_type: str) -> dict[Any, Mark]: ...
    def event_authors(self, incident_id: int, q: EventQuery | None = None) -> dict[int, int]: ...
    def event_ips(self, incident_id: int, q: EventQuery | None = None) -> dict[str, int]: ...
    def user_raw(self, incident_id: int, user_id: int) -> dict[str, Any] | None: ...


def event_target(cred: Mapping[str, Any]) -> tuple[str, str] | None:
    """The audit events' ``(target_type, target_id)`` for a credential row, when it has one.

    Variables are targeted by their key (``target_id`` is the key name on GitLab).
    """
    kind = str(cred.get("kind") or "")
    target_type = _TARGET_TYPES.get(kind)
    if target_type is None:
        return None
    ident = cred.get("name") if kind in _VARIABLE_KINDS else cred.get("id")
    return (target_type, str(ident)) if ident not in (None, "") else None


def _ips(cred: Mapping[str, Any]) -> list[str]:
    extra = cred.get("extra") or {}
    raw = str(extra.get("last_used_ips") or extra.get("ip_address") or "")
    return [ip.strip() for ip in raw.split(",") if ip.strip()]


def _username(store: CrosslinkStore, incident_id: int, user_id: int) -> str:
    raw = store.user_raw(incident_id, user_id) or {}
    return str(raw.get("username") or f"user #{user_id}")


def crosslink_flags(
    store: CrosslinkStore, incident_id: int, credentials: Iterable[Mapping[str, Any]]
) -> dict[str, tuple[str, ...]]:
    """Extra flags per credential key (``kind:id``); credentials with none are left out."""
    flagged = {
        int(uid): _username(store, incident_id, int(uid))
        for uid, mark in store.marks(incident_id, "user").items()
        if mark.mark == "flagged" and str(uid).isdigit()
    }
    known_ips: dict[int, set[str]] = {}

    def sign_in_ips(user_id: int) -> set[str]:
        if user_id not in known_ips:
            seen = set(
                store.event_ips(incident_id, EventQuery(author=str(user_id), categories=_SIGN_IN))
            )
            raw = store.user_raw(incident_id, user_id) or {}
            for field in ("current_sign_in_ip", "last_sign_in_ip"):
                if raw.get(field):
                    seen.add(str(raw[field]))
            known_ips[user_id] = seen
        return known_ips[user_id]

    out: dict[str, tuple[str, ...]] = {}
    for cred in credentials:
        reasons: list[str] = []
        target = event_target(cred)
        authors: dict[int, int] = {}
        if target is not None:
            authors = store.event_authors(incident_id, EventQuery(target=target))
            reasons += [
                f"changed by flagged user @{flagged[a]}" for a in sorted(authors) if a in flagged
            ]
        owner = cred.get("owner_id")
        if cred.get("kind") == "runner" and authors:
            owner = next(iter(authors))  # who registered or changed it most often
        ips = _ips(cred)
        if isinstance(owner, int) and ips:
            known = sign_in_ips(owner)
            unseen = [ip for ip in ips if ip not in known]
            if known and unseen:
                reasons.append(f"used from {unseen[0]}, never a sign-in IP of its owner")
        if reasons:
            out[f"{cred.get('kind')}:{cred.get('id')}"] = tuple(reasons)
    return out
