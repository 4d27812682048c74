"""Through the real app against the drill: a wrong typed confirmation on an administrator is
refused, journaled, and shown in the journal view; nothing reaches GitLab."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from console.app import IncidentConsoleApp
from screens.actions_menu import ActionsMenuScreen, PlanScreen
from screens.journal_view import JournalView
from screens.main import MainScreen
from screens.panes.users import UsersPane
from tests.pilot_helpers import demo, reach_main, run_app, screen_text, until


def test_wrong_name_is_refused_journaled_and_shown() -> None:
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
        drill = app._startup.drill  # the witness of what reached the server
        pane.move_to_user(7)  # mchen, an administrator
        await pilot.pause()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActionsMenuScreen))
        await pilot.press("enter")  # Block
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        await app.workers.wait_for_complete()
        await pilot.press("y", "enter")  # one key never confirms an action on an admin
        await until(pilot, lambda: "Type exactly mchen" in screen_text(app))
        assert app.screen.query_one("#plan-confirm", Input).value == ""
        await pilot.press(*"mchem", "enter")  # nor does a wrong name
        await until(pilot, lambda: "you typed mchem" in screen_text(app))
        await app.workers.wait_for_complete()
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press(":", *"journal", "enter")
        await until(
            pilot, lambda: bool(main.query(JournalView)) and main.query_one(JournalView).display
        )
        view = main.query_one(JournalView)
        await until(pilot, lambda: len(view.rows) == 2)
        # the rows are painted on the next refresh: wait for them on screen, not in the model
        await until(pilot, lambda: screen_text(app).count("refused: confirm") == 2)
        text = screen_text(app)
        assert text.count("refused: confirm") == 2 and "POST /users/7/block" in text
        assert drill is not None and drill.writes() == []
        entries = app.ctx.store.journal_entries(app.ctx.incident_id)
        assert [e.error for e in entries] == [
            "typed text does not match; type mchen to confirm (a destructive action on root "
            "or an administrator: type the username)"
        ] * 2
        assert app.ctx.store.verify_chain(app.ctx.incident_id)

    run_app(app, script)
