"""The short tables (journal, a run) answer j/k, g/G and ctrl+d/u like the virtual table."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult

from screens.widgets.key_table import KeyTable


class _App(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyTable(id="t", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(KeyTable)
        table.add_column("n")
        for n in range(100):
            table.add_row(str(n))
        table.focus()


def test_less_and_k9s_keys_move_the_cursor() -> None:
    async def run() -> None:
        app = _App()
        async with app.run_test(size=(40, 12)) as pilot:
            table = app.query_one(KeyTable)
            await pilot.press("j", "j", "j")
            assert table.cursor_row == 3
            await pilot.press("k")
            assert table.cursor_row == 2
            await pilot.press("G")
            assert table.cursor_row == 99
            await pilot.press("g")
            assert table.cursor_row == 0
            await pilot.press("ctrl+d")
            half = table.cursor_row
            assert 0 < half < 12
            await pilot.press("ctrl+d", "ctrl+u")
            assert table.cursor_row == half
            await pilot.press("ctrl+u", "ctrl+u")
            assert table.cursor_row == 0

    asyncio.run(run())
