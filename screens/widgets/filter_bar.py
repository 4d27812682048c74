"""The one-line bar above a pane's table: counts, active filters, and what the last key did.

A filter key that changes the view says what it did here ("only Repository events"), and an
empty result says "no match" with the way back, so a key never silently empties the table.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

__all__ = ["FilterBar"]


class FilterBar(Static):
    """Counts and filters (built by the pane) plus the last view change, all literal ``Text``."""

    DEFAULT_CSS = """
    FilterBar {
        height: 1;
        padding: 0 1;
        background: $boost;
        color: $text;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.note: str | None = None
        """What the last filter key did (cleared on the next change that says nothing)."""

    def show(self, bar: Text, *, matched: int | None = None) -> None:
        """Show ``bar``, prefixed by the last note; ``matched == 0`` adds "no match"."""
        out = Text(end="", no_wrap=True, overflow="ellipsis")
        if self.note:
            out.append(self.note, style="bold")
            out.append(" · ", style="dim")
        if matched == 0:
            out.append("no match (escape clears) · ", style="bold")
        out.append_text(bar)
        self.update(out)
