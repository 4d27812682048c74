"""Load every user: the plan, then slices or streams, with progress and one result.

``GET /users`` with offset pagination stops at 50,000 records on real GitLab (HTTP 405), and the
totals headers vanish above 10,000 rows and in keyset mode. So the load pages with keyset
(``pagination=keyset&order_by=id``) and follows only the server's ``Link: rel="next"`` URL
(never a forged cursor), pinned to the configured instance by :mod:`console.api`. Admins' loads
are cut into creation-time slices (:mod:`.plan`, :mod:`.partitions`); everyone else's, or when
the server ignores the filters, are read by two id streams (:mod:`.streams`). Users seen twice
are dropped by id; odd records are skipped and counted (:mod:`.records`), never fatal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import httpx

from console.api.aio import AsyncGet, ReadCancelled, WaitFn
from console.api.retry import DEFAULT_POLICY, RetryPolicy
from console.errors import describe_error
from console.problem import Problem
from console.timeutil import utc_now
from console.users_load.partitions import run_partitions
from console.users_load.plan import PARTITION_CONCURRENCY, PARTITIONS, Plan, make_plan
from console.users_load.records import store_trimmed
from console.users_load.streams import (
    FirstPage,
    LoadState,
    WriteFn,
    guarded,
    run_streams,
    users_page,
)

if TYPE_CHECKING:
    from console.store import Store

__all__ = [
    "MAX_PER_PAGE",
    "CancelledFn",
    "LoadProgress",
    "LoadResult",
    "ProgressFn",
    "load_core",
    "load_users",
    "make_reader",
    "progress_of",
    "result_of",
]

MAX_PER_PAGE: Final = 100

ProgressFn = Callable[["LoadProgress"], None]
CancelledFn = Callable[[], bool]


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """One progress report: users stored so far, an estimate of the total (or None), pages read."""

    loaded: int
    total: int | None
    pages: int
    done: bool


@dataclass(frozen=True, slots=True)
class LoadResult:
    loaded: int
    pages: int
    seconds: float
    cancelled: bool
    problem: Problem | None
    #: seconds from start until the first page was in the store (None if none arrived)
    first_page_seconds: float | None = None
    #: True when the server ignored the sort order and one stream had to read everything
    single_stream: bool = False
    #: 5xx / transport retries and seconds spent waiting on 429s
    retries: int = 0
    rate_limited_seconds: float = 0.0
    #: time slices read concurrently (0: the two id streams did the work); slices split
    #: further because their first page showed them much fuller than their share
    partitions: int = 0
    splits: int = 0
    #: True when the slices were abandoned (filters ignored) and the two streams finished it
    fell_back: bool = False
    #: records the server sent that could not be stored (no id, an id beyond 64 bits, not an
    #: object), and ``(reason, count)`` for those and for records stored without an odd field
    skipped: int = 0
    odd_records: tuple[tuple[str, int], ...] = ()


def _never() -> bool:
    return False


def make_reader(
    client: httpx.AsyncClient,
    state: LoadState,
    cancelled: CancelledFn,
    *,
    on_wait: WaitFn | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> AsyncGet:
    """The load's GET: stops every stream once one of them reports a problem."""
    return AsyncGet(
        client,
        explain=describe_error,
        policy=policy,
        cancelled=lambda: cancelled() or state.problem is not None,
        on_wait=on_wait,
    )


async def _estimate_total(http: AsyncGet, *, ask_users: bool = True) -> int | None:
    """A cheap estimate for the progress bar; None when the server will not say.

    ``ask_users=False`` skips ``GET /users?per_page=1`` (the plan's probe already asked).
    """
    try:
        if ask_users:
            response = await http.client.get("/users", params={"per_page": 1})
            if response.status_code == 200:
                total = response.headers.get("x-total")
                if total and total.strip().isdigit():
                    return int(total)
        response = await http.client.get("/application/statistics")
        if response.status_code == 200:
            body = response.json()
            users = body.get("users") if isinstance(body, dict) else None
            if isinstance(users, str | int):
                digits = str(users).replace(",", "").strip()
                if digits.isdigit():
                    return int(digits)
    except (httpx.HTTPError, ValueError):
        return None
    return None


