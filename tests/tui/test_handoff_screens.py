"""Journal view, timeline screen and export dialog under Pilot (standalone, no main screen)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Input

from console.audit import events_cache_key
from console.clock import ServerClock
from console.store import Store
from screens.export_dialog import ExportDialog
from screens.journal_view import JournalView
from screens.timeline import NoteDialog, TimelineScreen
from tests.pilot_helpers import screen_lines, settle_workers, until

STYLES = Path(__file__).resolve().parents[2] / "styles" / "handoff.tcss"
HOSTILE = "\x1b[2Jevil\u202e[@click=app.quit]x"


class Ctx:
    def __init__(self, store: Store) -> None:
        self.store, self.coverage = store, None
        self.clock = ServerClock()
        self.incident = store.create_incident(
            "t", "compromised-account", None, "https://g.example", "2026-03-01", None
        )


def _event(i: int, when: str, name: str, target: str) -> dict[str, object]:
    return {
        "id": i,
        "created_at": when,
        "author_id": 5,
        "author_name": "mallory",
        "entity_type": "User",
        "entity_id": 5,
        "entity_path": "mallory",
        "event_name": name,
        "category": "auth",
        "target_type": "User",
        "target_id": "9",
        "target_details": target,
        "ip_address": "203.0.113.9",
        "summary": "",
    }


def _ctx(tmp_path: Path) -> Ctx:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store)
    iid = ctx.incident.id
    for target, label, state in ((10, "jlee", "done"), (11, HOSTILE, "forbidden")):
        eid = store.journal_intent(iid, "block_user", "user", target, label, {}, None)
        store.journal_update(eid, "sent", http_status=201, request_id=f"req-{target}")
        store.journal_update(eid, state)
    store.cache_put(
        iid,
        events_cache_key(*ctx.incident.window),
        {
            "events": [
                _event(1, "2026-03-02T10:00:00Z", "personal_access_token_created", HOSTILE),
                _event(2, "2026-03-02T11:00:00Z", "user_blocked", "jlee"),
            ],
            "complete": True,
        },
    )
    return ctx


class JournalApp(App[None]):
    CSS_PATH = [str(STYLES)]

    def __init__(self, ctx: Ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        yield JournalView(self.ctx)


def _no_escapes(app: App[Any]) -> str:
    text = "\n".join(screen_lines(app))
    assert "\x1b" not in text and "\u202e" not in text
    return text


def test_journal_view_lists_calls_filters_and_shows_the_head(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    head = ctx.store.journal_head(ctx.incident.id)

    async def run() -> None:
        app = JournalApp(ctx)
        async with app.run_test(size=(140, 24)) as pilot:
            await settle_workers(app, pilot)
            view = app.query_one(JournalView)
            text = _no_escapes(app)
            assert "POST /users/10/block" in text and "req-10" in text
            assert "verified" in text and "refused by GitLab (403)" in text
            assert "chain intact" in text and head[:40] in text
            view.table.focus()
            await pilot.press("slash")
            await pilot.press(*"403")
            assert [r["id"] for r in view.shown] == [2]
            await pilot.press("enter", "escape")
            assert len(view.shown) == 2

            # a tampered row shows the first broken entry
            ctx.store._conn().execute("UPDATE journal SET request_id = 'forged' WHERE id = 1")
            await pilot.press("v")
            await settle_workers(app, pilot)
            assert "CHAIN BROKEN: entry 1: request_id differs" in "\n".join(screen_lines(app))

    asyncio.run(run())


class ScreenApp(App[None]):
    def __init__(self, ctx: Ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def on_mount(self) -> None:
        self.push_screen(TimelineScreen(self.ctx))


def test_timeline_screen_histogram_kinds_and_notes(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)

    async def run() -> None:
        app = ScreenApp(ctx)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle_workers(app, pilot)
            screen = app.screen
            assert isinstance(screen, TimelineScreen)
            text = _no_escapes(app)
            assert "2026-03-02  " in text and "█" in text
            assert [k[0] for k in screen.keys] == ["event", "event", "action", "action"]
            await pilot.press("1")
            await until(pilot, lambda: {k[0] for k in screen.keys} == {"action"})
            await pilot.press("1", "h")
            await until(pilot, lambda: "2026-03-02 10:00" in "\n".join(screen_lines(app)))
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, NoteDialog)
            await pilot.press(*"mallory used a Tor exit", "enter")
            await settle_workers(app, pilot)
            [note] = ctx.store.notes(ctx.incident.id)
            assert note.text == "mallory used a Tor exit" and note.author
            assert note.object_type == "incident"
            await until(pilot, lambda: bool(screen.keys) and screen.keys[-1][0] == "note")

            # N on a row: the first row is event 1, the third the block of user 10
            table = screen.table
            table.focus()
            table.move_cursor(0)
            await pilot.press("N")
            await pilot.pause()
            await pilot.press(*"token from Tor", "enter")
            await settle_workers(app, pilot)
            table.move_cursor(2)
            await pilot.press("N")
            await pilot.pause()
            await pilot.press(*"confirmed phished", "enter")
            await settle_workers(app, pilot)
            notes = {(n.object_type, n.object_id): n.text for n in ctx.store.notes(ctx.incident.id)}
            assert notes[("event", "1")] == "token from Tor"
            assert notes[("user", "10")] == "confirmed phished"

    asyncio.run(run())


class DialogApp(App[None]):
    def __init__(self, ctx: Ctx, dialog: ExportDialog) -> None:
        super().__init__()
        self.ctx, self.dialog = ctx, dialog
        self.result: Any = "pending"

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self._done)

    def _done(self, result: Any) -> None:
        self.result = result


def test_export_dialog_writes_a_bundle_and_a_view(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)

    async def run(dialog: ExportDialog, target: Path) -> DialogApp:
        app = DialogApp(ctx, dialog)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            path_box = dialog.query_one("#export-path", Input)
            path_box.value = str(target)
            await pilot.press("enter")
            await settle_workers(app, pilot)
            assert "written to" in "\n".join(screen_lines(app))
            await pilot.press("enter")
            await pilot.pause()
        return app

    bundle = tmp_path / "bundle"
    app = asyncio.run(run(ExportDialog(ctx), bundle))
    assert app.result == bundle
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o555
    from console.export import verify_bundle

    assert verify_bundle(bundle).ok

    rows = [{"id": 1, "username": "=cmd|'/c calc'!A1"}, {"id": 2, "username": "bob"}]
    view = tmp_path / "users.csv"
    app = asyncio.run(run(ExportDialog(ctx, view=("users", rows, ("id", "username"))), view))
    assert app.result == view
    assert view.read_text().splitlines() == ["id,username", "1,'=cmd|'/c calc'!A1", "2,bob"]
    assert stat.S_IMODE(os.stat(view).st_mode) == 0o600
    jsonl = tmp_path / "users.jsonl"
    asyncio.run(run(ExportDialog(ctx, view=("users", rows, ("id",))), jsonl))
    assert [json.loads(x) for x in jsonl.read_text().splitlines()] == [{"id": 1}, {"id": 2}]


def test_the_default_export_path_is_stamped_with_gitlabs_clock(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    local = time.time()
    # GitLab's replies say 2031-01-02 10:20:30 while this host thinks it is now.
    gitlab_now = datetime(2031, 1, 2, 10, 20, 30, tzinfo=UTC).timestamp()
    ctx.clock.observe(
        {"Date": formatdate(gitlab_now, usegmt=True)}, sent_at=local, received_at=local
    )

    async def run() -> str:
        dialog = ExportDialog(ctx, view=("users", [{"id": 1}], ("id",)))
        app = DialogApp(ctx, dialog)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            return dialog.query_one("#export-path", Input).value

    path = asyncio.run(run())
    assert Path(path).name.startswith(f"incident-{ctx.incident.id}-users-20310102-1020"), path


def test_export_dialog_refuses_an_existing_path(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    taken = tmp_path / "taken.csv"
    taken.write_text("keep me")

    async def run() -> None:
        dialog = ExportDialog(ctx, view=("users", [{"id": 1}], ("id",)))
        app = DialogApp(ctx, dialog)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            dialog.query_one("#export-path", Input).value = str(taken)
            await pilot.press("enter")
            await settle_workers(app, pilot)
            assert "exists: choose a new name" in "\n".join(screen_lines(app))

    asyncio.run(run())
    assert taken.read_text() == "keep me"
