"""Async work run from a thread worker, with the worker's cancel turned into task cancellation.

Textual thread workers signal cancellation with a flag (``worker.is_cancelled``); asyncio code
stops promptly only when its task is cancelled. The bridge runs the coroutine on a fresh event
loop next to a watcher that polls ``cancelled()`` every 100 ms and cancels the task, so a
``Retry-After`` wait or a slow request ends within about a tenth of a second, with no
cancel-polling sleeps in the readers themselves.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Final, Generic, TypeVar

__all__ = ["LoopCancelled", "LoopThread", "run_in_loop_thread"]

T = TypeVar("T")
CoroFactory = Callable[[], Coroutine[Any, Any, T]]

#: How often the watcher asks ``cancelled()``.
POLL_S: Final = 0.1


class LoopCancelled(Exception):
    """The work was cancelled through ``cancelled()`` before it produced a result."""


async def _supervise(factory: CoroFactory[T], cancelled: Callable[[], bool], poll_s: float) -> T:
    task: asyncio.Task[T] = asyncio.create_task(factory())

    async def watch() -> None:
        while not task.done():
            if cancelled():
                task.cancel()
                return
            await asyncio.sleep(poll_s)

    watcher = asyncio.create_task(watch())
    try:
        return await task
    except asyncio.CancelledError as exc:
        raise LoopCancelled from exc
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


def run_in_loop_thread(
    coro_factory: CoroFactory[T], cancelled: Callable[[], bool], *, poll_s: float = POLL_S
) -> T:
    """Run ``coro_factory()`` to completion on a new event loop in the calling (worker) thread.

    Returns its result or raises its exception; raises :class:`LoopCancelled` when
    ``cancelled()`` became true and the coroutine let the cancellation through. A coroutine
    may instead catch ``CancelledError`` and return a partial result (the users load does).
    """
    return asyncio.run(_supervise(coro_factory, cancelled, poll_s))


class LoopThread(Generic[T]):
    """The same, on a helper thread, for callers that keep working meanwhile (the writer).

    ``start()`` then ``join()``: ``join`` returns the result or raises what the work raised.
    """

    def __init__(
        self,
        coro_factory: CoroFactory[T],
        cancelled: Callable[[], bool],
        *,
        name: str = "console-loop",
        poll_s: float = POLL_S,
    ) -> None:
        self._factory = coro_factory
        self._cancelled = cancelled
        self._poll_s = poll_s
        self._result: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        try:
            self._result = run_in_loop_thread(self._factory, self._cancelled, poll_s=self._poll_s)
        except BaseException as exc:  # handed to join(), in the caller's thread
            self._error = exc

    def start(self) -> LoopThread[T]:
        self._thread.start()
        return self

    def join(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]
