"""The load's shared state, and the two keyset id streams that meet in the middle.

For a token that may not filter on creation time (non-admins), or when a slice's page shows the
filters were ignored, two streams read ``GET /users`` by id: one ascending from the lowest id,
one descending from the highest, stopping where they meet (the ascending stream has seen every
id below the lowest id the descending one stored, so the first id at or above that boundary
proves the ranges touch). If the server ignores the sort, pages arrive out of order; the load
notices, drops the descending stream and lets the ascending one follow its links to the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from console.api.aio import AsyncGet, ReadCancelled, json_list
from console.errors import describe_error
from console.problem import Problem, ProblemError
from console.users_load.records import SkipTally, screen_users, user_id

__all__ = ["Direction", "FirstPage", "LoadState", "WriteFn", "guarded", "run_streams", "users_page"]

WriteFn = Callable[[list[dict[str, Any]]], Awaitable[None]]
Direction = Literal["asc", "desc"]


def users_page(response: httpx.Response, state: LoadState) -> list[dict[str, Any]]:
    """The storable user records of one page; odd entries are counted in ``state.skips``."""
    items, odd = json_list(response)
    return screen_users([*items, *odd], state.skips)


@dataclass
class LoadState:
    """Shared state of a load (slices and streams). Touched only from the event loop thread,
    between awaits; the writer thread reads the counters."""

    seen: set[int] = field(default_factory=set)
    asc_max: int | None = None  # highest id the ascending stream has passed
    desc_min: int | None = None  # lowest id the descending stream has passed
    met: bool = False
    finished: bool = False  # a stream followed its links to the end
    ordered: bool = True
    problem: Problem | None = None
    cancelled: bool = False
    pages: int = 0
    stored: int = 0  # users written to the store (seen minus a page whose write failed)
    total: int | None = None
    first_page_at: float | None = None
    partitions: int = 0  # time slices planned (0: the two streams from the start)
    slices_done: int = 0
    splits: int = 0
    fell_back: bool = False  # partitions abandoned: the server ignored the creation filters
    probed: bool = False  # the plan's first probe answered (its X-Total is in ``total``)
    skips: SkipTally = field(default_factory=SkipTally)  # odd records left out or trimmed

    def keep_new(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items whose id was not stored yet (and mark them seen)."""
        kept: list[dict[str, Any]] = []
        for item in items:
            uid = user_id(item)
            if uid is not None and uid not in self.seen:
                self.seen.add(uid)
                kept.append(item)
        return kept

    def should_stop(self, direction: Direction) -> bool:
        if self.problem is not None or self.cancelled or self.met or self.finished:
            return True
        return not self.ordered and direction == "desc"

    def take(
        self, direction: Direction, items: list[dict[str, Any]], last: int | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Return the items this stream should store, and its new position. Updates the meeting
        boundary synchronously (no await inside), so the other stream sees it at once."""
        ids = [user_id(item) for item in items]
        if self.ordered and not _in_order([i for i in ids if i is not None], last, direction):
            self.ordered = False
        kept: list[dict[str, Any]] = []
        position = last
        for item, uid in zip(items, ids, strict=True):
            if uid is None:
                continue
            if self.ordered:
                if direction == "asc" and self.desc_min is not None and uid >= self.desc_min:
                    self.met = True
                    break
                if direction == "desc" and self.asc_max is not None and uid <= self.asc_max:
                    self.met = True
                    break
            position = uid
            if uid not in self.seen:
                self.seen.add(uid)
                kept.append(item)
        if self.ordered and position is not None:
            if direction == "asc":
                self.asc_max = position if self.asc_max is None else max(self.asc_max, position)
            else:
                self.desc_min = position if self.desc_min is None else min(self.desc_min, position)
        return kept, position


def _in_order(ids: Sequence[int], last: int | None, direction: Direction) -> bool:
    previous = last
    for uid in ids:
        if previous is not None and (uid <= previous if direction == "asc" else uid >= previous):
            return False
        previous = uid
    return True


async def guarded(state: LoadState, work: Awaitable[None]) -> None:
    """Run one stream or worker; its failure becomes ``state.problem``, never an exception.

    Task cancellation (the bridge's) is let through: the whole load is being cancelled.
    """
    try:
        await work
    except ReadCancelled:
        if state.problem is None:
            state.cancelled = True
    except ProblemError as stop:
        if state.problem is None:
            state.problem = stop.problem
    except Exception as exc:  # the store failed, or a bug: report it, never hang the worker
        if state.problem is None:
            state.problem = describe_error(exc)


@dataclass(frozen=True)
class FirstPage:
    """The first ascending page, read already (beside the plan's probes) and written."""

    items: list[dict[str, Any]]
    response: httpx.Response


async def run_streams(
    http: AsyncGet,
    state: LoadState,
    write: WriteFn,
    *,
    per_page: int,
    asc_first: FirstPage | None = None,
) -> None:
    """The two keyset streams (id ascending and descending) that meet in the middle.

    ``asc_first``: the ascending stream's first page, already read; it starts from there."""

    async def stream(direction: Direction) -> None:
        url = "/users"
        params: dict[str, str | int] | None = {
            "pagination": "keyset",
            "order_by": "id",
            "sort": direction,
            "per_page": per_page,
        }
        last: int | None = None
        head = asc_first if direction == "asc" else None
        while not state.should_stop(direction):
            if head is not None:  # counted and screened when it was read
                response, items, head = head.response, head.items, None
            else:
                response = await http.get(url, params)
                items = users_page(response, state)
                state.pages += 1
            kept, last = state.take(direction, items, last)
            following = None
            try:
                if not state.met:
                    following = http.next_url(response)
            finally:  # the page itself is good even when its next link is not
                if kept:
                    await write(kept)
            if following is None:
                if not state.met:
                    state.finished = True
                return
            url, params = following, None

    await asyncio.gather(guarded(state, stream("asc")), guarded(state, stream("desc")))
