"""The hand-off features on the main screen: runbook and journal panes, timeline, exports.

Kept out of ``screens/main.py`` so that the main screen only mixes this in: the keys (``4``
runbook, ``5`` journal, ``T`` timeline, ``E`` export the current view), the palette commands,
opening what a runbook step asks for, and caching the capability check so that the runbook,
the report and the headless export can name the blind spots and the version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding

if TYPE_CHECKING:
    from textual.widget import Widget

    from console.context import AppContext
    from screens.runbook import RunbookPane

__all__ = [
    "HANDOFF_BINDINGS",
    "HANDOFF_PANES",
    "HandoffMixin",
    "handoff_commands",
    "handoff_pane_factories",
]

#: Extra panes of the main screen: key → label (after users, audit, credentials).
HANDOFF_PANES: dict[str, str] = {"runbook": "Runbook", "journal": "Journal"}

HANDOFF_BINDINGS = [
    Binding("4", "app.switch_pane('runbook')", "Runbook pane", show=False),
    Binding("5", "app.switch_pane('journal')", "Journal pane", show=False),
    Binding("T", "show_timeline", "Timeline: events, actions and notes", show=False),
    Binding("E", "export_view", "Export the current view (CSV / JSON Lines)", show=False),
]


def handoff_pane_factories() -> dict[str, Any]:
    """The runbook and journal panes, their modules imported when each is built."""

    def runbook(ctx: AppContext) -> Widget:
        from screens.runbook import RunbookPane

        return RunbookPane(ctx)

    def journal(ctx: AppContext) -> Widget:
        from screens.journal_view import JournalView

        return JournalView(ctx)

    return {"runbook": runbook, "journal": journal}


def handoff_commands() -> list[tuple[str, str, str]]:
    """(name, help, action) for the command palette."""
    return [
        ("Timeline", "Audit events, actions and notes on one time axis", "screen.show_timeline"),
        (
            "Export current view",
            "The active pane's rows as CSV or JSON Lines",
            "screen.export_view",
        ),
        (
            "Export evidence bundle",
            "Report, JSON Lines, journal and a signed manifest",
            "screen.export_bundle",
        ),
    ]


class HandoffMixin:
    """Mixed into :class:`screens.main.MainScreen` (which provides ``ctx``, ``active_pane``,
    ``pane()``, ``show_pane()``, ``app`` and ``notify``)."""

    ctx: AppContext
    active_pane: str
    app: Any

    if TYPE_CHECKING:  # provided by MainScreen; never defined here (it would shadow them)

        def pane(self, key: str | None = None) -> Widget: ...
        def show_pane(self, key: str, *, save: bool = True) -> None: ...
        def notify(self, message: str, **kw: Any) -> None: ...
        async def action_show_coverage(self) -> None: ...

    def action_show_timeline(self) -> None:
        from screens.timeline import TimelineScreen

        self.app.push_screen(TimelineScreen(self.ctx))

    def action_export_bundle(self) -> None:
        from screens.export_dialog import ExportDialog

        self.app.push_screen(ExportDialog(self.ctx))

    def action_export_view(self) -> None:
        from screens.export_dialog import ExportDialog
        from screens.export_views import view_of

        view = view_of(self.active_pane, self.pane(), self.ctx)
        if view is None:
            self.notify("This pane has nothing to export yet.", markup=False)
            return
        self.app.push_screen(ExportDialog(self.ctx, view=view))

    async def on_runbook_pane_open_step(self, message: RunbookPane.OpenStep) -> None:
        """A runbook step asked for the pane or action that does it."""
        target = message.target
        if target.startswith("action:"):
            self.show_pane("users")
            self.notify(
                "Select the users, then press a and pick "
                f"{target.split(':', 1)[1].replace('_', ' ')}.",
                markup=False,
            )
        elif target == "export":
            self.action_export_bundle()
        elif target == "coverage":
            await self.action_show_coverage()
        elif target == "timeline":
            self.action_show_timeline()
        else:
            self.show_pane(target)

    @work(thread=True, group="handoff-coverage", exit_on_error=False)
    def cache_coverage(self) -> None:
        """Keep the capability check with the incident (blind spots, version, the report)."""
        cov = self.ctx.coverage
        if cov is None or not cov.ok:
            return
        from console.runbook import COVERAGE_CACHE_KEY, coverage_snapshot

        self.ctx.store.cache_put(self.ctx.incident_id, COVERAGE_CACHE_KEY, coverage_snapshot(cov))
