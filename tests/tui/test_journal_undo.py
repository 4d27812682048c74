"""Undo from the journal view under Pilot against a fresh drill: a reversible entry's pair runs
after its typed confirmation; an irreversible one and an attempt that sent nothing say why."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from actions import Target, run_plan
from actions.key_actions import DeleteSshKey
from actions.plan import build_plan
from actions.settings_actions import RemoveAdmin
from console.config import ConnectionConfig, build_gitlab
from console.context import AppContext
from console.secret import Secret
from console.session import Connection
from console.store import Store
from screens.action_run import ActionRunScreen
from screens.confirm_typed import TypedConfirmScreen
from screens.journal_view import JournalView
from tests.pilot_helpers import until


class Harness(App[None]):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.notes: list[str] = []

    def compose(self) -> ComposeResult:
        yield JournalView(self.ctx)

    def notify(self, message: str, **kw: Any) -> None:  # type: ignore[override]
        self.notes.append(message)


async def _until(pilot: Any, predicate: Any) -> None:
    for _ in range(400):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


def test_undo_a_reversible_entry_and_refuse_the_others(fresh_drill: Any, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state" / "console.db")
    incident = store.create_incident("u", "compromised-account", None, fresh_drill.url, None, None)
    conn = Connection(
        ConnectionConfig(url=fresh_drill.url), Secret(fresh_drill.ADMIN_TOKEN), "env", "env"
    )
    ctx = AppContext(store, incident, conn, None)
    gl = build_gitlab(conn.config, conn.token)
    inc = int(incident.id)
    assert fresh_drill.state.users[9].is_admin
    run_plan(store, inc, gl, build_plan(RemoveAdmin(), [Target("user", 9, "ops-helper")]))
    key = fresh_drill.state.ssh_keys[7][-1]
    ssh = build_plan(DeleteSshKey(user_id=7), [Target("ssh_key", key.id, key.title)])
    run_plan(store, inc, gl, ssh, dry_run=True)
    run_plan(store, inc, gl, ssh)
    assert not fresh_drill.state.users[9].is_admin

    async def run() -> None:
        app = Harness(ctx)
        async with app.run_test(size=(100, 30)) as pilot:
            view = app.query_one(JournalView)
            await _until(pilot, lambda: len(view.rows) == 3)
            await app.workers.wait_for_complete()  # mount and show both read the journal
            await pilot.pause()
            view.table.focus()
            view.table.move_cursor(row=2)
            await pilot.pause()
            await pilot.press("u")  # the SSH key delete: irreversible
            await _until(pilot, lambda: bool(app.notes))
            assert "irreversible" in app.notes[-1]
            view.table.move_cursor(row=1)
            await pilot.pause()
            await pilot.press("u")  # the dry run: nothing was sent
            await _until(pilot, lambda: len(app.notes) == 2)
            assert "nothing was sent" in app.notes[-1]
            view.table.move_cursor(row=0)
            await pilot.pause()
            await pilot.press("u")  # the admin flag removal: reversible
            await _until(pilot, lambda: isinstance(app.screen, TypedConfirmScreen))
            await pilot.press("n", "enter")  # wrong word: refused
            await until(pilot, lambda: isinstance(app.screen, TypedConfirmScreen))
            await pilot.press("y", "enter")
            await _until(
                pilot, lambda: isinstance(app.screen, ActionRunScreen) and app.screen.finished
            )
            await pilot.press("escape")
            await _until(pilot, lambda: len(view.rows) == 5)

    asyncio.run(run())
    assert fresh_drill.state.users[9].is_admin
    states = [(e.action, e.state, e.extra.get("not_sent")) for e in store.journal_entries(inc)]
    assert states[-2:] == [("grant_admin", "failed", "confirmation"), ("grant_admin", "done", None)]
