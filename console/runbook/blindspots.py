"""Blind spots: what the console could not see in this incident, and the step that covers it.

Three kinds: what the REST API never shows (server-side Git hooks, changes made on the host or in
the database, events older than the instance's retention); what this token or tier could not
read (every source that answered 403 or 404, from the capability check and the inventory as
cached); and what was skipped (an audit fetch or an inventory load that stopped part-way). Each
becomes an open item of the runbook until a responder closes it.

The capability check runs at connect time and is not otherwise stored, so the app caches a
:func:`coverage_snapshot` under :data:`COVERAGE_CACHE_KEY`; the instance's version and the
report's instance facts come from it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from console.sanitize import safe
from console.timeutil import format_iso

if TYPE_CHECKING:
    from console.capabilities import Coverage
    from console.store import Incident, Store

__all__ = [
    "COVERAGE_CACHE_KEY",
    "INVENTORY_CACHE_KEY",
    "BlindSpot",
    "blind_spots",
    "cached_coverage",
    "coverage_snapshot",
]

COVERAGE_CACHE_KEY: Final = "coverage"
#: What the credentials pane caches (``{"rows": [...], "complete": bool}``).
INVENTORY_CACHE_KEY: Final = "inventory"


@dataclass(frozen=True, slots=True)
class BlindSpot:
    """One thing the console could not see; ``covered_by`` is a runbook step key."""

    key: str
    text: str
    covered_by: str
    how: str


def coverage_snapshot(cov: Coverage) -> dict[str, Any]:
    """The capability check as JSON for the cache (no token, no secret: facts and statuses)."""
    return {
        "version": cov.version,
        "revision": cov.revision,
        "enterprise": cov.enterprise,
        "tier": cov.tier,
        "username": cov.username,
        "is_admin": cov.is_admin,
        "admin_api": cov.admin_api,
        "admin_mode_blocked": cov.admin_mode_blocked,
        "scopes": list(cov.scopes) if cov.scopes is not None else None,
        "audit_status": cov.audit_status,
        "audit_events": cov.audit_events,
        "problems": [
            {"title": p.title, "detail": p.detail, "status": p.status} for p in cov.problems
        ],
        "checked_at": format_iso(cov.checked_at, "seconds"),
        "clock_skew_s": cov.clock_skew_s,
        "clock_note": cov.clock_note,
    }


def cached_coverage(store: Store, incident_id: int) -> tuple[dict[str, Any], str] | None:
    cached = store.cache_get(incident_id, COVERAGE_CACHE_KEY)
    if cached is None or not isinstance(cached[0], Mapping):
        return None
    return dict(cached[0]), cached[1]


_ALWAYS: Final = (
    BlindSpot(
        "api:git-hooks",
        "Server-side Git hooks are never visible through the REST API.",
        "instance.save_state",
        "Inspect the custom_hooks directories of the repositories on the host (and keep a "
        "copy with the saved state).",
    ),
    BlindSpot(
        "api:host-database",
        "Changes made on the host or directly in the database leave no audit event.",
        "instance.rebuild",
        "Compare the host with a known-good backup, or rebuild it.",
    ),
)


def _s(value: object) -> str:
    return safe(value, kind="line", max_cells=120)


def blind_spots(
    store: Store,
    incident: Incident,
    coverage: Mapping[str, Any] | None = None,
) -> list[BlindSpot]:
    """Everything the console could not see for ``incident`` (``coverage``: a snapshot, else
    the cached one)."""
    incident_id = int(incident.id)
    if coverage is None:
        cached = cached_coverage(store, incident_id)
        coverage = cached[0] if cached else None
    out = list(_ALWAYS)
    start = incident.window_start
    out.append(
        BlindSpot(
            "api:retention",
            "Events older than the instance's retention"
            + (f" or before the incident window ({_s(start)})" if start else "")
            + " are not in the audit log the console read.",
            "instance.log_routing",
            "Search the independent log store (and backups of the logs) for earlier activity.",
        )
    )
    if coverage is None:
        out.append(
            BlindSpot(
                "coverage:unknown",
                "No capability check is cached for this incident: what the token could not read "
                "is unknown.",
                "instance.audit",
                "Reconnect so the capability check runs, then export again.",
            )
        )
    else:
        out.extend(_from_coverage(coverage))
    out.extend(_from_cache(store, incident))
    return out


def _from_coverage(cov: Mapping[str, Any]) -> list[BlindSpot]:
    out: list[BlindSpot] = []
    status = cov.get("audit_status")
    if status in (403, 404):
        out.append(
            BlindSpot(
                f"source:audit_events:{status}",
                f"Audit events API answered {status}"
                + (" (Free tier)" if cov.get("tier") == "free" else "")
                + ": no audit events for this incident.",
                "instance.audit",
                "Use contribution events and sign-in fields, and the instance's own logs "
                "(audit_json.log, production_json.log) on the host.",
            )
        )
    if cov.get("is_admin") is False:
        out.append(
            BlindSpot(
                "token:not-admin",
                "The token is not an administrator: the user list is partial and sign-in IPs "
                "are hidden.",
                "instance.users",
                "Repeat the review with an administrator's token.",
            )
        )
    if cov.get("admin_mode_blocked"):
        out.append(
            BlindSpot(
                "token:admin-mode",
                "Admin Mode is on and the token lacks admin_mode: admin endpoints answered 403.",
                "instance.users",
                "Use a token with the admin_mode scope.",
            )
        )
    for problem in cov.get("problems") or ():
        if not isinstance(problem, Mapping) or problem.get("status") not in (403, 404):
            continue
        title = _s(problem.get("title"))
        out.append(
            BlindSpot(
                f"source:{title}:{problem.get('status')}",
                f"{title}: answered {problem.get('status')}.",
                "instance.audit",
                _s(problem.get("detail")),
            )
        )
    return out


def _from_cache(store: Store, incident: Incident) -> list[BlindSpot]:
    from console.audit import events_cache_key

    incident_id = int(incident.id)
    out: list[BlindSpot] = []
    from console.audit.stored import stored_window_status

    stored = stored_window_status(store, incident_id, incident.window)
    audit = store.cache_get(incident_id, events_cache_key(*incident.window))
    partial = (
        (not stored.complete)
        if stored is not None
        else (
            audit is not None
            and isinstance(audit[0], Mapping)
            and not audit[0].get("complete", True)
        )
    )
    if partial:
        out.append(
            BlindSpot(
                "skipped:audit-partial",
                "The audit event fetch stopped part-way (cancelled, capped or failed): later "
                "pages of the window were not read.",
                "instance.audit",
                "Reload the audit pane until the fetch completes.",
            )
        )
    inventory = store.cache_get(incident_id, INVENTORY_CACHE_KEY)
    if inventory is not None and isinstance(inventory[0], Mapping):
        value = inventory[0]
        if not value.get("complete", True):
            out.append(
                BlindSpot(
                    "skipped:inventory-partial",
                    "The credentials inventory load was partial (a capped namespace sweep or "
                    "sources that failed).",
                    "instance.inventory",
                    "Reload the credentials pane; review the namespaces it did not reach by hand.",
                )
            )
        for problem in value.get("problems") or ():
            if isinstance(problem, Mapping) and problem.get("status") in (403, 404):
                source = _s(problem.get("source"))
                out.append(
                    BlindSpot(
                        f"source:{source}:{problem.get('status')}",
                        f"Credentials source {source} answered {problem.get('status')}.",
                        "instance.inventory",
                        "Review that source with a token that can read it.",
                    )
                )
    return out
