"""The panes' search box: an ``Input`` whose enter and escape show in the footer.

While an ``Input`` has focus it consumes every printable key, so Textual drops the pane's letter
bindings (c, f, n, ?, q…) from the footer, which was left empty while searching.  These two
bindings give the responder the way out: enter applies the search, escape closes the box (it
posts :class:`SearchInput.Closed`; the pane decides what closing means there).
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

__all__ = ["SearchInput"]


class SearchInput(Input):
    """A pane's search box: enter applies, escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Apply search"),
        Binding("escape", "close", "Close search"),
    ]

    class Closed(Message):
        """Escape was pressed in the search box."""

        def __init__(self, search: SearchInput) -> None:
            super().__init__()
            self.search = search

        @property
        def control(self) -> SearchInput:
            return self.search

    def action_close(self) -> None:
        self.post_message(self.Closed(self))
