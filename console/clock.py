"""The server's clock: "now" as GitLab sees it, learned from the ``Date`` header of its replies.

A jump host's clock can be minutes off (no NTP inside an isolated network, a paused VM). The
incident window's "until now", token expiry and "created in the window" all compare against
GitLab's timestamps, so they use the server's time: the local clock plus the skew measured on
the most recent replies. The coverage panel shows a skew of more than a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Final

from console.timeutil import from_epoch, parse_http_date

__all__ = ["SKEW_WORTH_SHOWING_S", "ServerClock"]

#: A skew larger than this is shown in the coverage panel.
SKEW_WORTH_SHOWING_S: Final = 60.0
#: Samples kept; the median resists one reply held up in a proxy.
_SAMPLES: Final = 9


class ServerClock:
    """Thread-safe skew estimate from ``Date`` headers (one-second resolution, as HTTP sends)."""

    def __init__(self, local: Callable[[], float] = time.time) -> None:
        self._local = local
        self._lock = threading.Lock()
        self._samples: list[float] = []

    def local_time(self) -> float:
        """This host's clock (epoch seconds): what ``sent_at``/``received_at`` are measured on."""
        return self._local()

    def observe(self, headers: Mapping[str, str], *, sent_at: float, received_at: float) -> None:
        """Record the skew a reply shows; ``sent_at``/``received_at`` are local epoch seconds.

        The server stamped ``Date`` somewhere between sending and receiving; the midpoint is the
        best local estimate of that moment. Replies without a usable ``Date`` are ignored.
        """
        server = parse_http_date(headers.get("Date") or headers.get("date"))
        if server is None:
            return
        skew = server.timestamp() - (sent_at + received_at) / 2
        with self._lock:
            self._samples.append(skew)
            del self._samples[:-_SAMPLES]

    @property
    def skew_seconds(self) -> float | None:
        """Server time minus local time (positive: the server is ahead); None before a reply."""
        with self._lock:
            if not self._samples:
                return None
            ordered = sorted(self._samples)
        return ordered[len(ordered) // 2]

    def now(self) -> datetime:
        """The current time on the server (the local clock until a reply has been seen)."""
        return from_epoch(self._local()) + timedelta(seconds=self.skew_seconds or 0.0)

    def skew_note(self) -> str | None:
        """A sentence for the coverage panel when the skew is worth knowing, else None."""
        skew = self.skew_seconds
        if skew is None or abs(skew) <= SKEW_WORTH_SHOWING_S:
            return None
        direction = "ahead of" if skew > 0 else "behind"
        amount = _duration(abs(skew))
        return (
            f"GitLab's clock is {amount} {direction} this host's; times, the incident window and "
            "token expiry use GitLab's clock."
        )


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
