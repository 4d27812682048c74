"""The incident window's audit events as the store holds them: how many and whether the window
is complete, or every event streamed a batch at a time (exports); never one list."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.audit.model import AuditEvent
from console.store import EventQuery

if TYPE_CHECKING:
    from console.store import Store

__all__ = ["WindowStatus", "iter_window_events", "stored_window_status"]


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


def iter_window_events(
    store: Store,
    incident_id: int,
    window: tuple[str | None, str | None],
    scope: str = "instance",
    *,
    batch: int = 2_000,
) -> Iterator[AuditEvent] | None:
    """The events stored for ``window``, oldest first, read ``batch`` at a time (None: nothing
    stored for the scope). The row ids come from the store's lazy view, so a million events
    are never one list; memory stays at one batch."""
    if scope not in store.audit_scopes(incident_id):
        return None
    q = EventQuery(scope=scope, since=window[0], until=window[1], oldest_first=True)
    rids = store.event_rid_view(incident_id, q)

    def events() -> Iterator[AuditEvent]:
        for start in range(0, len(rids), batch):
            for record in store.events_by_rids(incident_id, rids[start : start + batch]):
                yield AuditEvent.from_dict(record)

    return events()