async def load_core(
    http: AsyncGet,
    state: LoadState,
    write: WriteFn,
    *,
    cancelled: CancelledFn,
    per_page: int,
    partitions: int = PARTITIONS,
    concurrency: int = PARTITION_CONCURRENCY,
) -> None:
    """Load every user; every new page of users goes to ``write``.

    Partitioned by creation time when the token may filter on it (admins), else the two
    streams; also the two streams when a slice's page shows the filters were ignored.
    Never raises for server or write failures: they end up in ``state.problem``. Task
    cancellation (the bridge's) propagates.
    """
    per_page = max(1, min(MAX_PER_PAGE, per_page))

    # The lowest ids, asked for beside the plan's probes: the first rows after one round trip,
    # not after the probes and then the first slice's page. The slice that reads these users
    # again drops them by id (one request more per load); the ascending id stream, when there
    # is no plan, starts from this page instead of asking for it again.
    head: list[FirstPage] = []

    async def first_page() -> None:
        params: dict[str, str | int] = {
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
            "per_page": per_page,
        }
        response = await http.get("/users", params)
        items = users_page(response, state)
        state.pages += 1
        head.append(FirstPage(items, response))
        kept = state.keep_new(items)
        if kept:
            await write(kept)

    first = asyncio.create_task(
        guarded(state, first_page()) if partitions >= 2 else asyncio.sleep(0)
    )

    async def estimate() -> None:
        total = await _estimate_total(http, ask_users=not state.probed)
        if state.total is None:
            state.total = total

    plan: Plan | None = None
    try:
        plan = await make_plan(http, state, partitions=partitions, per_page=per_page)
    except ReadCancelled:
        state.cancelled = True
    estimator = asyncio.create_task(estimate() if state.total is None else asyncio.sleep(0))
    try:
        if plan is not None:
            state.partitions = len(plan.slices)
            if await run_partitions(
                http, state, write, plan, per_page=per_page, concurrency=concurrency
            ):
                state.finished = True
            elif state.problem is None and not state.cancelled:
                state.fell_back = True  # the filters were ignored after all: read it all by id
        if not state.finished and state.problem is None and not state.cancelled:
            await first
            if state.problem is None and not state.cancelled:
                await run_streams(
                    http, state, write, per_page=per_page, asc_first=head[0] if head else None
                )
    finally:
        if not estimator.done():
            estimator.cancel()
        await asyncio.gather(estimator, first, return_exceptions=True)
    if cancelled() and not (state.met or state.finished) and state.problem is None:
        state.cancelled = True


def progress_of(state: LoadState, done: bool) -> LoadProgress:
    loaded = state.stored
    total = state.total
    if total is not None and loaded > total:
        total = loaded
    if done and state.problem is None and not state.cancelled:
        total = loaded
    return LoadProgress(loaded=loaded, total=total, pages=state.pages, done=done)


def result_of(state: LoadState, http: AsyncGet | None, started: float) -> LoadResult:
    first = None if state.first_page_at is None else state.first_page_at - started
    return LoadResult(
        loaded=state.stored,
        pages=state.pages,
        seconds=time.monotonic() - started,
        cancelled=state.cancelled,
        problem=state.problem,
        first_page_seconds=first,
        single_stream=not state.ordered,
        retries=http.retries if http else 0,
        rate_limited_seconds=http.rate_limited_seconds if http else 0.0,
        partitions=0 if state.fell_back else state.partitions,
        splits=state.splits,
        fell_back=state.fell_back,
        skipped=state.skips.skipped,
        odd_records=state.skips.reasons(),
    )


async def load_users(
    client: httpx.AsyncClient,
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
    """Load every user the token can see into ``store`` for ``incident_id``.

    An admin's load is split into up to ``partitions`` creation-time slices, ``concurrency``
    of them read at once (``partitions=1``: the two id streams only). Pages are upserted as
    they arrive (one transaction per page, in the event loop's thread), then ``on_progress``
    is called. ``cancelled()`` is checked before each request; ``on_wait(seconds, reason)``
    sees every retry and rate-limit wait before it starts.
    Failures never raise: they come back as ``LoadResult.problem`` with whatever was loaded.
    :func:`~console.users_load.load_users_blocking` is faster: it overlaps the writes with the
    network, and turns cancellation into task cancellation.
    """
    state = LoadState()
    started = time.monotonic()
    is_cancelled = cancelled or _never
    http = make_reader(client, state, is_cancelled, on_wait=on_wait)

    async def write(kept: list[dict[str, Any]]) -> None:
        store_trimmed(
            lambda rows: store.upsert_users(incident_id, rows, utc_now()), kept, state.skips
        )
        state.stored += len(kept)
        if state.first_page_at is None:
            state.first_page_at = time.monotonic()
        if on_progress is not None:
            on_progress(progress_of(state, False))

    await load_core(
        http,
        state,
        write,
        cancelled=is_cancelled,
        per_page=per_page,
        partitions=partitions,
        concurrency=concurrency,
    )
    if on_progress is not None:
        on_progress(progress_of(state, True))
    return result_of(state, http, started)
