"""Per-user detail: ``GET /users/:id`` for the fields the list lacks (sign-in IPs and count).

The list response has no sign-in IPs or sign-in count; the single-user admin view does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from console.api.aio import AsyncGet, ReadCancelled, ReadFailed, WaitFn
from console.api.bridge import LoopCancelled, run_in_loop_thread
from console.config import ConnectionConfig, build_httpx
from console.errors import describe_error
from console.problem import Problem, ProblemError
from console.secret import Secret
from console.users_load.records import SkipTally, store_trimmed, user_id

if TYPE_CHECKING:
    from console.store import Store

__all__ = ["EnrichResult", "enrich_users", "enrich_users_blocking"]

CancelledFn = Callable[[], bool]


@dataclass(frozen=True, slots=True)
class EnrichResult:
    enriched: int
    missing: int  # 404: deleted since the list was read
    seconds: float
    cancelled: bool
    problem: Problem | None


@dataclass(slots=True)
class _Tally:
    total: int = 0
    done: int = 0
    enriched: int = 0
    missing: int = 0
    problem: Problem | None = None
    cancelled: bool = False

    def result(self, started: float, *, cancelled: bool = False) -> EnrichResult:
        return EnrichResult(
            enriched=self.enriched,
            missing=self.missing,
            seconds=time.monotonic() - started,
            cancelled=cancelled or self.cancelled,
            problem=self.problem,
        )


def _never() -> bool:
    return False


async def _enrich(
    client: httpx.AsyncClient,
    store: Store,
    incident_id: int,
    ids: list[int],
    tally: _Tally,
    *,
    concurrency: int,
    on_progress: Callable[[int, int], None] | None,
    cancelled: CancelledFn,
    on_wait: WaitFn | None,
) -> None:
    http = AsyncGet(client, explain=describe_error, cancelled=cancelled, on_wait=on_wait)
    semaphore = asyncio.Semaphore(max(1, concurrency))
    odd = SkipTally()
    tally.total = len(ids)

    def write_detail(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            store.upsert_user_detail(incident_id, row)

    def step() -> None:
        tally.done += 1
        if on_progress is not None:
            on_progress(tally.done, tally.total)

    async def one(uid: int) -> None:
        async with semaphore:
            if tally.problem is not None or tally.cancelled:
                return
            try:
                response = await http.get(f"/users/{int(uid)}")
            except ReadCancelled:
                tally.cancelled = True
                return
            except ProblemError as stop:
                if isinstance(stop, ReadFailed) and stop.status == 404:
                    tally.missing += 1
                elif tally.problem is None:
                    tally.problem = stop.problem
                step()
                return
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and user_id(body) == uid:
                store_trimmed(write_detail, [body], odd)  # a number beyond 64 bits is left out
                tally.enriched += 1
            step()

    await asyncio.gather(*(one(uid) for uid in ids))


async def enrich_users(
    client: httpx.AsyncClient,
    store: Store,
    incident_id: int,
    user_ids: Iterable[int],
    *,
    concurrency: int = 8,
    on_progress: Callable[[int, int], None] | None = None,
    cancelled: CancelledFn | None = None,
    on_wait: WaitFn | None = None,
) -> EnrichResult:
    """GET /users/:id for each id (bounded concurrency) and store the detail fields.

    ``on_progress(done, total)`` is called after each user. 404s are counted, not fatal;
    401/403, a too-long rate-limit wait and exhausted retries stop the run with a problem.
    """
    is_cancelled = cancelled or _never
    ids = list(dict.fromkeys(user_ids))
    tally = _Tally()
    started = time.monotonic()
    await _enrich(
        client,
        store,
        incident_id,
        ids,
        tally,
        concurrency=concurrency,
        on_progress=on_progress,
        cancelled=is_cancelled,
        on_wait=on_wait,
    )
    return tally.result(started, cancelled=is_cancelled() and tally.done < len(ids))


def enrich_users_blocking(
    config: ConnectionConfig,
    token: Secret,
    store: Store,
    incident_id: int,
    user_ids: Iterable[int],
    *,
    concurrency: int = 8,
    on_progress: Callable[[int, int], None] | None = None,
    cancelled: CancelledFn | None = None,
    on_wait: WaitFn | None = None,
) -> EnrichResult:
    """Run :func:`enrich_users` from the calling (worker) thread; ``cancelled()`` cancels it."""
    is_cancelled = cancelled or _never
    ids = list(dict.fromkeys(user_ids))
    tally = _Tally()
    started = time.monotonic()

    async def run() -> None:
        async with build_httpx(config, token, max_connections=max(1, concurrency)) as client:
            await _enrich(
                client,
                store,
                incident_id,
                ids,
                tally,
                concurrency=concurrency,
                on_progress=on_progress,
                cancelled=is_cancelled,
                on_wait=on_wait,
            )

    try:
        run_in_loop_thread(run, is_cancelled)
    except LoopCancelled:
        return tally.result(started, cancelled=True)
    except Exception as exc:
        if tally.problem is None:
            tally.problem = describe_error(exc)
        return tally.result(started)
    return tally.result(started, cancelled=is_cancelled() and tally.done < len(ids))
