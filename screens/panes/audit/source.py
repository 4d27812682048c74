"""The audit pane's rows straight from the store: ordered row ids per view, cells per page.

``keys`` runs the view's query (a lazy ``EventRids``: a million matches are never one list) and
is called from the pane's query worker; ``cells`` reads only the rows about to be painted
(a primary-key lookup of one page). Cells are cached per row id until the incident changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from console.audit import AuditEvent
from console.audit.view import AuditView
from console.context import AppContext
from console.store import EventRids
from screens.panes.audit.model import event_cells
from screens.widgets.virtual_table import CellRow, RowKey

__all__ = ["StoreEventSource"]

_CACHE_MAX = 2_000


class StoreEventSource:
    """Audit events of the current incident in the local store."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx  # the context, not its store: the incident can change under the pane
        self._events: dict[RowKey, AuditEvent] = {}
        self._cells: dict[RowKey, CellRow] = {}

    def keys(self, view: AuditView) -> EventRids:
        """Blocking (SQLite): call from a worker."""
        return self.ctx.store.event_rid_view(self.ctx.incident_id, view.query())

    def forget(self) -> None:
        self._events.clear()
        self._cells.clear()

    def events(self, keys: Sequence[RowKey]) -> list[AuditEvent]:
        """The events of ``keys`` (from the cache, else one store read), in ``keys`` order."""
        missing = [k for k in keys if isinstance(k, int) and k not in self._events]
        if missing:
            if len(self._events) > _CACHE_MAX:
                self.forget()
            for record in self.ctx.store.events_by_rids(self.ctx.incident_id, missing):
                self._events[record["rid"]] = AuditEvent.from_dict(record)
        return [self._events[k] for k in keys if k in self._events]

    def event(self, key: RowKey | None) -> AuditEvent | None:
        if not isinstance(key, int):
            return None
        found = self.events([key])
        return found[0] if found else None

    def cells(self, keys: Sequence[RowKey]) -> dict[RowKey, CellRow]:
        out: dict[RowKey, CellRow] = {}
        wanted = [k for k in keys if k not in self._cells]
        if wanted:
            events = self.events(wanted)
            for key, event in zip([k for k in wanted if k in self._events], events, strict=True):
                self._cells[key] = event_cells(event)
        for key in keys:
            cells = self._cells.get(key)
            if cells is not None:
                out[key] = cells
        return out
