"""The cyclic garbage collector, paused from the imports to the first rows.

The start-up allocates a lot and frees little: the imports, the first screen, the first pages.
About a hundred collections ran before the first rows and cost 13 ms of a 0.55 s start
(measured with ``gc.callbacks`` on ``--demo``), for almost nothing collected. The pause ends at
the first rows shown, or ``RESUME_AFTER`` seconds after the app started whatever happens (a
login prompt may wait for minutes), so it can never last.
"""

from __future__ import annotations

import gc
import threading
from typing import Final

__all__ = ["RESUME_AFTER", "pause", "paused", "resume"]

#: The latest the collector runs again, in seconds after the app started.
RESUME_AFTER: Final = 5.0

_lock = threading.Lock()
_paused = False


def pause() -> None:
    """Stop automatic collection until :func:`resume` (the command line calls it)."""
    global _paused
    with _lock:
        _paused = True
        gc.disable()


def resume() -> None:
    """Collect automatically again; a no-op unless :func:`pause` stopped it."""
    global _paused
    with _lock:
        if _paused:
            _paused = False
            gc.enable()


def paused() -> bool:
    return _paused
