"""A store-backed virtual table: a ``ScrollView`` on the line API that holds only row keys.

The built-in ``DataTable`` keeps every cell in Python dicts and measures each new cell on the UI
thread, which freezes the app for seconds at 100,000 rows (style.md §4).  This widget holds only
the ordered list of row keys (an id list straight from a SQL query) and asks a *row provider*
for the cells of the rows that are about to be painted, one page at a time, keeping recently used
pages in an LRU cache.  Painting a screen therefore costs one small provider call at most,
whatever the row count.

The row provider must be fast and must return already-sanitised ``Text`` cells (build them with
``screens.safe.safe_cell``).  For the users pane it is one primary-key lookup of ~64 rows in the
local SQLite store (WAL: never blocked by the loader's writer), well under a millisecond.

Column widths come from the columns' preferred widths; on narrow terminals columns with the
highest ``priority`` number are hidden first, so the table always fits (80 columns included).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = [
    "CellRow", "Column", "RowKey", "RowProvider", "VirtualTable", "fit_columns", "without_colour",
]

RowKey = Hashable
CellRow = Mapping[str, Text]
RowProvider = Callable[[Sequence[RowKey]], Mapping[RowKey, CellRow]]

_GUTTER = 2  # cursor marker + selection marker
_CURSOR_MARK = "▶"
_SELECTED_MARK = "●"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a :class:`VirtualTable`.

    Attributes:
        key: The column's key: the cell dict key and the sort key reported in messages.
        label: Header text (our own text, never server data).
        width: Preferred width in cells.
        priority: 0 = always shown; larger numbers are hidden first when the terminal is narrow.
        justify: Cell alignment.
        flex: Share of any spare width (0 = fixed width).
    """

    key: str
    label: str
    width: int
    priority: int = 0
    justify: Literal["left", "right"] = "left"
    flex: int = 0


def without_colour(text: Text) -> Text:
    """A copy of ``text`` keeping bold/dim/reverse/underline but no foreground or background.

    Under ``NO_COLOR`` Textual turns every colour into a grey of the same luminance: "bold red"
    (a high risk score, a blocked state, ADM) comes out as dark grey on a dark background and
    can hardly be read. Without its colours the cell is drawn in the text colour instead, and
    bold still marks what matters.
    """
    def strip(style: str | Style) -> Style:
        parsed = Style.parse(style) if isinstance(style, str) else style
        return parsed.without_color

    out = text.copy()
    out.style = strip(out.style)
    out.spans = [Span(span.start, span.end, strip(span.style)) for span in out.spans]
    return out


def fit_columns(
    columns: Sequence[Column], available: int, *, overhead: int = 1
) -> list[tuple[Column, int]]:
    """Choose and size the columns that fit ``available`` cells, in their original order.

    Each shown column costs its width plus ``overhead`` cells (a separator, or a ``DataTable``'s
    cell padding on both sides).  Columns are taken by ascending ``priority`` (ties: left to
    right) while they fit; spare cells go to the ``flex`` columns (or to the last column).

    Returns:
        ``(column, width)`` pairs, widths excluding the overhead.
    """
    order = sorted(range(len(columns)), key=lambda i: (columns[i].priority, i))
    chosen: set[int] = set()
    used = 0
    for index in order:
        need = columns[index].width + overhead
        if used + need <= available:
            chosen.add(index)
            used += need
    shown = [columns[i] for i in sorted(chosen)]
    widths = [column.width for column in shown]
    spare = available - used
    if spare > 0 and shown:
        flex_total = sum(column.flex for column in shown)
        if flex_total:
            flexed = [n for n, column in enumerate(shown) if column.flex]
            given = 0
            for rank, n in enumerate(flexed):
                share = (
                    spare - given
                    if rank == len(flexed) - 1
                    else spare * shown[n].flex // flex_total
                )
                widths[n] += share
                given += share
        else:
            widths[-1] += spare
    return list(zip(shown, widths, strict=True))


