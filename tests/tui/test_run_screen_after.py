"""The run screen under Pilot: credentials re-read after a run, the console's own token kept.

Against a fresh drill, through the real menu, plan and run screens.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.app import App

from actions.own_token import own_token_plan
from actions.transport import get_json
from console.config import ConnectionConfig, build_gitlab
from console.context import AppContext
from console.inventory.rows import token_row
from console.secret import Secret
from console.session import Connection
from console.store import Store
from screens.action_run import ActionRunScreen
from screens.actions_menu import ActionsMenuScreen, PlanScreen, open_token_actions_menu
from screens.messages import CredentialsChanged, OwnTokenRotated


def _ctx(drill: Any, tmp_path: Path) -> AppContext:
    store = Store.open(tmp_path / "state" / "console.db")
    incident = store.create_incident("after", "compromised-account", None, drill.url, None, None)
    conn = Connection(ConnectionConfig(url=drill.url), Secret(drill.ADMIN_TOKEN), "env", "env")
    return AppContext(store, incident, conn, None)


class Harness(App[None]):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.creds: list[tuple[str, ...]] = []
        self.rotated: list[str] = []

    def on_credentials_changed(self, message: CredentialsChanged) -> None:
        self.creds.append(message.keys)

    def on_own_token_rotated(self, message: OwnTokenRotated) -> None:
        self.rotated.append(message.note)


async def _until(pilot: Any, predicate: Any) -> None:
    for _ in range(300):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


def test_a_revoked_token_row_shows_revoked_right_after_the_run(
    fresh_drill: Any, tmp_path: Path
) -> None:
    ctx = _ctx(fresh_drill, tmp_path)
    tok = next(
        t
        for t in fresh_drill.state.tokens.values()
        if t.user_id == 7 and not t.revoked and not t.impersonation and t.resource_type is None
    )
    gl = build_gitlab(ctx.connection.config, ctx.connection.token)
    raw = get_json(gl, f"/personal_access_tokens/{tok.id}")
    row = token_row(raw, {"id": 7, "username": "mchen"}, None, datetime.now(UTC)).to_dict()
    ctx.store.upsert_credentials(ctx.incident_id, [row])
    key = f"pat:{tok.id}"

    async def run() -> None:
        app = Harness(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            open_token_actions_menu(app, ctx, [raw])
            await _until(pilot, lambda: isinstance(app.screen, ActionsMenuScreen))
            await pilot.press("enter")  # Revoke is the first token action
            await _until(pilot, lambda: isinstance(app.screen, PlanScreen))
            await app.workers.wait_for_complete()
            await pilot.press("y", "enter")
            await _until(
                pilot, lambda: isinstance(app.screen, ActionRunScreen) and app.screen.finished
            )
            await _until(pilot, lambda: app.creds == [(key,)])

    asyncio.run(run())
    [stored] = ctx.store.credentials_by_keys(ctx.incident_id, [key])
    assert stored["state"] == "revoked" and tok.revoked
    assert fresh_drill.requests_to("DELETE", f"/personal_access_tokens/{tok.id}") == 1


def test_the_console_token_rotation_is_kept_and_never_shown(
    fresh_drill: Any, tmp_path: Path
) -> None:
    ctx = _ctx(fresh_drill, tmp_path)
    own = next(t for t in fresh_drill.state.tokens.values() if t.value == fresh_drill.ADMIN_TOKEN)
    shots: list[str] = []

    async def run() -> None:
        app = Harness(ctx)
        async with app.run_test(size=(100, 30)) as pilot:
            app.push_screen(ActionRunScreen(ctx, own_token_plan(own.id, confirmed=True)))
            await _until(
                pilot,
                lambda: (
                    isinstance(app.screen, ActionRunScreen)
                    and app.screen.finished
                    and bool(app.rotated)
                ),
            )
            await pilot.pause()
            shots.append(app.export_screenshot())
            await pilot.press("escape")
            await pilot.pause()
            shots.append(app.export_screenshot())

    asyncio.run(run())
    new_value = ctx.connection.token.reveal()
    assert new_value != fresh_drill.ADMIN_TOKEN
    assert fresh_drill.state.token_by_value(new_value) is not None and own.revoked
    assert all(new_value not in shot for shot in shots)
    assert "memory" in shots[0]  # the note says where it is kept, never what it is
    assert get_json(ctx.gitlab(), "/user")["id"] == 1  # reconnected with the new value
    assert fresh_drill.requests_to("POST", "/personal_access_tokens/self/rotate") == 1
