"""The hand-off features reached from the main screen of the demo: 4 runbook, 5 journal,
T timeline, E export the current view, palette commands, and the cached capability check."""

from __future__ import annotations

from typing import Any

from console.app import IncidentConsoleApp
from console.runbook import COVERAGE_CACHE_KEY
from screens.export_dialog import ExportDialog
from screens.journal_view import JournalView
from screens.runbook import RunbookPane
from screens.timeline import TimelineScreen
from tests.pilot_helpers import demo, reach_main, run_app, screen_text, until


def test_runbook_journal_timeline_and_exports_from_the_main_screen() -> None:
    app = IncidentConsoleApp(demo(drill_users=60))

    async def script(pilot: Any) -> None:
        main = await reach_main(pilot)
        ctx = app.ctx
        assert ctx is not None
        await until(
            pilot, lambda: ctx.store.cache_get(ctx.incident_id, COVERAGE_CACHE_KEY) is not None
        )
        cached = ctx.store.cache_get(ctx.incident_id, COVERAGE_CACHE_KEY)
        assert cached is not None and cached[0]["version"]

        await pilot.press("4")
        await until(pilot, lambda: main.active_pane == "runbook")
        runbook = main.pane()
        assert isinstance(runbook, RunbookPane)
        await until(pilot, lambda: runbook.state is not None)
        await until(pilot, lambda: "1. Review the audit events" in screen_text(app))
        assert runbook.state is not None and runbook.state.version is not None
        assert runbook.state.version.version == cached[0]["version"]

        await pilot.press("enter")  # step 1 (review the audit events) opens the audit pane
        await until(pilot, lambda: main.active_pane == "audit")

        await pilot.press("5")
        await until(pilot, lambda: isinstance(main.pane(), JournalView))
        await until(pilot, lambda: "chain intact" in screen_text(app))

        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, TimelineScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main)

        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, ExportDialog))
        dialog = app.screen
        assert isinstance(dialog, ExportDialog) and dialog.view is not None
        assert dialog.view[0] == "journal"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main)

        names = [command.title for command in app.get_system_commands(main)]
        assert {
            "Show Runbook",
            "Show Journal",
            "Timeline",
            "Export evidence bundle",
            "Export current view",
            "Help",
            "Quit",
        } <= set(names)
        assert not {"Theme", "Keys", "Screenshot"} & set(names)  # not Textual's own commands
        await main.run_action("export_bundle")
        await until(pilot, lambda: isinstance(app.screen, ExportDialog))
        bundle_dialog = app.screen
        assert isinstance(bundle_dialog, ExportDialog) and bundle_dialog.view is None
        await pilot.press("escape")

    run_app(app, script)
