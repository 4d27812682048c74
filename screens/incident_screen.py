"""The main screen's incident-level commands: coverage and editing the incident.

The base class of :class:`screens.main.MainScreen` (a ``Screen`` itself, so Textual collects its
``@on`` and ``@work`` handlers): ``v`` shows the capability check with the incident's blind
spots, and ``i`` edits the incident and tells every pane. Their screens and the blind-spot
rules load when first asked for, not in front of the first rows.
"""

from __future__ import annotations

from functools import partial

from textual import on, work
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import WorkerFailed

from console.context import AppContext
from screens.header import ConsoleHeader
from screens.messages import IncidentUpdated
from screens.panes.base import RecordPane

__all__ = ["IncidentScreen"]


class IncidentScreen(Screen[None]):
    """Incident and coverage commands; the main screen sets ``ctx`` and the pane registry."""

    ctx: AppContext
    _panes: dict[str, Widget]

    # -- incident and coverage -----------------------------------------------------------
    async def action_show_coverage(self) -> None:
        """v: the capability check and the incident's blind spots (read from the store in a
        worker: the cached coverage, the audit and inventory loads)."""
        from console.runbook import blind_spots, coverage_snapshot
        from screens.coverage import CoverageScreen

        ctx = self.ctx
        snapshot = coverage_snapshot(ctx.coverage) if ctx.coverage is not None else None
        worker = self.run_worker(
            partial(blind_spots, ctx.store, ctx.incident, snapshot),
            thread=True,
            group="coverage",
            exit_on_error=False,
        )
        try:
            spots = await worker.wait()
        except WorkerFailed:
            spots = []  # the failure is reported by _worker_failed; the check still shows
        self.app.push_screen(CoverageScreen(ctx.coverage, blind_spots=spots, url=ctx.instance_url))

    def action_edit_incident(self) -> None:
        from screens.incidents import IncidentEditScreen

        def saved(fields: dict[str, str] | None) -> None:
            if fields:
                self._save_incident(fields)

        self.app.push_screen(IncidentEditScreen(self.ctx.incident), saved)

    @work(thread=True, group="incident", exit_on_error=False)
    def _save_incident(self, fields: dict[str, str]) -> None:
        store, incident_id = self.ctx.store, self.ctx.incident_id
        store.update_incident(incident_id, **fields)
        updated = store.get_incident(incident_id)
        if updated is not None:
            self.post_message(IncidentUpdated(updated))

    @on(IncidentUpdated)
    def _incident_updated(self, message: IncidentUpdated) -> None:
        self.ctx.incident = message.incident
        self.query_one(ConsoleHeader).update(incident_title=str(message.incident.title))
        for pane in self._panes.values():
            if isinstance(pane, RecordPane):
                pane.incident_changed(message.incident)
        self.notify("Incident details saved.", markup=False)
