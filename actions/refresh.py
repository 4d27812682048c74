"""After a run, every credential it touched is re-read and its stored row updated or dropped.

Without this a revoked token still looks active in the Credentials pane until the next full
load (issue 10.4). The re-read is the action's own read (the same endpoint, so a group token is
read through its group), and the stored row is patched rather than rebuilt: the inventory's
owner names and flags stay, only what the server now says changes (state, expiry). A read that
finds the object gone (404) marks the row ``deleted`` (kept, like the rotation worksheet does,
so each item's outcome stays visible until the next full load drops it); a rotated token's new
id gets a row of its own (the value itself is never anywhere near the store). Blocking: call
from a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import gitlab

from actions.model import Action, Plan, RunResult, State, StepOutcome
from actions.transport import HttpFailure
from console.inventory.model import KIND_ORDER
from console.store.journal_model import JournalEntry

__all__ = ["CREDENTIAL_KINDS", "CredentialRefresh", "refresh_credentials", "refresh_runs"]

log = logging.getLogger(__name__)

#: an action's target kind → the inventory kinds its rows may have (keys are ``kind:id``)
CREDENTIAL_KINDS: Final[Mapping[str, tuple[str, ...]]] = {
    "token": ("pat", "impersonation", "bot_token", "service_token"),
    "ssh_key": ("ssh_key",),
    "gpg_key": ("gpg_key",),
    "deploy_token": ("deploy_token",),
    "deploy_key": ("deploy_key",),
    "runner": ("runner",),
    "hook": ("system_hook", "group_hook", "project_hook"),
}
#: the ranks the key sweep gives (console.inventory.keys); other kinds rank in KIND_ORDER
_KEY_RANKS: Final = {"ssh_key": 20, "gpg_key": 21}
_TOUCHED: Final = frozenset({"done", "noop_already", "not_found", "failed", "unknown"})
#: the console's own token is re-read by the reconnect, not here
_SKIP_ACTIONS: Final = frozenset({"rotate_own_token"})


class CredentialRows(Protocol):
    def credentials_by_keys(
        self, incident_id: int, keys: Sequence[str]
    ) -> list[dict[str, Any]]: ...

    def upsert_credentials(self, incident_id: int, rows: Any) -> int: ...

    def journal_entry(self, entry_id: int) -> JournalEntry | None: ...


@dataclass
class CredentialRefresh:
    """What the re-read changed (keys of the Credentials pane's rows)."""

    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # gone on the server: marked deleted
    unread: list[str] = field(default_factory=list)  # the read failed: the old row stays

    @property
    def changed(self) -> bool:
        return bool(self.updated or self.deleted)


def _state_word(old: str, state: State) -> str:
    if state.get("revoked") is True:
        return "revoked"
    if "paused" in state.data and state.get("paused") is not None:
        return "paused" if state.get("paused") else str(state.get("status") or "active")
    if state.get("active") is False:
        return "inactive"
    if state.get("expired") is True:
        return "expired"
    return old


def _ranked(row: dict[str, Any]) -> dict[str, Any]:
    """The two numbers the store keeps beside a row (it reads them back without them)."""
    kind = str(row.get("kind") or "")
    row["rank"] = _KEY_RANKS.get(kind, KIND_ORDER.index(kind) if kind in KIND_ORDER else 99)
    live = row.get("state") not in ("revoked", "inactive", "expired", "deleted")
    row["urgency"] = int(live and "created in incident window" in (row.get("flags") or ()))
    return row


def _patched(row: Mapping[str, Any], state: State) -> dict[str, Any]:
    new = dict(row)
    new["state"] = _state_word(str(row.get("state") or ""), state)
    if "expires_at" in state.data:
        new["expires_at"] = state.get("expires_at")
    return _ranked(new)


def _new_token_row(
    store: CredentialRows, out: StepOutcome, old: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The rotated token's successor (its id and expiry from the journal, never its value)."""
    if out.journal_id is None:
        return None
    entry = store.journal_entry(out.journal_id)
    post = entry.post_state if entry is not None else None
    new_id = post.get("new_token_id") if isinstance(post, Mapping) else None
    if not isinstance(new_id, int):
        return None
    row = {
        **old,
        "id": new_id,
        "state": "active",
        "last_used_at": None,
        "expires_at": post.get("new_expires_at") if isinstance(post, Mapping) else None,
    }
    row["flags"] = [f for f in old.get("flags") or () if "window" not in str(f)]
    row["extra"] = {**dict(old.get("extra") or {}), "rotated_from": str(old.get("id"))}
    return _ranked(row)


def refresh_credentials(
    store: CredentialRows, incident_id: int, gl: gitlab.Gitlab, action: Action, result: RunResult
) -> CredentialRefresh:
    """Re-read each credential target of ``result`` and patch or drop its stored row."""
    out_refresh = CredentialRefresh()
    if result.dry_run or action.name in _SKIP_ACTIONS:
        return out_refresh
    for out in result.outcomes:
        kinds = CREDENTIAL_KINDS.get(out.target.kind)
        if kinds is None or out.state not in _TOUCHED:
            continue
        keys = [f"{k}:{out.target.id}" for k in kinds]
        rows = store.credentials_by_keys(incident_id, keys)
        if not rows:
            continue
        try:
            state = action.read_state(gl, out.target)
        except HttpFailure as exc:
            if exc.status == 404:
                state = State({"exists": False})
            else:
                out_refresh.unread.extend(r["key"] for r in rows)
                continue
        except Exception as exc:  # the old row stays until the next full load
            log.warning(
                "re-reading %s #%s failed: %s", out.target.kind, out.target.id, type(exc).__name__
            )
            out_refresh.unread.extend(r["key"] for r in rows)
            continue
        if state.get("exists") is False:  # kept, marked: the worksheet shows each outcome
            store.upsert_credentials(
                incident_id, [_ranked({**r, "state": "deleted"}) for r in rows]
            )
            out_refresh.deleted.extend(r["key"] for r in rows)
            continue
        patched = [_patched(r, state) for r in rows]
        if action.name == "rotate_token" and out.state == "done":
            successor = _new_token_row(store, out, rows[0])
            if successor is not None:
                patched.append(successor)
        store.upsert_credentials(incident_id, patched)
        out_refresh.updated.extend(f"{r['kind']}:{r['id']}" for r in patched)
    return out_refresh


def refresh_runs(
    store: CredentialRows,
    incident_id: int,
    gl: gitlab.Gitlab,
    runs: Sequence[tuple[Plan, RunResult]],
) -> CredentialRefresh:
    """:func:`refresh_credentials` over several plans (a Contain run, a rotation worksheet)."""
    total = CredentialRefresh()
    for plan, result in runs:
        part = refresh_credentials(store, incident_id, gl, plan.action, result)
        total.updated += part.updated
        total.deleted += part.deleted
        total.unread += part.unread
    return total
