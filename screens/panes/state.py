"""Debounced saving of a pane's resume state (filters, sort, selected row).

Every change schedules one small write half a second later, in a thread worker, so a burst of
keys costs one write and a ``kill -9`` loses at most the last half second. Unmounting flushes a
pending write at once, so quitting right after a change keeps it.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, ClassVar

from textual.widget import Widget

from console.context import AppContext
from screens.widgets.debounce import Debouncer

__all__ = ["SAVE_DELAY", "SavesPaneState"]

SAVE_DELAY = 0.5  # seconds


class SavesPaneState(Widget):
    """Base for panes whose ``state()`` is stored under ``STATE_KEY`` in the incident's ui_state."""

    STATE_KEY: ClassVar[str]
    ctx: AppContext
    _saver: Debouncer | None = None

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _schedule_save(self) -> None:
        if self._saver is None:
            self._saver = Debouncer(self, SAVE_DELAY, self._save_now)
        self._saver.call()

    def _save_now(self) -> None:
        store, incident_id, key = self.ctx.store, self.ctx.incident_id, self.STATE_KEY
        value = self.state()  # taken now: the state at save time
        self.run_worker(
            lambda: store.save_ui_state(incident_id, key, value),
            thread=True,
            exclusive=True,
            group=f"{self.STATE_KEY}-state",
            exit_on_error=False,
        )

    def on_unmount(self) -> None:
        if self._saver is not None and self._saver.pending:
            self._saver.cancel()
            with suppress(Exception):  # never block shutdown on a state write
                self.ctx.store.save_ui_state(self.ctx.incident_id, self.STATE_KEY, self.state())
