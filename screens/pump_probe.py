"""Waiting for Textual's message pumps to drain: how the key gate knows a key has settled.

``probe`` counts only the time the event loop was free: a screen mounting or a big render
blocks the loop without the pumps being stuck, and giving up then would send the next key
before the focus moved. ``quiet`` peeks at the pumps' private queues.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.message_pump import MessagePump

__all__ = ["PROBE_CAP", "probe", "quiet"]

PROBE_CAP = 10.0
"""Seconds of wall time one probe may take however slowly the loop runs (see ``probe``)."""
_PROBE_STEP = 0.05


async def probe(pumps: Iterable[MessagePump], timeout: float) -> bool:
    """Wait until each pump has processed what was queued on it; False on timeout.

    ``timeout`` counts only time the event loop was free to run them: while a long
    synchronous step blocks the loop (a screen mounting, a big render) or the machine starves
    the process, the pumps are slow, not stuck awaiting something, and giving up would send the
    next key before the focus moved (``/alice`` typed at start-up: ``a`` opened the actions
    menu). Each step of the wait counts at most :data:`_PROBE_STEP`; ``PROBE_CAP`` bounds it.
    """
    loop = asyncio.get_running_loop()
    waiting: set[asyncio.Future[None]] = set()
    for pump in pumps:
        done: asyncio.Future[None] = loop.create_future()

        def resolve(future: asyncio.Future[None] = done) -> None:
            if not future.done():
                future.set_result(None)

        if pump.call_later(resolve):
            waiting.add(done)
    budget = max(0.0, timeout)
    cap = loop.time() + PROBE_CAP
    while waiting and budget > 0 and loop.time() < cap:
        step = min(_PROBE_STEP, budget)
        began = loop.time()
        _done, waiting = await asyncio.wait(waiting, timeout=step)
        budget -= min(loop.time() - began, step)
    for future in waiting:
        with contextlib.suppress(Exception):
            future.cancel()
    return not waiting


def quiet(pumps: Iterable[MessagePump]) -> bool:
    """No message waiting on any of ``pumps`` (Textual keeps each pump's queue private)."""
    for pump in pumps:
        queue = getattr(pump, "_message_queue", None)  # private: absent means "nothing known"
        if queue is not None and not queue.empty():
            return False
    return True
