"""The incident window's audit events as the store holds them, for readers that want a list
(the timeline, exports): the audit pane itself never reads them whole."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.audit.model import AuditEvent
from console.store import EventQuery

if TYPE_CHECKING:
    from console.store import Store

__all__ = ["WindowStatus", "stored_window_events", "stored_window_status"]


@dataclass(frozen=True, slots=True)
class WindowStatus:
    """How much of the incident window the store holds for a scope (runbook, blind spots)."""

    count: int
    complete: bool
    fetched_at: str


def stored_window_status(
    store: Store,
    incident_id: int,
    window: tuple[str | None, str | None],
    scope: str = "instance",
    now: str | None = None,
) -> WindowStatus | None:
    """None until a window of ``scope`` was fetched; else the events stored in ``window`` and
    whether any part of it (up to ``now`` or the newest stored event) is still missing."""
    fetched_at = store.audit_fetched_at(incident_id, scope)
    if fetched_at is None:
        return None
    count = store.count_events(
        incident_id, EventQuery(scope=scope, since=window[0], until=window[1])
    )
    end = window[1] or now or store.newest_event_at(incident_id, scope) or window[0]
    complete = not window[0] or not store.missing_audit_windows(incident_id, scope, window[0], end)
    return WindowStatus(count, complete, fetched_at)


def stored_window_events(
    store: Store,
    incident_id: int,
    window: tuple[str | None, str | None],
    scope: str = "instance",
) -> tuple[list[AuditEvent], bool] | None:
    """``(events newest first, complete)`` for ``window`` (None: nothing stored for the scope).

    ``complete`` is False while part of the window has not been fetched yet.
    """
    if scope not in store.audit_scopes(incident_id):
        return None
    q = EventQuery(scope=scope, since=window[0], until=window[1])
    rids = store.event_rids(incident_id, q)
    events: list[AuditEvent] = []
    for i in range(0, len(rids), 5_000):
        events += [
            AuditEvent.from_dict(r) for r in store.events_by_rids(incident_id, rids[i : i + 5_000])
        ]
    # An open window ends "now": complete up to the newest stored event is the best we know.
    end = window[1] or (events[0].created_at if events else window[0])
    complete = not window[0] or not store.missing_audit_windows(incident_id, scope, window[0], end)
    return events, complete
