"""The inventory into the store, and the audit log's cross-link reasons merged into its rows.

A full load replaces the rows of every kind whose source was read; a kind whose source failed
keeps its old rows (they are the best the responder has) and the source's name is kept with the
load, for the pane's "partial" label. Cross-link reasons (``console.crosslink``) are merged into
the stored rows' flags, so they show, sort as urgent and filter in SQL like any other flag; they
are recomputed from scratch each time (a user unflagged takes their reason away).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from console.crosslink import crosslink_flags
from console.inventory.model import KIND_ORDER, URGENT_PREFIXES, Credential, Inventory, is_urgent
from console.store import CredentialQuery

if TYPE_CHECKING:
    from console.store import Store

__all__ = ["SOURCE_KINDS", "credential_record", "merge_crosslinks", "store_inventory"]

#: Which kinds each inventory source produces (a failed source keeps these kinds' old rows).
SOURCE_KINDS: Final[Mapping[str, frozenset[str]]] = {
    "personal access tokens": frozenset({"pat", "impersonation", "bot_token", "service_token"}),
    "deploy keys": frozenset({"deploy_key"}),
    "deploy tokens": frozenset({"deploy_token"}),
    "runners": frozenset({"runner"}),
    "instance CI/CD variables": frozenset({"instance_variable"}),
    "system hooks": frozenset({"system_hook"}),
    "groups": frozenset({"group_variable", "group_hook"}),
    "projects": frozenset({"project_variable", "project_hook"}),
    "group CI/CD variables": frozenset({"group_variable"}),
    "group webhooks": frozenset({"group_hook"}),
    "project CI/CD variables": frozenset({"project_variable"}),
    "project webhooks": frozenset({"project_hook"}),
}
#: Kinds the inventory fetch lists (SSH and GPG keys come from the key sweep).
FETCHED_KINDS: Final = frozenset().union(*SOURCE_KINDS.values())
_CHUNK: Final = 500


def credential_record(row: Credential) -> dict[str, Any]:
    """``Credential.to_dict()`` plus the two numbers the store orders by."""
    rank = KIND_ORDER.index(row.kind) if row.kind in KIND_ORDER else len(KIND_ORDER)
    return {**row.to_dict(), "rank": rank, "urgency": sum(1 for f in row.flags if is_urgent(f))}


def store_inventory(store: Store, incident_id: int, inv: Inventory) -> int:
    """Write a finished (or cancelled) load; returns the rows written.

    A cancelled load replaces nothing (its rows are upserted): what it did not reach stays.
    """
    failed = inv.failed_sources
    kept: set[str] = set()
    for source in failed:
        kept |= SOURCE_KINDS.get(source, frozenset())
    kinds = (FETCHED_KINDS - kept) if inv.complete else frozenset()
    records = [credential_record(r) for r in inv.rows]
    if not inv.complete:
        failed = [*failed, "stopped before every source was read"]
    return store.replace_credentials(incident_id, records, kinds=kinds, failed_sources=failed)


def _all_rows(store: Store, incident_id: int) -> Iterator[list[dict[str, Any]]]:
    keys = store.credential_keys(incident_id, CredentialQuery())
    for i in range(0, len(keys), _CHUNK):
        yield store.credentials_by_keys(incident_id, keys[i : i + _CHUNK])


def merge_crosslinks(
    store: Store, incident_id: int, *, cancelled: Callable[[], bool] | None = None
) -> int:
    """Recompute every row's cross-link reasons; returns how many rows carry one now."""
    is_cancelled = cancelled or (lambda: False)
    flagged = 0
    for chunk in _all_rows(store, incident_id):
        if is_cancelled():
            break
        extra = crosslink_flags(store, incident_id, chunk)
        changed: list[dict[str, Any]] = []
        for rec in chunk:
            old: Sequence[str] = rec["flags"]
            base = [f for f in old if not f.startswith(URGENT_PREFIXES)]
            reasons = extra.get(str(rec["key"]), ())
            flagged += bool(reasons)
            new = [*reasons, *base]
            if new != list(old):
                rec["flags"] = new
                rec["urgency"] = sum(1 for f in new if is_urgent(f))
                changed.append(rec)
        store.upsert_credentials(incident_id, changed)
    return flagged
