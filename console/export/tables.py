"""Rows to export: users, audit events, credentials and the journal, as plain dicts.

Only what the store already holds (the console's cache); nothing is fetched. No row carries a
secret: the users cache and the credentials inventory never hold one (a credential is metadata:
name, scopes, dates, never its value), and the journal records no rotated value or password.
Values are raw here; :mod:`console.export.writers` sanitises them on the way out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from console.runbook.blindspots import INVENTORY_CACHE_KEY

if TYPE_CHECKING:
    from console.audit import AuditEvent
    from console.store import Incident, Store

__all__ = [
    "CREDENTIAL_COLUMNS",
    "EVENT_COLUMNS",
    "JOURNAL_CALLS",
    "JOURNAL_COLUMNS",
    "USER_EXPORT_COLUMNS",
    "credential_rows",
    "event_rows",
    "journal_call",
    "journal_rows",
    "user_rows",
    "verification_of",
]

USER_EXPORT_COLUMNS: Final = (
    "id",
    "username",
    "name",
    "email",
    "state",
    "is_admin",
    "two_factor",
    "kind",
    "user_type",
    "external",
    "created_at",
    "last_sign_in_at",
    "current_sign_in_at",
    "last_activity_on",
    "current_sign_in_ip",
    "last_sign_in_ip",
    "sign_in_count",
    "risk",
    "risk_reasons",
    "mark",
    "note",
)
EVENT_COLUMNS: Final = (
    "id",
    "created_at",
    "author_id",
    "author_name",
    "entity_type",
    "entity_id",
    "entity_path",
    "event_name",
    "category",
    "target_type",
    "target_id",
    "target_details",
    "ip_address",
    "summary",
)
CREDENTIAL_COLUMNS: Final = (
    "kind",
    "id",
    "name",
    "owner",
    "owner_type",
    "owner_id",
    "scopes",
    "created_at",
    "last_used_at",
    "expires_at",
    "state",
    "protected",
    "flags",
    "mark",
    "note",
)
JOURNAL_COLUMNS: Final = (
    "id",
    "action",
    "method",
    "path",
    "target_type",
    "target_id",
    "target_label",
    "state",
    "verification",
    "http_status",
    "request_id",
    "error",
    "t_intent",
    "t_sent",
    "t_done",
    "params",
    "hash",
)
#: The call each journaled action sends (actions/*.py); the journal records the action name.
JOURNAL_CALLS: Final[dict[str, tuple[str, str]]] = {
    "block_user": ("POST", "/users/{id}/block"),
    "unblock_user": ("POST", "/users/{id}/unblock"),
    "reset_password": ("PUT", "/users/{id}"),
    "disable_2fa": ("PATCH", "/users/{id}/disable_two_factor"),
    "add_note": ("PUT", "/users/{id}"),
    "revoke_token": ("DELETE", "/personal_access_tokens/{id}"),
    "rotate_token": ("POST", "/personal_access_tokens/{id}/rotate"),
}
_VERIFICATION: Final = {
    "done": "verified",
    "noop_already": "already so (nothing sent)",
    "intent": "not sent yet",
    "sent": "sent, not verified",
    "unknown": "unknown: re-check",
    "failed": "failed",
    "forbidden": "refused by GitLab (403)",
    "not_found": "not found (404)",
}


def journal_call(action: str, target_id: object) -> tuple[str, str]:
    """``(method, path)`` of the request an action sends (``("?", action)`` if unknown)."""
    method, path = JOURNAL_CALLS.get(action, ("?", action))
    return method, path.replace("{id}", str(target_id))


def verification_of(state: str) -> str:
    return _VERIFICATION.get(state, state)


#: Credential fields never exported, whatever a future inventory adds to ``extra``.
_SECRET_KEYS: Final = frozenset({"token", "value", "secret", "password", "key", "private_key"})


def user_rows(store: Store, incident_id: int) -> Iterator[dict[str, Any]]:
    for row in store.iter_users(incident_id):
        data = {name: getattr(row, name) for name in USER_EXPORT_COLUMNS}
        data["risk_reasons"] = list(row.risk_reasons)
        yield data


def event_rows(store: Store, incident: Incident) -> Iterator[dict[str, Any]]:
    """The incident window's stored audit events, oldest first, streamed from the store a
    batch at a time (a store from before the events table: its cached list)."""
    from console.audit.stored import iter_window_events
    from console.timeline_sources import legacy_events

    events: Iterable[AuditEvent] | None = iter_window_events(
        store, int(incident.id), incident.window
    )
    if events is None:
        legacy = legacy_events(store, incident)
        events = sorted(legacy[0] if legacy else (), key=lambda e: (e.created_at, e.id))
    for event in events:
        data = event.to_dict()
        yield {name: data.get(name) for name in EVENT_COLUMNS}


def credential_rows(store: Store, incident_id: int) -> Iterator[dict[str, Any]]:
    cached = store.cache_get(incident_id, INVENTORY_CACHE_KEY)
    if cached is None or not isinstance(cached[0], Mapping):
        return
    marks = {str(k): v for k, v in store.marks(incident_id, "credential").items()}
    for raw in cached[0].get("rows") or ():
        if not isinstance(raw, Mapping):
            continue
        data = {name: raw.get(name) for name in CREDENTIAL_COLUMNS if name not in _SECRET_KEYS}
        mark = marks.get(f"{raw.get('kind')}:{raw.get('id')}")
        data["mark"] = mark.mark if mark else None
        data["note"] = mark.note if mark else None
        yield data


def journal_rows(store: Store, incident_id: int) -> Iterator[dict[str, Any]]:
    """One row per journal entry (its current state); the chain is exported separately."""
    for e in store.journal_entries(incident_id):
        method, path = journal_call(e.action, e.target_id)
        computed = {"method": method, "path": path, "verification": verification_of(e.state)}
        yield {
            name: computed[name] if name in computed else getattr(e, name)
            for name in JOURNAL_COLUMNS
        }
