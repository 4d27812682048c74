"""A DataTable that answers the keys of less and k9s, for the short tables (journal, a run).

The store-backed :class:`~screens.widgets.virtual_table.VirtualTable` has the same keys; long
lists belong there. Here ``g``/``G`` go to the first and last row, ``j``/``k`` move one row and
``ctrl+d``/``ctrl+u`` half a page, so a responder's habits work in every table.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

__all__ = ["KeyTable"]


class KeyTable(DataTable[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("k", "cursor_up", "Up", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("g", "first_row", "First row", show=False),
        Binding("G", "last_row", "Last row", show=False),
        Binding("ctrl+d", "half_page(1)", "Half a page down", show=False),
        Binding("ctrl+u", "half_page(-1)", "Half a page up", show=False),
    ]

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def action_half_page(self, direction: int) -> None:
        if not self.row_count:
            return
        step = max(1, self.scrollable_content_region.height // 2)
        row = min(self.row_count - 1, max(0, self.cursor_row + direction * step))
        self.move_cursor(row=row)
