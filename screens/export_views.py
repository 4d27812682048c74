"""What "export the current view" means for each pane: its rows after its filters.

The panes stay unaware of exports: this module reads what they already expose (the users pane's
``view`` query, the audit pane's ``events`` and ``filter``, the credentials pane's ``rows`` and
``matches``, the journal view's ``shown``, the runbook pane's ``state``) and returns a
``(name, rows, columns)`` for :class:`screens.export_dialog.ExportDialog`. The users' rows are
read from the store lazily (in the dialog's worker), since a view can hold 100,000 users.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from console.export import (
    CREDENTIAL_COLUMNS,
    EVENT_COLUMNS,
    JOURNAL_COLUMNS,
    USER_EXPORT_COLUMNS,
)
from screens.export_dialog import View

__all__ = ["view_of"]

_BATCH = 2000


def _user_rows(ctx: Any, query: Any) -> Iterator[dict[str, Any]]:
    store, iid = ctx.store, int(ctx.incident.id)
    ids = store.user_ids(iid, query)
    for start in range(0, len(ids), _BATCH):
        for row in store.users_by_ids(iid, ids[start:start + _BATCH]):
            data = {c: getattr(row, c) for c in USER_EXPORT_COLUMNS}
            data["risk_reasons"] = list(row.risk_reasons)
            yield data


def view_of(key: str, pane: Any, ctx: Any) -> View | None:
    """The pane's current view as exportable rows, or None if it has nothing to export."""
    if key == "users" and hasattr(pane, "view"):
        query = pane.view.query()
        return ("users", lambda: _user_rows(ctx, query), USER_EXPORT_COLUMNS)
    if key == "audit" and hasattr(pane, "events") and hasattr(pane, "filter"):
        from console.audit import filter_events

        events = filter_events(pane.events, pane.filter)
        return ("audit", [{c: e.to_dict().get(c) for c in EVENT_COLUMNS} for e in events],
                EVENT_COLUMNS)
    if key == "credentials" and hasattr(pane, "rows") and callable(getattr(pane, "matches", None)):
        marks = getattr(pane, "marks", {}) or {}
        rows = []
        for cred in (r for r in pane.rows if pane.matches(r)):
            data = {c: cred.to_dict().get(c) for c in CREDENTIAL_COLUMNS}
            mark = marks.get(cred.key) if isinstance(marks, dict) else None
            data["mark"] = getattr(mark, "mark", None)
            data["note"] = getattr(mark, "note", None)
            rows.append(data)
        return ("credentials", rows, CREDENTIAL_COLUMNS)
    if key == "journal" and hasattr(pane, "shown"):
        return ("journal", [{c: r.get(c) for c in JOURNAL_COLUMNS} for r in pane.shown],
                JOURNAL_COLUMNS)
    if key == "runbook" and getattr(pane, "state", None) is not None:
        steps = pane.state.as_dict()["steps"]
        return ("runbook", steps, ("key", "text", "done", "how", "evidence", "ticked_by",
                                   "ticked_at", "note"))
    return None
