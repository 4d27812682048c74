"""The partitioned load: creation-time slices read concurrently from a work queue.

Up to ``concurrency`` slices are read at once; an idle worker gets the crowded slice split
(users are rarely spread evenly in time). A page holding a user outside its slice proves the
server ignored the filters: the slices stop and the two id streams finish the load.
"""

from __future__ import annotations

import asyncio
from collections import deque

from console.api.aio import AsyncGet
from console.timeutil import parse_ts, to_epoch
from console.users_load.plan import MAX_SPLIT, Plan, Reading, Slice, Unfiltered
from console.users_load.streams import LoadState, WriteFn, guarded, users_page

__all__ = ["run_partitions"]


async def run_partitions(
    http: AsyncGet,
    state: LoadState,
    write: WriteFn,
    plan: Plan,
    *,
    per_page: int,
    concurrency: int,
) -> bool:
    """Read every slice, ``concurrency`` at once, from a work queue. True when all finished;
    False when stopped (problem, cancel) or when a page proves the filters are not applied.

    When the queue is empty and a worker is idle, the slice predicted to take longest (from
    how much creation time its pages cover) is asked to split: after its current page it hands
    its range back as smaller slices. Users are rarely spread evenly in time.
    """
    pending: deque[Slice] = deque(plan.slices)
    reading: list[Reading] = []
    unfiltered = False
    wake = asyncio.Event()
    workers = max(1, concurrency)

    def stopped() -> bool:
        return unfiltered or state.problem is not None or state.cancelled

    def ask_for_split() -> None:
        candidates = [r for r in reading if r.worth_splitting()]
        if candidates:
            max(candidates, key=lambda r: r.remaining or 0.0).split_wanted = True

    async def read(work: Reading) -> None:
        nonlocal unfiltered
        piece = work.piece
        url = "/users"
        params: dict[str, str | int] | None = {
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
            "per_page": per_page,
            **piece.params(),
        }
        while not stopped():
            response = await http.get(url, params)
            items = users_page(response, state)
            state.pages += 1
            stamps: list[float] = []
            for item in items:
                when = parse_ts(item.get("created_at"))
                created = to_epoch(when) if when is not None else None
                if created is None or not piece.admits(created):
                    raise Unfiltered  # also a missing created_at: the id streams read it all
                stamps.append(created)
            kept = state.keep_new(items)
            following = None
            try:
                following = http.next_url(response)
            finally:
                if kept:
                    await write(kept)
            if following is None:
                return
            work.advance(stamps)
            if work.split_wanted:
                idle = workers - len(reading) + 1
                children = work.children(max(2, min(MAX_SPLIT, idle)))
                state.splits += 1
                pending.extendleft(reversed(children))
                return
            wake.set()  # idle workers may now find this slice worth splitting
            url, params = following, None

    async def worker() -> None:
        nonlocal unfiltered
        while not stopped():
            if not pending:
                if not reading:
                    return
                ask_for_split()
                wake.clear()
                await wake.wait()
                continue
            work = Reading(pending.popleft())
            reading.append(work)
            try:
                await read(work)
                if not work.split_wanted:
                    state.slices_done += 1
            except Unfiltered:
                unfiltered = True
            finally:
                reading.remove(work)
                wake.set()

    await asyncio.gather(*(guarded(state, worker()) for _ in range(workers)))
    return not stopped() and not pending
