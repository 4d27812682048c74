"""The Contain screen under Pilot against a fresh drill: the whole playbook from one screen.

Every foothold the drill planted (``console.drill.footholds.FOOTHOLDS``) is gone afterwards,
each mutation reached the server once (the drill's request log), the typed confirmation refused
``y`` and a wrong name first (journaled), and the new password was shown once in its own box
and is absent from a capture taken after it was dismissed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

from textual.app import App
from textual.widgets import Input

from console.config import ConnectionConfig
from console.context import AppContext
from console.secret import Secret
from console.session import Connection
from console.store import Store
from screens.contain import ContainScreen
from screens.secret_box import OneTimeSecrets
from tests.integration.test_contain import NEW_PIP, assert_no_foothold_left


def _ctx(drill: Any, tmp_path: Path) -> AppContext:
    store = Store.open(tmp_path / "state" / "console.db")
    incident = store.create_incident("c", "compromised-account", None, drill.url, None, None)
    conn = Connection(ConnectionConfig(url=drill.url), Secret(drill.ADMIN_TOKEN), "env", "env")
    return AppContext(store, incident, conn, None)


async def _until(pilot: Any, predicate: Any, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


def test_contain_screen_removes_every_foothold_each_sent_once(
    fresh_drill: Any, tmp_path: Path
) -> None:
    ctx = _ctx(fresh_drill, tmp_path)
    shots: list[str] = []
    planned: Counter[tuple[str, str]] = Counter()
    password: list[str] = []

    async def run() -> None:
        app: App[None] = App()
        async with app.run_test(size=(100, 40)) as pilot:
            screen = ContainScreen(ctx, 7)
            app.push_screen(screen)
            await _until(
                pilot, lambda: screen.playbook is not None and bool(screen.query("#contain-var-0"))
            )
            assert screen.playbook is not None
            planned.update((c.method, c.path) for c in screen.playbook.calls())
            text = "\n".join(screen.playbook.lines())
            assert "POST /users/7/block" in text and "DELETE /users/1/impersonation_tokens/" in text
            screen.query_one("#contain-var-0", Input).value = NEW_PIP
            screen.query_one("#contain-confirm", Input).focus()
            await pilot.press("y", "enter")
            await pilot.press(*"mchem", "enter")
            await app.workers.wait_for_complete()
            assert fresh_drill.writes() == [] and not screen.running
            await pilot.press(*"mchen", "enter")
            await _until(pilot, lambda: isinstance(app.screen, OneTimeSecrets))
            box = app.screen
            assert isinstance(box, OneTimeSecrets)
            password.append(box._values[0][2].reveal())
            # the box paints on the next refresh; under load the first capture can be blank
            await _until(pilot, lambda: password[0] in app.export_screenshot())
            shots.append(app.export_screenshot())
            await pilot.press("escape")
            await _until(pilot, lambda: app.screen is screen)
            await app.workers.wait_for_complete()
            await pilot.pause()
            shots.append(app.export_screenshot())

    asyncio.run(run())
    assert_no_foothold_left(fresh_drill)
    writes = Counter((m, p) for m, p, _ in fresh_drill.writes())
    assert writes == planned  # each planned call sent, none twice beyond the plan
    assert password[0] in shots[0] and password[0] not in shots[1]
    assert NEW_PIP not in shots[0] and NEW_PIP not in shots[1]
    entries = ctx.store.journal_entries(ctx.incident_id)
    refused = [e for e in entries if e.extra.get("not_sent") == "confirmation"]
    assert len(refused) == 2 and all(e.target_label == "mchen" for e in refused)
    assert ctx.store.verify_chain(ctx.incident_id)
    store_bytes = b"".join(p.read_bytes() for p in ctx.store.path.parent.glob("console.db*"))
    assert password[0].encode() not in store_bytes and NEW_PIP.encode() not in store_bytes
