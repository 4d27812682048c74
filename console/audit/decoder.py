"""Audit pages into rows, in a helper process once a load proves large.

Decoding a page's JSON, flattening its events and making the store's rows is pure Python. In the
loader's process it shares one interpreter lock with the HTTP streams and the store's writer:
a 100,000-event load was bound by it, using one core of two. A load that reads more than
``process_after`` pages hands the rest to one helper process, and keeps decoding here while the
helper starts. The helper is spawned (a fresh interpreter, never a fork of a process with
threads) and gets only page bodies, never the token. If it cannot start or dies, decoding goes
on here: the load never fails because of it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Final

from console.audit.page_rows import page_rows, ready
from console.store import EventRows

__all__ = ["PROCESS_AFTER", "PageDecoder"]

#: Pages decoded here before the helper process is started (a 5,000-event load never starts it).
PROCESS_AFTER: Final = 50


class PageDecoder:
    """``await rows(body)``: here, or in the helper process once it has started."""

    def __init__(self, *, process_after: int = PROCESS_AFTER) -> None:
        self._after = process_after
        self._pages = 0
        self._pool: ProcessPoolExecutor | None = None
        self._ready = False
        self._failed = False

    @property
    def in_process(self) -> bool:
        """True while pages are decoded by the helper process (for tests and progress)."""
        return self._ready and not self._failed

    async def rows(self, content: bytes) -> tuple[EventRows, int]:
        """The page's rows and how many entries were skipped; raises ``PageUnreadable``."""
        self._pages += 1
        if self._pool is None and not self._failed and self._pages > self._after:
            self._start()
        if self._ready and not self._failed and self._pool is not None:
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(self._pool, page_rows, content)
            except BrokenProcessPool:
                self._give_up()
        return page_rows(content)

    def close(self) -> None:
        """Stop the helper (queued pages are dropped: the load has ended or was cancelled)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _start(self) -> None:
        try:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            warm = self._pool.submit(ready)  # the helper imports the decoder before its first page
        except (OSError, RuntimeError):  # no processes left, or the interpreter is shutting down
            self._give_up()
            return
        warm.add_done_callback(self._warmed)

    def _warmed(self, future: Future[bool]) -> None:
        # Runs on the pool's management thread: only flags change here.
        if future.cancelled() or future.exception() is not None:
            self._failed = True
        else:
            self._ready = True

    def _give_up(self) -> None:
        self._failed = True
        self.close()
