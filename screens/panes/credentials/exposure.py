"""Everything a user could see (``actions.exposure.could_see``) as rows of the credentials store.

Each exposed object maps to the key the inventory gives it, so the Credentials pane can select
it; an object the inventory has not listed (a namespace the sweep did not reach) is added as a
row, and a deploy token the instance list could not place gets its group or project, which is
what revoking it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from actions.exposure import Exposed
from actions.variable_actions import SetVariableValue
from console.inventory import KIND_ORDER, ROTATE_HINTS

if TYPE_CHECKING:
    from console.store import Store

__all__ = ["exposure_record", "store_exposure"]

EXPOSED_FLAG = "could be seen by @"


def _where(row: Exposed) -> tuple[str, int | None]:
    scope, _, ident = row.where.partition(" ")
    return scope, int(ident) if ident.isdigit() else None


def exposure_record(row: Exposed, username: str) -> dict[str, Any]:
    """The inventory row (``Credential.to_dict()`` shape plus rank) for one exposed object."""
    scope, owner_id = _where(row)
    ident: int | str = int(row.target.id)
    if row.kind == "variable" and isinstance(row.action, SetVariableValue):
        kind = f"{row.action.scope}_variable"
        env = row.action.environment_scope
        ident = row.name if scope == "instance" else f"{owner_id}:{row.name}:{env}"
        extra = {} if scope == "instance" else {"environment_scope": env}
    else:
        kind = {
            "runner": "runner",
            "deploy_token": "deploy_token",
            "access_token": "bot_token",
        }.get(row.kind, "")
        if row.kind == "hook":
            kind = "system_hook" if scope == "instance" else f"{scope}_hook"
        extra = {}
    return {
        "kind": kind, "id": ident, "name": row.name, "owner": row.where,
        "owner_type": scope, "owner_id": owner_id, "scopes": [], "created_at": None,
        "last_used_at": None, "expires_at": None, "state": "", "protected": None,
        "flags": [f"{EXPOSED_FLAG}{username}"], "rotate_hint": ROTATE_HINTS.get(kind, ""),
        "extra": extra, "rank": KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER),
        "urgency": 0,
    }  # fmt: skip


def store_exposure(
    store: Store, incident_id: int, exposed: Sequence[Exposed], username: str
) -> tuple[list[str], int]:
    """Keys of the exposed objects, in order; rows the store lacked are added (and counted)."""
    records = [exposure_record(e, username) for e in exposed]
    keys = list(dict.fromkeys(f"{r['kind']}:{r['id']}" for r in records if r["kind"]))
    known = {str(r["key"]): r for r in store.credentials_by_keys(incident_id, keys)}
    write: list[dict[str, Any]] = []
    for rec in records:
        key = f"{rec['kind']}:{rec['id']}"
        old = known.get(key)
        if old is None:
            write.append(rec)
        elif rec["kind"] == "deploy_token" and old.get("owner_id") is None:
            write.append(
                {
                    **old,
                    "owner": rec["owner"],
                    "owner_type": rec["owner_type"],
                    "owner_id": rec["owner_id"],
                }
            )
    store.upsert_credentials(incident_id, write)
    return keys, sum(1 for r in write if f"{r['kind']}:{r['id']}" not in known)
