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

from collections.abc import Mapping, Sequence
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from screens.widgets.table_columns import Column, fit_columns, without_colour
from screens.widgets.table_render import CellRow, RenderedTable, RowKey, RowProvider

__all__ = [
    "CellRow",
    "Column",
    "RowKey",
    "RowProvider",
    "VirtualTable",
    "fit_columns",
    "without_colour",
]


class VirtualTable(RenderedTable, can_focus=True, inherit_bindings=False):
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
        selectable: bool = True,
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
        self.selectable = selectable
        """False: space selects nothing and is left out of the footer and help."""
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.selectable or action != "toggle_selection"

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
