"""Audit pages into rows, in a helper process once a load proves large.

Decoding a page's JSON, flattening its events and making the store's rows is pure Python. In the
loader's process it shares one interpreter lock with the HTTP streams and the store's writer:
a 100,000-event load was bound by it, using one core of two. A load that reads more than
``process_after`` pages starts one helper (:mod:`console.audit.decode_child`) and keeps decoding
here until the helper says it is ready.

The helper is our own child process on two pipes, not a ``multiprocessing`` pool: a pool's
resource tracker hands the child the terminal's stderr, which a Textual app has replaced (the
spawn failed inside the console). The helper starts in a session of its own with stderr
discarded and no variable naming a token in its environment; it gets page bodies and returns
rows as JSON (never pickle). If it cannot start or dies, decoding goes on here: the load never
fails because of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections import deque
from typing import Final

import orjson

from console.audit.page_rows import PageUnreadable, page_rows
from console.store import EventRows

__all__ = ["PROCESS_AFTER", "PageDecoder"]

log = logging.getLogger(__name__)

#: Pages decoded here before the helper process is started (a 5,000-event load never starts it).
PROCESS_AFTER: Final = 50
_HEADER: Final = 4
_READY: Final = b"ready"


class _HelperGone(Exception):
    """The helper stopped answering: decode the page here."""


class PageDecoder:
    """``await rows(body)``: here, or in the helper process once it is ready."""

    def __init__(self, *, process_after: int = PROCESS_AFTER) -> None:
        self._after = process_after
        self._pages = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: deque[asyncio.Future[tuple[EventRows, int]]] = deque()
        self._ready = False
        self._failed = False

    @property
    def helped(self) -> bool:
        """True while pages go to the helper process."""
        return self._ready and not self._failed

    @property
    def helper_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def rows(self, content: bytes) -> tuple[EventRows, int]:
        """The page's rows and how many entries were skipped; raises ``PageUnreadable``."""
        self._pages += 1
        if self._starting is None and not self._failed and self._pages > self._after:
            self._starting = asyncio.create_task(self._start())
        if self.helped:
            try:
                return await self._ask(content)
            except _HelperGone:
                self._failed = True
        return page_rows(content)

    async def aclose(self) -> None:
        """Stop the helper: its stdin closes, it exits; killed if it has not within a second."""
        self._failed = True
        for task in (self._starting, self._reader):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 1.0)
        except (TimeoutError, ProcessLookupError):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        self._fail_waiting()

    async def _ask(self, content: bytes) -> tuple[EventRows, int]:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise _HelperGone
        future: asyncio.Future[tuple[EventRows, int]] = asyncio.get_running_loop().create_future()
        # Appended and written with no await between: answers come back in this order.
        self._waiting.append(future)
        try:
            proc.stdin.write(len(content).to_bytes(_HEADER, "big") + content)
            await proc.stdin.drain()
        except (OSError, RuntimeError) as exc:  # a closed pipe: the helper has gone
            raise _HelperGone from exc
        return await future

    async def _start(self) -> None:
        env = {k: v for k, v in os.environ.items() if "TOKEN" not in k.upper()}
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "console.audit.decode_child",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL, start_new_session=True, env=env,
            )  # fmt: skip
        except Exception:
            self._failed = True
            return
        self._proc = proc
        try:
            assert proc.stdout is not None
            if await _message(proc.stdout) != _READY:
                raise _HelperGone
        except Exception:
            self._failed = True
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            return
        self._reader = asyncio.create_task(self._read_answers(proc.stdout))
        self._ready = True
        log.info("audit pages decoded by helper process %d", proc.pid)

    async def _read_answers(self, stdout: asyncio.StreamReader) -> None:
        try:
            while True:
                answer = orjson.loads(await _message(stdout))
                if not self._waiting:
                    break  # an answer nobody asked for: stop trusting the helper
                future = self._waiting.popleft()
                if future.done():
                    continue
                if answer[0] == "ok":
                    rows = EventRows([tuple(r) for r in answer[1]], [tuple(c) for c in answer[2]])
                    future.set_result((rows, int(answer[3])))
                else:
                    future.set_exception(PageUnreadable(str(answer[1])))
        except (OSError, ValueError, IndexError, TypeError, asyncio.IncompleteReadError) as exc:
            if not self._failed:  # not stopped by aclose: it died or answered nonsense
                log.info("audit decoding helper stopped (%s)", type(exc).__name__)
        self._failed = True
        self._fail_waiting()

    def _fail_waiting(self) -> None:
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(_HelperGone())


async def _message(stream: asyncio.StreamReader) -> bytes:
    size = int.from_bytes(await stream.readexactly(_HEADER), "big")
    return await stream.readexactly(size)
