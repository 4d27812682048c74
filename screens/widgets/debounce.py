"""One small debouncer for the panes (search typing, state saving, load refreshes).

A burst of calls within ``delay`` seconds runs the callback once, ``delay`` after the last call.
Textual timers belong to a widget, so the debouncer is bound to one.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.timer import Timer
from textual.widget import Widget

__all__ = ["Debouncer"]


class Debouncer:
    """Run ``callback`` once, ``delay`` seconds after the last :meth:`call`."""

    def __init__(self, owner: Widget, delay: float, callback: Callable[[], object]) -> None:
        self._owner = owner
        self._delay = delay
        self._callback = callback
        self._timer: Timer | None = None

    @property
    def pending(self) -> bool:
        return self._timer is not None

    def call(self, delay: float | None = None) -> None:
        """(Re)start the wait; ``delay`` overrides the default for this call."""
        self.cancel()
        self._timer = self._owner.set_timer(self._delay if delay is None else delay, self._fire)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def flush(self) -> None:
        """Run a pending callback now (nothing happens when none is pending)."""
        if self._timer is not None:
            self.cancel()
            self._callback()

    def _fire(self) -> None:
        self._timer = None
        self._callback()
