"""What "export the current view" means for each pane: its rows after its filters.

The panes stay unaware of exports: this module reads, by pane type, what they already expose
(the users pane's ``view`` query, the audit pane's ``view`` query, the credentials
pane's shown keys and ``view``, the journal view's ``shown``, the runbook pane's ``state``) and
returns a ``(name, rows, columns)`` for :class:`screens.export_dialog.ExportDialog`. Users, audit
events and credentials are read from the store lazily, a batch at a time, in the dialog's
worker: a view can hold 100,000 users or a million events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from textual.widget import Widget

from console.context import AppContext
from console.export import (
    CREDENTIAL_COLUMNS,
    EVENT_COLUMNS,
    JOURNAL_COLUMNS,
    USER_EXPORT_COLUMNS,
)
from console.store import EventQuery, UserQuery
from screens.export_dialog import View

if TYPE_CHECKING:
    from screens.panes.credentials import CredentialsPane

__all__ = ["view_of"]

_BATCH = 2000


def _user_rows(ctx: AppContext, query: UserQuery) -> Iterator[dict[str, Any]]:
    """The users pane's matching users, streamed from the store a batch at a time."""
    for row in ctx.store.iter_user_rows(ctx.incident_id, query, batch=_BATCH):
        data = {c: getattr(row, c) for c in USER_EXPORT_COLUMNS}  # the export's columns by name
        data["risk_reasons"] = list(row.risk_reasons)
        yield data


def _event_rows(ctx: AppContext, query: EventQuery) -> Iterator[dict[str, Any]]:
    """The audit pane's matching events, read from the store a batch at a time."""
    store, iid = ctx.store, ctx.incident_id
    rids = store.event_rid_view(iid, query)
    for start in range(0, len(rids), _BATCH):
        for event in store.events_by_rids(iid, rids[start : start + _BATCH]):
            yield {c: event.get(c) for c in EVENT_COLUMNS}


def _credential_rows(pane: CredentialsPane) -> Callable[[], Iterator[dict[str, Any]]]:
    """The credentials pane's shown rows, read from the store a batch at a time in the export
    worker (the view's keys and marks are taken now, on the UI thread)."""
    keys = list(pane.table.keys)
    marks = dict(pane.marks)
    view = pane.view

    def rows() -> Iterator[dict[str, Any]]:
        for start in range(0, len(keys), _BATCH):
            for cred in pane.source_items(keys[start : start + _BATCH]):
                if not view.matches(cred):
                    continue
                data = {c: cred.to_dict().get(c) for c in CREDENTIAL_COLUMNS}
                mark = marks.get(cred.key)
                data["mark"] = mark.mark if mark is not None else None
                data["note"] = mark.note if mark is not None else None
                yield data

    return rows


def view_of(key: str, pane: Widget, ctx: AppContext) -> View | None:
    """The pane's current view as exportable rows, or None if it has nothing to export.

    ``key`` (the pane's name on the main screen) is kept for callers; the pane's type decides.
    """
    from screens.journal_view import JournalView
    from screens.panes.audit import AuditPane
    from screens.panes.credentials import CredentialsPane
    from screens.panes.users import UsersPane
    from screens.runbook import RunbookPane

    if isinstance(pane, UsersPane):
        query = pane.view.query()
        return ("users", lambda: _user_rows(ctx, query), USER_EXPORT_COLUMNS)
    if isinstance(pane, AuditPane):
        event_query = pane.view.query()
        return ("audit_events", lambda: _event_rows(ctx, event_query), EVENT_COLUMNS)
    if isinstance(pane, CredentialsPane):
        return ("credentials", _credential_rows(pane), CREDENTIAL_COLUMNS)
    if isinstance(pane, JournalView):
        return (
            "journal",
            [{c: r.get(c) for c in JOURNAL_COLUMNS} for r in pane.shown],
            JOURNAL_COLUMNS,
        )
    if isinstance(pane, RunbookPane) and pane.state is not None:
        steps = pane.state.as_dict()["steps"]
        return (
            "runbook",
            steps,
            ("key", "text", "done", "how", "evidence", "ticked_by", "ticked_at", "note"),
        )
    return None
