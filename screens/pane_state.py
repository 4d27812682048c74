"""Debounced saving of a pane's resume state (filters, sort, selected row).

Every change schedules one small write half a second later, in a thread worker, so a burst of
keys costs one write and a ``kill -9`` loses at most the last half second. Unmounting flushes a
pending write at once, so quitting right after a change keeps it.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, ClassVar

from textual.timer import Timer
from textual.widget import Widget

from console.context import AppContext

__all__ = ["MAX_TABLE_ROWS", "SAVE_DELAY", "SavesPaneState"]

SAVE_DELAY = 0.5  # seconds
# Textual's DataTable measures every row it is given on the UI thread (about 0.15 s per 1,000
# rows here); the audit and credentials panes show at most this many of the rows that match and
# say so, and the responder narrows with search and filters. 30 days of audit events on a large
# instance can be 100,000 rows.
MAX_TABLE_ROWS = 2000


class SavesPaneState(Widget):
    """Base for panes whose ``state()`` is stored under ``STATE_KEY`` in the incident's ui_state."""

    STATE_KEY: ClassVar[str]
    ctx: AppContext
    _save_timer: Timer | None = None

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _schedule_save(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self._save_now)

    def _save_now(self) -> None:
        self._save_timer = None
        self.run_worker(
            self._write_state(self.state()),
            thread=True, exclusive=True, group=f"{self.STATE_KEY}-state", exit_on_error=False,
        )

    def _write_state(self, value: dict[str, Any]) -> Any:
        """A callable for the worker (bound now, so the state is the one at save time)."""
        store, incident_id, key = self.ctx.store, self.ctx.incident_id, self.STATE_KEY
        return lambda: store.save_ui_state(incident_id, key, value)

    def on_unmount(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
            with suppress(Exception):  # never block shutdown on a state write
                self.ctx.store.save_ui_state(self.ctx.incident_id, self.STATE_KEY, self.state())