class VirtualTable(ScrollView, can_focus=True, inherit_bindings=False):
    """A keyboard-driven table over an ordered list of row keys; cells come from a provider.

    ``ScrollView``'s own keys (left/right and ctrl+page up/down scroll sideways) are not
    inherited: the columns always fit, so they would only clutter the help.  Subclasses can
    re-describe enter and space for what they mean in their pane.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+u", "half_page_up", "Half a page up", show=False),
        Binding("ctrl+d", "half_page_down", "Half a page down", show=False),
        Binding("home,g", "first", "First row", show=False),
        Binding("end,G", "last", "Last row", show=False),
        Binding("space", "toggle_selection", "Select row", show=False),
        Binding("enter", "select_row", "Open", show=True),
    ]
    """Cursor keys (and less/vi's j k g G ctrl+d ctrl+u) move the cursor, space toggles the row
    in the selection, enter opens it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--sorted",
        "virtual-table--cursor",
        "virtual-table--selected",
        "virtual-table--placeholder",
    }

    # A reusable widget keeps minimal defaults here (style.md §11); the app's look is in
    # styles/users.tcss.
    DEFAULT_CSS = """
    VirtualTable {
        overflow-x: hidden;
        overflow-y: auto;
        height: 1fr;
    }
    VirtualTable > .virtual-table--header { text-style: bold; background: $panel; }
    VirtualTable > .virtual-table--sorted { text-style: bold underline; background: $panel; }
    VirtualTable > .virtual-table--cursor { background: $surface-lighten-2; }
    VirtualTable:focus > .virtual-table--cursor { background: $accent; color: $text; }
    VirtualTable > .virtual-table--selected { background: $primary 30%; }
    VirtualTable > .virtual-table--placeholder { color: $text-muted; }
    """

    class RowHighlighted(Message):
        """The cursor moved to a row (or the rows changed under it)."""

        def __init__(self, table: VirtualTable, row_key: RowKey | None, row_index: int) -> None:
            super().__init__()
            self.table = table
            self.row_key = row_key
            self.row_index = row_index

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(Message):
        """Enter (or a click on the cursor row) chose a row."""

        def __init__(self, table: VirtualTable, row_key: RowKey, row_index: int) -> None:
            super().__init__()
            self.table = table
            self.row_key = row_key
            self.row_index = row_index

        @property
        def control(self) -> VirtualTable:
            return self.table

    class SelectionChanged(Message):
        """The multi-row selection changed (space)."""

        def __init__(self, table: VirtualTable, count: int) -> None:
            super().__init__()
            self.table = table
            self.count = count

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        row_provider: RowProvider,
        *,
        page_size: int = 64,
        cache_pages: int = 48,
        empty_text: str = "No rows",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._columns: tuple[Column, ...] = tuple(columns)
        self._provider = row_provider
        self._page_size = page_size
        self._keys: Sequence[RowKey] = ()
        self._cursor = 0
        self._selected: set[RowKey] = set()
        self._sort: tuple[str, bool] | None = None
        self._pages: LRUCache[int, Mapping[RowKey, CellRow]] = LRUCache(cache_pages)
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(512)
        self._layout: list[tuple[Column, int]] = []
        self._layout_width = -1
        self._generation = 0
        self._last_posted: tuple[RowKey | None, int] | None = None
        self.empty_text = empty_text
        self.provider_calls = 0
        """How many times the row provider was called (tests and measurements read it)."""
        self.provider_rows = 0
        """How many rows the provider was asked for in total."""

    # ------------------------------------------------------------------ data

    @property
    def row_count(self) -> int:
        """Number of rows (keys) in the table."""
        return len(self._keys)

    @property
    def keys(self) -> Sequence[RowKey]:
        """The ordered row keys (do not mutate)."""
        return self._keys

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    @property
    def visible_columns(self) -> list[str]:
        """Keys of the columns that fit the current width."""
        return [column.key for column, _ in self._layout]

    def set_rows(
        self,
        keys: Sequence[RowKey],
        *,
        cursor_key: RowKey | None = None,
        scroll_y: int | None = None,
    ) -> None:
        """Replace the row keys.

        The cursor follows its row when the row is still present (or moves to ``cursor_key``),
        keeping the same screen position; otherwise it stays at the same index, clamped.  The
        selection keeps only keys that are still present.
        """
        old_key = self.cursor_key if cursor_key is None else cursor_key
        old_screen_offset = self._cursor - int(self.scroll_y)
        self._keys = keys
        self._generation += 1
        self._pages.clear()
        self._lines.clear()
        if self._selected:
            if isinstance(keys, list | tuple):
                self._selected &= set(keys)
            else:  # a lazy sequence (audit events in the store): ask it, never read it whole
                self._selected = {key for key in self._selected if key in keys}
        new_cursor = self._cursor
        if old_key is not None:
            try:
                new_cursor = keys.index(old_key)
            except ValueError:
                pass
        self._cursor = max(0, min(new_cursor, len(keys) - 1))
        self._update_virtual_size()
        if scroll_y is not None:
            self.scroll_to(y=scroll_y, animate=False, force=True)
        else:
            top = max(0, self._cursor - max(0, old_screen_offset))
            self.scroll_to(y=top, animate=False, force=True)
        self._ensure_cursor_visible()
        self.refresh()
        self._post_highlighted()

    def invalidate(self, keys: Sequence[RowKey] | None = None) -> None:
        """Forget cached cells (all of them, or those on pages holding ``keys``) and repaint."""
        if keys is None:
            self._pages.clear()
        else:
            wanted = set(keys)
            for page in list(self._pages.keys()):
                cached = self._pages.get(page)
                if cached is not None and wanted.intersection(cached):
                    self._pages.discard(page)
        self._generation += 1
        self._lines.clear()
        self.refresh()

    def set_sort(self, column_key: str | None, descending: bool = False) -> None:
        """Show the sort indicator on ``column_key`` (the caller orders the keys)."""
        self._sort = None if column_key is None else (column_key, descending)
        self._lines.clear()
        self.refresh()

    # ------------------------------------------------------------------ cursor

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def cursor_key(self) -> RowKey | None:
        if 0 <= self._cursor < len(self._keys):
            return self._keys[self._cursor]
        return None

    def move_cursor(self, row: int) -> None:
        """Move the cursor to ``row`` (clamped) and scroll it into view."""
        if not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        if row == self._cursor:
            return
        self._cursor = row
        self._ensure_cursor_visible()
        self.refresh()
        self._post_highlighted()

    def move_to_key(self, key: RowKey) -> bool:
        """Move the cursor to the row with ``key``; False if it is not in the table."""
        try:
            index = self._keys.index(key)
        except ValueError:
            return False
        self.move_cursor(index)
        return True

    @property
    def _page_rows(self) -> int:
        """Rows visible below the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def _ensure_cursor_visible(self) -> None:
        top = int(self.scroll_y)
        visible = self._page_rows
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, force=True)
        elif self._cursor >= top + visible:
            self.scroll_to(y=self._cursor - visible + 1, animate=False, force=True)

    def _post_highlighted(self) -> None:
        current = (self.cursor_key, self._cursor)
        if current != self._last_posted:
            self._last_posted = current
            self.post_message(self.RowHighlighted(self, current[0], self._cursor))

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_page_down(self) -> None:
        page = self._page_rows
        self.scroll_to(y=int(self.scroll_y) + page, animate=False, force=True)
        self.move_cursor(self._cursor + page)

    def action_page_up(self) -> None:
        page = self._page_rows
        self.scroll_to(y=max(0, int(self.scroll_y) - page), animate=False, force=True)
        self.move_cursor(self._cursor - page)

    def action_half_page_down(self) -> None:
        half = max(1, self._page_rows // 2)
        self.scroll_to(y=int(self.scroll_y) + half, animate=False, force=True)
        self.move_cursor(self._cursor + half)

    def action_half_page_up(self) -> None:
        half = max(1, self._page_rows // 2)
        self.scroll_to(y=max(0, int(self.scroll_y) - half), animate=False, force=True)
        self.move_cursor(self._cursor - half)

    def action_first(self) -> None:
        self.scroll_to(y=0, animate=False, force=True)
        self.move_cursor(0)

    def action_last(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        self.move_cursor(len(self._keys) - 1)

    def action_select_row(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.RowSelected(self, key, self._cursor))

    # ------------------------------------------------------------------ selection

    def action_toggle_selection(self) -> None:
        key = self.cursor_key
        if key is None:
            return
        if key in self._selected:
            self._selected.discard(key)
        else:
            self._selected.add(key)
        self.refresh()
        self.post_message(self.SelectionChanged(self, len(self._selected)))
        self.move_cursor(self._cursor + 1)  # space-space-space selects a run of rows

    @property
    def selected_keys(self) -> list[RowKey]:
        """Selected row keys, in table order."""
        if not self._selected:
            return []
        selected = self._selected
        if not isinstance(self._keys, list | tuple):  # lazy: order what is selected, only
            return sorted((k for k in selected if k in self._keys), key=self._keys.index)
        return [key for key in self._keys if key in selected]

    def select_keys(self, keys: Sequence[RowKey]) -> None:
        self._selected = set(keys)
        self.refresh()
        self.post_message(self.SelectionChanged(self, len(self._selected)))

    def clear_selection(self) -> None:
        if self._selected:
            self._selected.clear()
            self.refresh()
            self.post_message(self.SelectionChanged(self, 0))

    # ------------------------------------------------------------------ layout

    def _update_virtual_size(self) -> None:
        width = max(0, self.scrollable_content_region.width)
        self.virtual_size = Size(width, len(self._keys) + 1)

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        self._lines.clear()
        self._ensure_cursor_visible()

    def on_focus(self, event: events.Focus) -> None:
        self._lines.clear()
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        self._lines.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    def _compute_layout(self, width: int) -> list[tuple[Column, int]]:
        """Fit columns into ``width``: drop high ``priority`` numbers first, share spare cells."""
        # One separator cell between columns: fitting width+1 per column into available+1.
        return fit_columns(self._columns, width - _GUTTER + 1, overhead=1)

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
        return self._assemble(cells, header_style, " " * _GUTTER)

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
                message = Text(" " * _GUTTER + self.empty_text, style=style, end="")
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

    # ------------------------------------------------------------------ mouse

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = int(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self._keys):
            if index == self._cursor and event.chain >= 2:
                self.action_select_row()
            self.move_cursor(index)
            event.stop()

