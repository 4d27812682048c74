"""Waits the read policy takes, counted down on the pane's bottom border.

When GitLab asks the console to slow down (429 with ``Retry-After``) or a read is retried after
a 5xx or a dropped connection, the policy reports the wait *before* it starts (``on_wait``). A
pane shows it as "rate limited: asking GitLab again in 12 s (x stops)" and counts down each
second, so a quiet pane is never a mystery; ``x`` cancels the load and with it the wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual.content import Content
from textual.message import Message
from textual.timer import Timer

if TYPE_CHECKING:
    from textual.widget import Widget

__all__ = ["WaitAnnounced", "WaitCountdown"]

_WORDS = {"rate_limited": "rate limited", "retry": "GitLab did not answer"}


@dataclass
class WaitAnnounced(Message):
    """The read policy is about to wait this long before asking GitLab again."""

    seconds: float
    reason: str


class WaitCountdown:
    """Mixed into :class:`~screens.panes.base.RecordPane` (a widget: it posts, times, draws).

    ``announce_wait`` is safe to call from a worker thread; it is what the panes hand to the
    loaders as their ``on_wait``.
    """

    _wait_until: float = 0.0
    _wait_reason: str = ""
    _wait_timer: Timer | None = None

    def _widget(self) -> Widget:
        return cast("Widget", self)

    def restore_subtitle(self) -> None:
        """What the border says when no wait is shown (the pane's stale label, if any)."""
        self._widget().border_subtitle = ""

    def announce_wait(self, seconds: float, reason: str) -> None:
        self._widget().post_message(WaitAnnounced(float(seconds), str(reason)))

    def on_wait_announced(self, message: WaitAnnounced) -> None:
        message.stop()
        self._wait_until = time.monotonic() + max(0.0, message.seconds)
        self._wait_reason = _WORDS.get(message.reason, message.reason.replace("_", " "))
        if self._wait_timer is None:
            self._wait_timer = self._widget().set_interval(0.5, self._tick_wait)
        self._tick_wait()

    def _tick_wait(self) -> None:
        left = self._wait_until - time.monotonic()
        if left <= 0:
            if self._wait_timer is not None:
                self._wait_timer.stop()
                self._wait_timer = None
            self.restore_subtitle()
            return
        self._widget().border_subtitle = Content(
            f"{self._wait_reason}: asking GitLab again in {left:.0f} s (x stops)"
        )
