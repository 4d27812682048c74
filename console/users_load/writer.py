"""The fast blocking load: requests on a loop thread, batched store writes in the caller's.

Network and disk overlap: the event loop (on a helper thread, through the bridge) reads pages
and queues them; the calling worker thread upserts them, coalescing pages that queued up while
a commit ran into one transaction. At most ``WRITE_AHEAD_PAGES`` pages wait in memory.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from console.api.aio import AsyncGet, WaitFn
from console.api.bridge import LoopCancelled, LoopThread
from console.config import ConnectionConfig, build_httpx
from console.errors import describe_error
from console.secret import Secret
from console.timeutil import utc_now
from console.users_load.core import (
    MAX_PER_PAGE,
    CancelledFn,
    LoadResult,
    ProgressFn,
    load_core,
    make_reader,
    progress_of,
    result_of,
)
from console.users_load.plan import PARTITION_CONCURRENCY, PARTITIONS
from console.users_load.records import store_trimmed
from console.users_load.streams import LoadState

if TYPE_CHECKING:
    from console.store import Store

__all__ = ["WRITE_AHEAD_PAGES", "WRITE_BATCH_USERS", "load_users_blocking"]

#: Pages fetched but not yet written, at most (bounds memory when the disk is slow).
WRITE_AHEAD_PAGES: Final = 32
#: Pages waiting in the queue are written together, up to this many users per transaction.
WRITE_BATCH_USERS: Final = 1000


def _never() -> bool:
    return False


def load_users_blocking(
    config: ConnectionConfig,
    token: Secret,
    store: Store,
    incident_id: int,
    *,
    on_progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
    on_wait: WaitFn | None = None,
    per_page: int = MAX_PER_PAGE,
    partitions: int = PARTITIONS,
    concurrency: int = PARTITION_CONCURRENCY,
) -> LoadResult:
    """Load every user; blocks the calling (worker) thread until done, cancelled or failed.

    The HTTP requests (see :func:`~console.users_load.load_users` for ``partitions`` and
    ``concurrency``) run on an event loop in a helper thread, cancelled within about 100 ms of
    ``cancelled()`` turning true (waits included); ``on_wait(seconds, reason)`` is called from
    that thread before each wait. Pages come back through a queue and are upserted *in the
    calling thread*, followed by ``on_progress``, also in the calling thread.
    """
    is_cancelled = cancelled or _never
    state = LoadState()
    started = time.monotonic()
    pages: queue.Queue[list[dict[str, Any]] | None] = queue.Queue()
    slots = threading.Semaphore(WRITE_AHEAD_PAGES)
    box: dict[str, AsyncGet] = {}

    async def write(kept: list[dict[str, Any]]) -> None:
        while not slots.acquire(blocking=False):
            if state.problem is not None or is_cancelled():
                return
            await asyncio.sleep(0.002)
        pages.put(kept)

    async def run() -> None:
        try:
            connections = max(2, concurrency) + 2  # the slices, the estimate and the probes
            async with build_httpx(config, token, max_connections=connections) as client:
                http = box["http"] = make_reader(client, state, is_cancelled, on_wait=on_wait)
                await load_core(
                    http,
                    state,
                    write,
                    cancelled=is_cancelled,
                    per_page=per_page,
                    partitions=partitions,
                    concurrency=concurrency,
                )
        finally:
            pages.put(None)

    network = LoopThread(run, is_cancelled, name="user-loader-http").start()
    ended = False
    while not ended:
        batch = pages.get()
        if batch is None:
            break
        taken = 1
        # Pages that queued up meanwhile go into one commit, except behind the first page:
        # it is written alone, so the list shows its first rows after one page's upsert
        # rather than after a thousand users'.
        while state.stored and len(batch) < WRITE_BATCH_USERS:
            try:
                more = pages.get_nowait()
            except queue.Empty:
                break
            if more is None:
                ended = True
                break
            batch = batch + more
            taken += 1
        try:
            if state.problem is None:
                store_trimmed(
                    lambda rows: store.upsert_users(incident_id, rows, utc_now()),
                    batch,
                    state.skips,
                )
                state.stored += len(batch)
                if state.first_page_at is None:
                    state.first_page_at = time.monotonic()
                if on_progress is not None:
                    on_progress(progress_of(state, False))
        except Exception as exc:  # the store failed: stop the streams, keep what is stored
            if state.problem is None:
                state.problem = describe_error(exc)
        finally:
            for _ in range(taken):
                slots.release()
    try:
        network.join()
    except LoopCancelled:
        if state.problem is None:
            state.cancelled = True
    except Exception as exc:  # building or closing the client failed
        if state.problem is None:
            state.problem = describe_error(exc)
    if on_progress is not None:
        on_progress(progress_of(state, True))
    return result_of(state, box.get("http"), started)
