"""The timeline screen over 50,000 stored events: it asks the store only for what it shows.

The row provider's counters (as in tests/tui/test_virtual_table.py) and the lazy keys' window
reads tell how much was read; nothing asserts on wall-clock time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.app import App

from console.clock import ServerClock
from console.store import Store, TimelineKeys
from screens.export_dialog import ExportDialog
from screens.modals.detail import DetailModal
from screens.timeline import TimelineScreen
from tests.pilot_helpers import screen_lines, until

EVENTS = 50_000


class Ctx:
    def __init__(self, store: Store) -> None:
        self.store, self.coverage = store, None
        self.clock = ServerClock()
        self.incident = store.create_incident(
            "t", "compromised-account", None, "https://g.example", "2026-03-01", None
        )


class ScreenApp(App[None]):
    def __init__(self, ctx: Ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def on_mount(self) -> None:
        self.push_screen(TimelineScreen(self.ctx))


def _fill(store: Store, incident_id: int) -> None:
    with store.bulk_cache_writes():
        for start in range(0, EVENTS, 10_000):
            store.upsert_events(
                incident_id,
                "instance",
                [
                    {
                        "id": i,
                        "created_at": f"2026-03-{1 + i * 28 // EVENTS:02d}T"
                        f"{i % 24:02d}:{i % 60:02d}:00Z",
                        "author_name": f"user{i % 50}",
                        "event_name": "user_logged_in",
                        "summary": f"sign-in #{i}",
                    }
                    for i in range(start + 1, start + 10_001)
                ],
            )
    store.record_audit_window(incident_id, "instance", "2026-03-01", "2026-03-31")


def test_the_timeline_reads_only_the_windows_it_shows(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store)
    iid = ctx.incident.id
    _fill(store, iid)
    store.journal_intent(iid, "block_user", "user", 7, "user7", {}, None)

    async def run() -> None:
        app = ScreenApp(ctx)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, TimelineScreen))
            screen = app.screen
            assert isinstance(screen, TimelineScreen)
            await until(pilot, lambda: screen.table.row_count == EVENTS + 1)
            await until(pilot, lambda: "sign-in #1" in "\n".join(screen_lines(app)))
            table = screen.table
            keys = screen.keys
            assert isinstance(keys, TimelineKeys)
            text = "\n".join(screen_lines(app))
            assert "50,001 of 50,001 items" in text and "2026-03-01  " in text
            assert table.provider_rows <= 2 * 64 and keys.reads == 1

            await pilot.press("pagedown", "pagedown", "G")
            await until(pilot, lambda: table.cursor_row == EVENTS)
            await until(pilot, lambda: "block_user user7" in "\n".join(screen_lines(app)))
            # the end is one window read from the end, not the 100 windows before it
            assert keys.reads <= 3 and table.provider_rows <= 5 * 64

            await pilot.press("2", "3")  # events only
            await until(pilot, lambda: screen.table.row_count == EVENTS)
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ExportDialog))
            dialog = app.screen
            assert isinstance(dialog, ExportDialog) and dialog.view is not None
            assert callable(dialog.view[1])  # streamed in the dialog's worker, not a list
            target = tmp_path / "timeline.csv"
            from textual.widgets import Input

            dialog.query_one("#export-path", Input).value = str(target)
            await pilot.press("enter")
            await until(pilot, lambda: dialog.written is not None, timeout=60)
            lines = target.read_text().splitlines()
            assert lines[0] == "when,kind,who,what,ref" and len(lines) == EVENTS + 1
            assert lines[1].startswith("2026-03-01T") and lines[-1].endswith(f"event:{EVENTS}")

    asyncio.run(run())


def test_the_timeline_screen_lists_events_actions_and_notes(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store)
    iid = ctx.incident.id
    store.upsert_events(
        iid, "instance", [{"id": 5, "created_at": "2026-03-02T10:00:00Z", "event_name": "x_y"}]
    )
    store.record_audit_window(iid, "instance", "2026-03-01", "2026-03-31")
    store.add_note(iid, "event", 5, "looked at it", "alice")

    async def run() -> None:
        app = ScreenApp(ctx)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, TimelineScreen))
            screen: Any = app.screen
            await until(pilot, lambda: screen.table.row_count == 2)
            await until(pilot, lambda: "[event 5] looked at it" in "\n".join(screen_lines(app)))
            assert [k[0] for k in screen.keys] == ["event", "note"]
            # space selects nothing here (and is not offered); enter shows the whole row
            screen.table.focus()
            await pilot.press("space")
            assert screen.table.selected_keys == []
            assert "space" not in {k for k, b in app.active_bindings.items() if b.enabled}
            await pilot.press("down", "enter")
            await until(pilot, lambda: isinstance(app.screen, DetailModal))
            text = "\n".join(screen_lines(app))
            assert "What: [event 5] looked at it" in text and "Who: alice" in text
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen)

    asyncio.run(run())


def test_a_store_failure_is_said_on_the_status_line(tmp_path: Path, monkeypatch: Any) -> None:
    from console.store import StoreError

    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store)

    def broken(*args: Any, **kw: Any) -> Any:
        raise StoreError("database disk image is malformed")

    monkeypatch.setattr(Store, "timeline_kind_counts", broken)

    async def run() -> None:
        app = ScreenApp(ctx)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, TimelineScreen))
            await until(pilot, lambda: "timeline: " in "\n".join(screen_lines(app)))
            assert isinstance(app.screen, TimelineScreen)  # still running, still on screen

    asyncio.run(run())
