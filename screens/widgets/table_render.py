"""How the virtual table paints: one line at a time from cached row pages.

The base class of :class:`~screens.widgets.virtual_table.VirtualTable`: it owns the layout of
the columns for the current width, the LRU caches of provider pages and painted lines, and
``render_line``. Every segment it paints carries a style (Rich leaves bare segments without
one, which ``NO_COLOR`` cannot filter), and cells are truncated, never wrapped. The data,
cursor, selection and keys live in the subclass.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Final

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.scroll_view import ScrollView
from textual.strip import Strip

from screens.widgets.table_columns import Column, fit_columns, without_colour

__all__ = ["GUTTER", "CellRow", "RenderedTable", "RowKey", "RowProvider"]

RowKey = Hashable
CellRow = Mapping[str, Text]
RowProvider = Callable[[Sequence[RowKey]], Mapping[RowKey, CellRow]]

GUTTER: Final = 2  # cursor marker + selection marker
_CURSOR_MARK = "▶"
_SELECTED_MARK = "●"


class RenderedTable(ScrollView):
    """Layout and painting; the subclass sets these attributes in its ``__init__``."""

    _columns: tuple[Column, ...]
    _provider: RowProvider
    _page_size: int
    _keys: Sequence[RowKey]
    _cursor: int
    _selected: set[RowKey]
    _sort: tuple[str, bool] | None
    _pages: LRUCache[int, Mapping[RowKey, CellRow]]
    _lines: LRUCache[tuple[object, ...], Strip]
    _layout: list[tuple[Column, int]]
    _layout_width: int
    _generation: int
    empty_text: str
    provider_calls: int
    provider_rows: int

    def _compute_layout(self, width: int) -> list[tuple[Column, int]]:
        """Fit columns into ``width``: drop high ``priority`` numbers first, share spare cells."""
        # One separator cell between columns: fitting width+1 per column into available+1.
        return fit_columns(self._columns, width - GUTTER + 1, overhead=1)

    def _ensure_layout(self, width: int) -> None:
        if width != self._layout_width:
            self._layout = self._compute_layout(width)
            self._layout_width = width
            self._lines.clear()

    # ------------------------------------------------------------------ rendering

    def _row_cells(self, index: int) -> CellRow | None:
        page = index // self._page_size
        cached = self._pages.get(page)
        if cached is None:
            start = page * self._page_size
            page_keys = list(self._keys[start : start + self._page_size])
            self.provider_calls += 1
            self.provider_rows += len(page_keys)
            try:
                cached = self._provider(page_keys)
            except Exception as exc:  # a failing store must not crash the paint
                self.log.error("row provider failed", exc)
                cached = {}
            self._pages[page] = cached
        return cached.get(self._keys[index])

    def _assemble(self, cells: Sequence[Text], base: Style, gutter: str) -> Strip:
        line = Text(gutter, style=base, end="", no_wrap=True)
        for n, (cell, (column, width)) in enumerate(zip(cells, self._layout, strict=True)):
            if n:
                line.append(" ")
            piece = without_colour(cell) if self.app.no_color else cell.copy()
            piece.no_wrap = True
            piece.end = ""
            piece.truncate(width, overflow="ellipsis")
            pad = width - piece.cell_len
            if pad > 0:
                if column.justify == "right":
                    piece.pad_left(pad)
                else:
                    piece.pad_right(pad)
            line.append_text(piece)
        return self._strip(line, base).extend_cell_length(self._layout_width, base)

    def _strip(self, text: Text, base: Style) -> Strip:
        """``text`` as a strip whose every segment has a style.

        Rich renders a ``Text`` without spans as bare segments (style ``None``): their colours
        are lost, and Textual's ``NO_COLOR`` filter crashes on them (``style.color`` of None).
        """
        own = text.style if isinstance(text.style, Style) else Style.parse(text.style or "")
        fallback = base + own
        return Strip(
            [
                Segment(chunk, style if style is not None else fallback, control)
                for chunk, style, control in text.render(self.app.console, end="")
            ]
        )

    def _header_strip(self, base: Style) -> Strip:
        header_style = base + self.get_component_rich_style("virtual-table--header")
        sorted_style = base + self.get_component_rich_style("virtual-table--sorted")
        cells: list[Text] = []
        for column, width in self._layout:
            label = column.label
            style = header_style
            if self._sort is not None and self._sort[0] == column.key:
                # Keep the arrow visible: shorten the label rather than the indicator.
                label = f"{label[: max(0, width - 1)]}{'▼' if self._sort[1] else '▲'}"
                style = sorted_style
            cells.append(Text(label, style=style, end=""))
        return self._assemble(cells, header_style, " " * GUTTER)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        self._ensure_layout(width)
        base = self.rich_style
        if y == 0:
            key: tuple[object, ...] = ("header", self._generation, self._sort)
            strip = self._lines.get(key)
            if strip is None:
                strip = self._header_strip(base)
                self._lines[key] = strip
            return strip
        index = int(self.scroll_y) + y - 1
        if index >= len(self._keys):
            if index == 0 and self.empty_text:
                style = base + self.get_component_rich_style("virtual-table--placeholder")
                message = Text(" " * GUTTER + self.empty_text, style=style, end="")
                message.truncate(width, overflow="ellipsis")
                return self._strip(message, base).extend_cell_length(width, base)
            return Strip.blank(width, base)
        row_key = self._keys[index]
        is_cursor = index == self._cursor
        is_selected = row_key in self._selected
        cache_key = (index, row_key, is_cursor, is_selected, self._generation)
        strip = self._lines.get(cache_key)
        if strip is not None:
            return strip
        row_style = base
        if is_selected:
            row_style = row_style + self.get_component_rich_style("virtual-table--selected")
        if is_cursor:
            row_style = row_style + self.get_component_rich_style("virtual-table--cursor")
        cells_by_key = self._row_cells(index)
        gutter = (_CURSOR_MARK if is_cursor else " ") + (_SELECTED_MARK if is_selected else " ")
        if cells_by_key is None:
            placeholder = row_style + self.get_component_rich_style("virtual-table--placeholder")
            cells = [Text("…", end="")] + [Text("")] * (len(self._layout) - 1)
            strip = self._assemble(cells, placeholder, gutter) if self._layout else Strip([])
        else:
            cells = [cells_by_key.get(column.key) or Text("") for column, _ in self._layout]
            strip = self._assemble(cells, row_style, gutter)
        self._lines[cache_key] = strip
        return strip
