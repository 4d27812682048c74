"""The leaked-token screen under Pilot against a fresh drill: paste masked, see whose it is,
revoke in one step; an unknown token said plainly; the value never on screen or in the store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.app import App
from textual.widgets import Input

from console.config import ConnectionConfig
from console.context import AppContext
from console.secret import Secret
from console.session import Connection
from console.store import Store
from screens.action_run import ActionRunScreen
from screens.leaked_token import LeakedTokenScreen
from tests.pilot_helpers import screen_text


def _ctx(drill: Any, tmp_path: Path) -> AppContext:
    store = Store.open(tmp_path / "state" / "console.db")
    incident = store.create_incident("l", "compromised-account", None, drill.url, None, None)
    conn = Connection(ConnectionConfig(url=drill.url), Secret(drill.ADMIN_TOKEN), "env", "env")
    return AppContext(store, incident, conn, None)


async def _until(pilot: Any, predicate: Any) -> None:
    for _ in range(400):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


def test_paste_identify_and_revoke(fresh_drill: Any, tmp_path: Path) -> None:
    ctx = _ctx(fresh_drill, tmp_path)
    leaked = next(t for t in fresh_drill.state.tokens.values() if t.name == "support-session")
    shots: list[str] = []

    async def run() -> None:
        app: App[None] = App()
        async with app.run_test(size=(100, 40)) as pilot:
            screen = LeakedTokenScreen(ctx)
            app.push_screen(screen)
            await pilot.pause()
            await pilot.press(*"glpat-aaaaaaaaaaaaaaaaaaaa", "enter")
            await _until(pilot, lambda: screen.identity is not None)
            shots.append(screen_text(app))
            assert screen.identity is not None and not screen.identity.found
            screen.query_one("#leaked-value", Input).focus()
            await pilot.press(*leaked.value)
            shots.append(screen_text(app))  # masked while typed
            await pilot.press("enter")
            await _until(pilot, lambda: screen.identity is not None and screen.identity.found)
            await pilot.pause()
            shots.append(screen_text(app))
            assert screen.query_one("#leaked-value", Input).value == ""
            await pilot.press("enter")  # the first choice: revoke
            await pilot.press("x", "enter")  # a wrong word is refused
            assert not leaked.revoked
            await pilot.press("y", "enter")
            await _until(
                pilot, lambda: isinstance(app.screen, ActionRunScreen) and app.screen.finished
            )

    asyncio.run(run())
    assert "could not identify" in shots[0] or "does not know this token" in shots[0]
    facts = shots[2]
    for expected in ("root", "impersonation", "api, sudo", "203.0.113.66"):
        assert expected in facts, expected
    assert leaked.revoked
    assert fresh_drill.requests_to("DELETE", f"/users/1/impersonation_tokens/{leaked.id}") == 1
    assert all(leaked.value not in shot for shot in shots)
    ctx.store.close()
    data = b"".join(p.read_bytes() for p in ctx.store.path.parent.glob("console.db*"))
    assert leaked.value.encode() not in data
