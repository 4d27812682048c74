"""Fit a built-in ``DataTable``'s columns to the terminal width, by column priority.

A ``DataTable`` wider than its pane grows a horizontal scrollbar and hides its right-hand columns
off-screen: at 80 columns the credentials pane showed Kind, Name, Owner and Scopes but never the
flags or the expiry a responder is looking for.  ``FittedColumns`` keeps the full column list
(``screens.widgets.virtual_table.Column``: width, priority, flex), shows the ones that fit the
current width, lowest priority number first, and gives spare cells to the flex columns; the
detail modal of each pane still shows every field.  The pane calls :meth:`FittedColumns.fit` on
resize and, when it returns True, re-adds its rows with :meth:`FittedColumns.pick`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from screens.widgets.virtual_table import Column, fit_columns, without_colour

__all__ = ["SCROLLBAR_RESERVE", "DetailTable", "FittedColumns"]

T = TypeVar("T")

SCROLLBAR_RESERVE = 1
"""Cells kept free for the vertical scrollbar (the panes' tables use a 1-cell scrollbar)."""


class FittedColumns:
    """The columns of one ``DataTable``, of which the ones that fit are shown."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns: tuple[Column, ...] = tuple(columns)
        self.layout: list[tuple[Column, int]] = []
        self._indexes: list[int] = []
        self.no_color = False
        """Set from ``App.no_color``: cells then lose their colours (see ``without_colour``)."""

    @property
    def visible(self) -> list[str]:
        """Keys of the shown columns, in table order."""
        return [column.key for column, _ in self.layout]

    def fit(self, table: DataTable[Any], width: int) -> bool:
        """Show the columns that fit ``width`` cells; True if the table's columns were rebuilt.

        Rebuilding clears the rows too: the caller adds them again (with :meth:`pick`).
        """
        self.no_color = bool(getattr(table.app, "no_color", False))
        available = max(0, width - SCROLLBAR_RESERVE)
        layout = fit_columns(self.columns, available, overhead=2 * table.cell_padding)
        if layout == self.layout and len(table.columns) == len(layout):
            return False
        self.layout = layout
        self._indexes = [self.columns.index(column) for column, _ in layout]
        table.clear(columns=True)
        for column, cells in layout:
            table.add_column(column.label, key=column.key, width=cells)
        return True

    def pick(self, cells: Sequence[T]) -> list[T]:
        """The shown columns' cells from a full row (one cell per column, in column order)."""
        return [self.pick_cell(cells[i]) for i in self._indexes]

    def pick_cell(self, cell: T) -> T:
        """One cell as the table shows it (without colours under ``NO_COLOR``)."""
        if self.no_color and isinstance(cell, Text):
            return without_colour(cell)  # type: ignore[return-value]
        return cell


class DetailTable(DataTable[Text]):
    """A row-cursor ``DataTable`` whose enter key is shown (footer and help) as opening details."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Details"),
    ]
