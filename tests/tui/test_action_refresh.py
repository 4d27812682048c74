"""After a response action, the users list shows what GitLab now says (blocked), not the old row."""

from __future__ import annotations

import threading
from typing import Any

from console.app import IncidentConsoleApp
from screens import action_run
from screens.action_run import ActionRunScreen
from screens.actions_menu import ActionsMenuScreen, PlanScreen
from screens.main import MainScreen
from screens.panes.users import UsersPane
from tests.pilot_helpers import demo, reach_main, run_app, screen_text, until


def test_blocking_from_the_menu_updates_the_users_row() -> None:
    app = IncidentConsoleApp(demo(drill_users=120))

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        pane = main.pane("users")
        assert isinstance(pane, UsersPane)
        await until(
            pilot,
            lambda: "120" in str(pane.border_title) and "loading" not in str(pane.border_title),
            timeout=30,
        )
        assert app.ctx is not None
        store, incident = app.ctx.store, app.ctx.incident_id
        assert store.get_user(incident, 7).state == "active"  # mchen
        pane.move_to_user(7)
        await pilot.pause()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActionsMenuScreen))
        await pilot.press("enter")  # Block is the first action
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        await pilot.press(*"mchen", "enter")  # an administrator: typed by name
        await until(
            pilot,
            lambda: isinstance(app.screen, ActionRunScreen) and app.screen.finished,
            timeout=20,
        )
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await until(pilot, lambda: store.get_user(incident, 7).state == "blocked")
        await until(
            pilot,
            lambda: any(
                "mchen" in line and "blocked" in line for line in screen_text(app).splitlines()
            ),
        )

    run_app(app, script)


def test_the_run_finishes_before_the_re_reads_and_they_still_reach_a_closed_run(
    monkeypatch: Any,
) -> None:
    """The per-user re-reads (one GET each) must not hold the run screen in 'running'; when
    they end after the screen was closed, the list still shows the new state."""
    gate = threading.Event()
    original = action_run.reread_users

    def gated(ctx: Any, gl: Any, result: Any) -> tuple[int, ...]:
        gate.wait(timeout=15)
        return original(ctx, gl, result)

    monkeypatch.setattr(action_run, "reread_users", gated)
    app = IncidentConsoleApp(demo(drill_users=120))

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        pane = main.pane("users")
        assert isinstance(pane, UsersPane)
        await until(
            pilot,
            lambda: "120" in str(pane.border_title) and "loading" not in str(pane.border_title),
            timeout=30,
        )
        pane.move_to_user(7)
        await pilot.pause()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActionsMenuScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        await pilot.press(*"mchen", "enter")  # an administrator: typed by name
        try:
            await until(
                pilot,
                lambda: isinstance(app.screen, ActionRunScreen) and app.screen.finished,
                timeout=10,
            )
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, MainScreen))
        finally:
            gate.set()
        await until(
            pilot,
            lambda: any(
                "mchen" in line and "blocked" in line for line in screen_text(app).splitlines()
            ),
        )

    run_app(app, script)
