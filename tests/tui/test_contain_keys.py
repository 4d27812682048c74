"""The Contain key (`!`) and the leaked-token key (`L`) reach their screens from where a
responder meets a suspect: the users list, the dossier, an audit event, the credentials pane."""

from __future__ import annotations

from typing import Any

from console.app import IncidentConsoleApp
from console.drill.seed import COMPROMISED_USERNAME
from screens.contain import ContainScreen
from screens.dossier import DossierScreen
from screens.leaked_token import LeakedTokenScreen
from screens.panes.audit.pane import AuditPane
from tests.pilot_helpers import demo, reach_main, run_app, until


def test_bang_opens_contain_from_the_users_list_and_the_dossier() -> None:
    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        users = main.pane("users")
        await until(pilot, lambda: bool(users.query("#users-table")))
        await pilot.press("slash", *COMPROMISED_USERNAME, "enter")
        await until(pilot, lambda: users.table.row_count == 1)
        await pilot.press("exclamation_mark")
        await until(pilot, lambda: isinstance(app.screen, ContainScreen))
        assert app.screen.user_id == users.current_user_id
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ContainScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DossierScreen))
        await pilot.press("exclamation_mark")
        await until(pilot, lambda: isinstance(app.screen, ContainScreen))

    run_app(app, script)


def test_bang_on_an_audit_event_contains_its_author_and_l_opens_the_leaked_token_screen() -> None:
    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        await pilot.press("2")
        audit = main.pane("audit")
        assert isinstance(audit, AuditPane)
        await until(pilot, lambda: audit.table.row_count > 0, 30)
        await pilot.press("slash", *COMPROMISED_USERNAME, "enter")
        # The search's rows land from a worker: wait for them before reading the selection.
        await until(pilot, lambda: audit.view.search == COMPROMISED_USERNAME, 30)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await until(
            pilot,
            lambda: (ev := audit.selected_event()) is not None and ev.author_id is not None,
            30,
        )
        author = audit.selected_event().author_id  # type: ignore[union-attr]
        await pilot.press("exclamation_mark")
        await until(pilot, lambda: isinstance(app.screen, ContainScreen))
        assert app.screen.user_id == author
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ContainScreen))
        await pilot.press("3")
        await until(pilot, lambda: main.active_pane == "credentials")
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LeakedTokenScreen))

    run_app(app, script)


def test_the_leaked_command_opens_the_leaked_token_screen() -> None:
    app = IncidentConsoleApp(demo())

    async def script(pilot: Any) -> None:
        await reach_main(pilot)
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press(*"leaked", "enter")
        await until(pilot, lambda: isinstance(app.screen, LeakedTokenScreen))

    run_app(app, script)
