"""A resumed incident opens on the pane it was left on, with the focus there: never on a hidden
pane, whose rows would take keys nobody sees (the users pane's own focus from its mount used to
land after the saved view switched panes, and ``c`` then marked a user while credentials showed).
"""

from __future__ import annotations

from typing import Any

from console.app import IncidentConsoleApp
from screens.main import MainScreen
from tests.pilot_helpers import demo, reach_main, run_app, until


def _focused_pane(main: MainScreen) -> str | None:
    focused = main.focused
    if focused is None:
        return None
    for key in ("users", "audit", "credentials"):
        pane = main.pane(key)
        if focused is pane or pane in focused.ancestors:
            return key
    return None


def test_resume_focuses_the_restored_pane_and_keys_act_there() -> None:
    first = IncidentConsoleApp(demo())

    async def leave_on_credentials(pilot: Any) -> None:
        main = await reach_main(pilot)
        await pilot.press("3")
        await until(pilot, lambda: main.active_pane == "credentials")
        await until(pilot, lambda: _focused_pane(main) == "credentials")
        await pilot.pause(1.0)  # the debounced save of the active pane

    run_app(first, leave_on_credentials)

    second = IncidentConsoleApp(demo(resume=True))

    async def resumed(pilot: Any) -> None:
        main = await reach_main(pilot)
        await until(pilot, lambda: main.active_pane == "credentials")
        await until(pilot, lambda: main.pane("credentials").table.row_count > 0, 30)
        for _ in range(20):  # over the next two seconds the focus never leaves the pane shown
            assert _focused_pane(main) == "credentials", main.focused
            await pilot.pause(0.1)
        ctx = second.ctx
        assert ctx is not None
        before = len(ctx.store.marks(ctx.incident_id, "user"))
        await pilot.press("c")
        await until(pilot, lambda: len(ctx.store.marks(ctx.incident_id, "credential")) == 1)
        assert len(ctx.store.marks(ctx.incident_id, "user")) == before

    run_app(second, resumed)
