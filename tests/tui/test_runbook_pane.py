"""RunbookPane under Pilot: auto ticks from the journal, hand ticks with who and a note,
open items, and enter asking the main screen to open what does the step."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from console.store import Store
from screens.copy_value import copyable_value
from screens.runbook import RunbookPane, TickScreen
from tests.pilot_helpers import screen_lines, settle_workers

STYLES = Path(__file__).resolve().parents[2] / "styles" / "handoff.tcss"


class Ctx:
    def __init__(self, store: Store) -> None:
        self.store, self.coverage = store, None
        self.incident = store.create_incident(
            "t", "compromised-account", None, "https://g.example", None, None, subjects=("jlee",)
        )


class PaneApp(App[None]):
    CSS_PATH = [str(STYLES)]

    def __init__(self, ctx: Ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.opened: list[RunbookPane.OpenStep] = []
        self.progress: list[str] = []

    def compose(self) -> ComposeResult:
        yield RunbookPane(self.ctx)

    def on_runbook_pane_open_step(self, message: RunbookPane.OpenStep) -> None:
        self.opened.append(message)

    def on_runbook_pane_progress_changed(self, message: RunbookPane.ProgressChanged) -> None:
        self.progress.append(message.summary)


def _verified_block(store: Store, incident_id: int) -> None:
    eid = store.journal_intent(
        incident_id, "block_user", "user", 10, "jlee", {}, {"state": "active"}
    )
    store.journal_update(eid, "sent", http_status=201, request_id="req-1")
    store.journal_update(eid, "done", post_state={"state": "blocked"})


def test_runbook_pane_ticks_itself_and_by_hand(tmp_path: Path) -> None:
    asyncio.run(_ticks_itself_and_by_hand(tmp_path))


async def _ticks_itself_and_by_hand(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store)
    _verified_block(store, ctx.incident.id)
    app = PaneApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle_workers(app, pilot)
        text = "\n".join(screen_lines(app))
        assert "✓  1. Block the user to mitigate any current risk.  auto" in text
        assert "·  6. After completing an investigation" in text
        assert "Unblock jlee when the investigation is done" in text
        assert app.progress[-1].startswith("runbook 1/6 · ")

        pane = app.query_one(RunbookPane)
        await pilot.press("enter")  # the highlighted first step: block
        assert app.opened[-1].target == "action:block_user"

        await pilot.press("j", "j", "k")  # the same movement keys as every table
        assert pane.state is not None
        assert copyable_value(pane) == pane.state.steps[1].step.text  # y: the step's text
        for _ in range(3):  # to step 5: 2FA, which GitLab may refuse for admins
            await pilot.press("down")
        assert pane.highlighted_key() == "account.2fa"
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TickScreen)
        await pilot.press(*"enforced at group level")
        await pilot.press("enter")
        await settle_workers(app, pilot)
        tick = store.runbook_ticks(ctx.incident.id)["account.2fa"]
        assert tick.note == "enforced at group level" and tick.author
        assert "  5. Get the user to enable two factor" in "\n".join(screen_lines(app))
        assert pane.state is not None and pane.state.done == 2

        await pilot.press("u")
        await settle_workers(app, pilot)
        assert "account.2fa" not in store.runbook_ticks(ctx.incident.id)
        assert pane.state is not None and pane.state.done == 1


def test_tick_needs_a_name_and_escape_cancels(tmp_path: Path) -> None:
    asyncio.run(_tick_needs_a_name(tmp_path))


async def _tick_needs_a_name(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    ctx = Ctx(store)
    app = PaneApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle_workers(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        dialog: Any = app.screen
        assert isinstance(dialog, TickScreen)
        dialog.query_one("#tick-author").value = ""
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TickScreen)  # no name: not saved
        await pilot.press("escape")
        await settle_workers(app, pilot)
        assert store.runbook_ticks(ctx.incident.id) == {}
