"""The panes' search box: an ``Input`` whose enter and escape show in the footer.

While an ``Input`` has focus it consumes every printable key, so Textual drops the pane's letter
bindings (c, f, n, ?, q…) from the footer, which was left empty while searching.  These two
bindings give the responder the way out: enter applies the search, escape closes the box (the
pane's own ``action_back`` decides what closing means there).
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input

__all__ = ["SearchInput"]


class SearchInput(Input):
    """A pane's search box: enter applies, escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Apply search"),
        Binding("escape", "close", "Close search"),
    ]

    def action_close(self) -> None:
        for node in self.ancestors:
            back = getattr(node, "action_back", None)
            if callable(back):
                back()
                return
