"""``y``: the value under the cursor, for the terminal clipboard (OSC 52).

What a responder pastes into a ticket or a chat: the username of the highlighted user, the IP
of an audit event (else its event name), the id of a credential, the journal's head hash.  Only
what the screen already shows, sanitised (``console.sanitize``), and never anything that looks
like a token: a value that the redactor would change is refused.

Dispatch is by type: a pane that knows better implements :class:`CopiesValue`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from textual.widget import Widget

from console.logs import redact
from console.sanitize import clean
from screens.panes.base import RecordPane

__all__ = ["CopiesValue", "copyable_value"]

# Cells a record row is copied by, in order of preference.
_ROW_CELLS = ("username", "ip")


@runtime_checkable
class CopiesValue(Protocol):
    """A pane that says itself what ``y`` copies (``None``: nothing here)."""

    def copy_value(self) -> str | None: ...


def copyable_value(pane: Widget) -> str | None:
    """The focused value of ``pane`` as plain text, or None when there is nothing to copy."""
    raw = _raw_value(pane)
    if raw is None:
        return None
    text = clean(raw, kind="line").text.strip()
    if text.startswith("⚠"):
        text = text.lstrip("⚠").strip()  # the warning flag is ours, not part of the value
    if not text or redact(text) != text:
        return None
    return text


def _raw_value(pane: Widget) -> str | None:
    from screens.journal_view import JournalView
    from screens.panes.audit import AuditPane
    from screens.panes.credentials import CredentialsPane

    if isinstance(pane, CopiesValue):
        return pane.copy_value()
    if isinstance(pane, JournalView):
        # The head hash is what a colleague needs to check the journal they were handed.
        check = pane.check
        return check.head if check is not None and check.ok else None
    if isinstance(pane, AuditPane):
        event = pane.selected_event()
        return None if event is None else str(event.ip_address or event.event_name or event.id)
    if isinstance(pane, CredentialsPane):
        row = pane.selected_row()
        return None if row is None or row.id is None else str(row.id)
    if isinstance(pane, RecordPane):
        return _row_cell(pane)
    return None


def _row_cell(pane: RecordPane[Any]) -> str | None:
    """The cursor row's username (or IP) cell, as the table shows it."""
    key = pane.table.cursor_key
    if key is None:
        return None
    cells = pane.source.cells([key]).get(key) or {}
    for name in _ROW_CELLS:
        cell = cells.get(name)
        if cell is not None and cell.plain.strip():
            return str(cell.plain)
    return None
