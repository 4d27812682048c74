"""VirtualTable at 100,000 rows: navigation, only visible rows rendered, narrow layouts.

Timings are printed (run with ``-s`` to see them); nothing asserts on wall-clock time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult

from screens.safe import safe_cell
from screens.widgets.virtual_table import Column, VirtualTable
from tests.pilot_helpers import screen_lines, until

ROWS = 100_000

COLUMNS = [
    Column("id", "ID", 7, justify="right"),
    Column("username", "Username", 16, flex=2),
    Column("name", "Name", 18, priority=2, flex=1),
    Column("state", "State", 8, priority=1),
    Column("created", "Created", 10, priority=3),
    Column("risk", "Risk", 4, justify="right"),
]


class TableApp(App[None]):
    def __init__(self, rows: int = ROWS) -> None:
        super().__init__()
        self.rows = rows
        self.asked: list[int] = []
        self.highlighted: list[object] = []
        self.selected: list[object] = []

    def provide(self, keys: Sequence[object]) -> Mapping[object, Mapping[str, Text]]:
        out: dict[object, dict[str, Text]] = {}
        for key in keys:
            assert isinstance(key, int)
            self.asked.append(key)
            out[key] = {
                "id": Text(str(key)),
                "username": safe_cell(f"user{key}", kind="username"),
                "name": safe_cell(f"User Number {key}", kind="name"),
                "state": Text("active"),
                "created": Text("2024-01-01"),
                "risk": Text(str(key % 100)),
            }
        return out

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, self.provide, id="table")

    def on_mount(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_rows(list(range(1, self.rows + 1)))
        table.focus()

    def on_virtual_table_row_highlighted(self, message: VirtualTable.RowHighlighted) -> None:
        self.highlighted.append(message.row_key)

    def on_virtual_table_row_selected(self, message: VirtualTable.RowSelected) -> None:
        self.selected.append(message.row_key)


def test_100k_rows_navigation_renders_only_visible_rows() -> None:
    async def run() -> None:
        app = TableApp()
        t0 = time.perf_counter()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            first_paint = time.perf_counter() - t0
            table = app.query_one(VirtualTable)
            lines = screen_lines(app)
            assert "ID" in lines[0] and "Username" in lines[0]
            assert "user1 " in lines[1]
            assert table.cursor_key == 1
            # Only the first page was fetched, not 100k rows.
            assert len(app.asked) <= 64

            t1 = time.perf_counter()
            for _ in range(10):
                await pilot.press("pagedown")
            await pilot.pause()
            pgdn = time.perf_counter() - t1
            page = table.scrollable_content_region.height - 1
            assert table.cursor_row == 10 * page
            assert f"user{10 * page + 1} " in "\n".join(screen_lines(app))

            t2 = time.perf_counter()
            await pilot.press("end")
            await pilot.pause()
            end = time.perf_counter() - t2
            assert table.cursor_key == ROWS
            lines = screen_lines(app)
            assert any(f"user{ROWS}" in line for line in lines)
            assert "▶" in next(line for line in lines if f"user{ROWS}" in line)
            assert lines[0].lstrip().startswith("ID")  # header stays fixed

            await pilot.press("up", "up")
            assert table.cursor_key == ROWS - 2
            await pilot.press("home")
            await pilot.pause()
            assert table.cursor_key == 1
            assert "user1 " in screen_lines(app)[1]
            await pilot.press("pageup")
            assert table.cursor_key == 1

            # Rendered rows: a handful of pages, never the whole table.
            assert len(app.asked) < 2_000, len(app.asked)
            assert table.provider_rows == len(app.asked)

            await pilot.press("enter")
            await pilot.pause()
            assert app.selected == [1]
            assert app.highlighted[-1] == 1
            print(
                f"\n[virtual_table] 100k rows: first paint {first_paint * 1000:.0f} ms, "
                f"10x pagedown {pgdn * 1000:.0f} ms, end {end * 1000:.0f} ms, "
                f"rows fetched {len(app.asked)} in {table.provider_calls} provider calls"
            )

    asyncio.run(run())


def test_set_rows_100k_is_fast_and_keeps_cursor_on_its_row() -> None:
    async def run() -> None:
        app = TableApp(rows=10)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one(VirtualTable)
            await pilot.press("down", "down")
            assert table.cursor_key == 3
            keys = list(range(ROWS, 0, -1))  # reversed order: row 3 is now near the end
            t0 = time.perf_counter()
            table.set_rows(keys)
            took = time.perf_counter() - t0
            await pilot.pause()
            assert table.cursor_key == 3
            assert table.cursor_row == ROWS - 3
            lines = screen_lines(app)
            assert any("user3 " in line and "▶" in line for line in lines)
            # The row disappears: the cursor keeps its index.
            table.set_rows([k for k in keys if k != 3])
            assert table.cursor_row == ROWS - 3
            assert table.cursor_key == 2
            print(f"\n[virtual_table] set_rows(100k) {took * 1000:.1f} ms")

    asyncio.run(run())


def test_selection_with_space_and_selected_keys_in_table_order() -> None:
    async def run() -> None:
        app = TableApp(rows=1000)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one(VirtualTable)
            await pilot.press("space", "space", "down", "space")
            assert table.selected_keys == [1, 2, 4]
            await pilot.press("up", "up", "up", "space")  # row 2 again: deselect
            assert table.selected_keys == [1, 4]
            lines = screen_lines(app)
            assert "●" in next(line for line in lines if "user1 " in line)
            assert "●" not in next(line for line in lines if "user2 " in line)
            table.set_rows([4, 3])  # row 1 gone: dropped from the selection
            assert table.selected_keys == [4]
            table.clear_selection()
            assert table.selected_keys == []

    asyncio.run(run())


def test_columns_fit_narrow_and_wide_terminals() -> None:
    async def run() -> None:
        app = TableApp(rows=50)
        async with app.run_test(size=(40, 12)) as pilot:
            table = app.query_one(VirtualTable)
            await pilot.pause()
            narrow = table.visible_columns
            assert "id" in narrow and "username" in narrow and "risk" in narrow
            assert "created" not in narrow  # priority 3 goes first
            for line in screen_lines(app):
                assert len(line) <= 40
            await pilot.resize_terminal(120, 30)
            await pilot.pause()
            assert table.visible_columns == [c.key for c in COLUMNS]
            header = screen_lines(app)[0]
            assert "Created" in header

            table.set_sort("username", descending=True)
            await pilot.pause()
            await until(pilot, lambda: "Username▼" in screen_lines(app)[0])

    asyncio.run(run())


def test_empty_table_shows_empty_text_and_ignores_keys() -> None:
    async def run() -> None:
        app = TableApp(rows=0)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one(VirtualTable)
            table.empty_text = "No users match"
            table.refresh()
            await pilot.press("down", "end", "enter", "space")
            await pilot.pause()
            assert table.cursor_key is None
            assert app.selected == []
            assert "No users match" in screen_lines(app)[1]

    asyncio.run(run())


def test_no_color_cells_lose_their_colours_but_keep_bold(monkeypatch: Any) -> None:
    """Under NO_COLOR a "bold red" risk would turn dark grey on dark grey: draw it uncoloured."""

    class RiskApp(TableApp):
        def provide(self, keys: Sequence[object]) -> Mapping[object, Mapping[str, Text]]:
            out = dict(super().provide(keys))
            for key in keys:
                out[key] = {**out[key], "risk": Text("ADM", style="bold red")}
            return out

    async def run(no_color: bool) -> list[Any]:
        if no_color:
            monkeypatch.setenv("NO_COLOR", "1")
        else:
            monkeypatch.delenv("NO_COLOR", raising=False)
        app = RiskApp(rows=5)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.no_color is no_color
            strip = app.query_one(VirtualTable).render_line(2)
            return [seg.style for seg in strip if seg.text.strip() == "ADM"]

    coloured = asyncio.run(run(False))
    plain = asyncio.run(run(True))
    assert coloured and coloured[0] is not None and coloured[0].color is not None
    assert coloured[0].color.name == "red"
    # The cell keeps bold; its colour is the row's text colour, not red.
    assert plain and plain[0] is not None and plain[0].bold
    assert plain[0].color is None or plain[0].color.name != "red"


def test_vi_and_less_keys_move_the_cursor() -> None:
    async def run() -> None:
        app = TableApp(rows=1000)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one(VirtualTable)
            await pilot.press("j", "j", "j", "k")
            assert table.cursor_row == 2
            await pilot.press("G")
            assert table.cursor_row == 999
            await pilot.press("g")
            assert table.cursor_row == 0
            page = table._page_rows
            await pilot.press("ctrl+d")
            assert table.cursor_row == page // 2
            await pilot.press("ctrl+d", "ctrl+u")
            assert table.cursor_row == page // 2
            await pilot.press("pagedown")
            assert table.cursor_row == page // 2 + page

    asyncio.run(run())


def test_no_color_paints_plain_cells_and_the_empty_line(monkeypatch: Any) -> None:
    """Cells without spans (and the "no rows" line) rendered as style-less segments, on which
    Textual's NO_COLOR filter crashed ("'NoneType' object has no attribute 'color'")."""

    class PlainApp(TableApp):
        def provide(self, keys: Sequence[object]) -> Mapping[object, Mapping[str, Text]]:
            return {key: {"id": Text(str(key)), "state": Text("active")} for key in keys}

    async def run(rows: int) -> list[str]:
        monkeypatch.setenv("NO_COLOR", "1")
        app = PlainApp(rows=rows)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one(VirtualTable)
            table.empty_text = "No users match"
            table.refresh()
            await pilot.pause()
            for y in range(3):
                assert all(seg.style is not None for seg in table.render_line(y))
            return screen_lines(app)

    assert "No users match" in asyncio.run(run(0))[1]
    assert "active" in asyncio.run(run(3))[1]
