"""``y``: the value under the cursor, for the terminal clipboard (OSC 52).

What a responder pastes into a ticket or a chat: the username of the highlighted user, the IP
of an audit event (else its event name), the id of a credential.  Only what the tables already
show, sanitised (``console.sanitize``), and never anything that looks like a token: a value that
the redactor would change is refused.
"""

from __future__ import annotations

from typing import Any

from textual.widget import Widget

from console.logs import redact
from console.sanitize import clean

__all__ = ["copyable_value"]

# Cells a user row is copied by, in order of preference.
_USER_CELLS = ("username", "ip")


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
    own = getattr(pane, "copy_value", None)
    if callable(own):
        value = own()
        return None if value is None else str(value)
    event = _call(pane, "selected_event")
    if event is not None:
        return str(getattr(event, "ip_address", "") or getattr(event, "event_name", ""))
    row = _call(pane, "selected_row")
    if row is not None and getattr(row, "id", None) is not None:
        return str(row.id)
    return _table_cell(getattr(pane, "table", None))


def _call(pane: Widget, name: str) -> Any:
    method = getattr(pane, name, None)
    return method() if callable(method) else None


def _table_cell(table: Any) -> str | None:
    """From a ``VirtualTable``: the cursor row's username (or IP) cell."""
    key = getattr(table, "cursor_key", None)
    provider = getattr(table, "_provider", None)
    if key is None or not callable(provider):
        return None
    cells = provider([key]).get(key) or {}
    for name in _USER_CELLS:
        cell = cells.get(name)
        if cell is not None and cell.plain.strip():
            return str(cell.plain)
    return None
