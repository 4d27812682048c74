"""Every personal access token the caller can list (all users' for an admin), for the risk
signals. ``/personal_access_tokens`` is offset-only: pages are asked for by number against the
configured API, never by following a server-sent link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx

from console.api.aio import AsyncGet, ReadCancelled, WaitFn, json_list
from console.api.bridge import LoopCancelled, run_in_loop_thread
from console.config import ConnectionConfig, build_httpx
from console.errors import describe_error
from console.problem import Problem, ProblemError
from console.secret import Secret

__all__ = ["FetchError", "fetch_tokens", "fetch_tokens_blocking"]

PER_PAGE: Final = 100
#: An ``x-total-pages`` above this is not believed (GitLab omits it past 10,000 rows, i.e. 100
#: pages); the pages are then read in batches until a short one, like when it is missing.
MAX_TOTAL_PAGES: Final = 1000

CancelledFn = Callable[[], bool]


class FetchError(Exception):
    """Raised by the token fetch when it cannot finish; ``problem`` explains why."""

    def __init__(self, problem: Problem | None, *, cancelled: bool = False) -> None:
        super().__init__("token fetch cancelled" if cancelled else "token fetch failed")
        self.problem = problem
        self.cancelled = cancelled


def _never() -> bool:
    return False


async def fetch_tokens(
    client: httpx.AsyncClient,
    *,
    concurrency: int = 8,
    cancelled: CancelledFn | None = None,
    params: Mapping[str, str | int] | None = None,
    on_wait: WaitFn | None = None,
) -> list[dict[str, Any]]:
    """Every personal access token the caller can list (all users' for an admin).

    Page 1 tells us ``x-total-pages`` when the server knows it (≤ 10,000 rows); then the other
    pages are fetched concurrently by number. Without it, pages are requested in concurrent
    batches until a short or empty page ends the list. Entries that are not JSON objects are
    left out. Raises :class:`FetchError` on failure or cancellation.
    """
    http = AsyncGet(client, explain=describe_error, cancelled=cancelled or _never, on_wait=on_wait)
    base: dict[str, str | int] = {**(params or {}), "per_page": PER_PAGE}
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def page(number: int) -> list[dict[str, Any]]:
        async with semaphore:
            response = await http.get("/personal_access_tokens", {**base, "page": number})
            return json_list(response)[0]

    try:
        first = await http.get("/personal_access_tokens", {**base, "page": 1})
        tokens, _ = json_list(first)
        pages_header = first.headers.get("x-total-pages", "").strip()
        if pages_header.isdigit() and int(pages_header) <= MAX_TOTAL_PAGES:
            rest = await asyncio.gather(*(page(n) for n in range(2, int(pages_header) + 1)))
            for chunk in rest:
                tokens.extend(chunk)
        elif len(tokens) >= PER_PAGE:
            number = 2
            while True:
                batch = await asyncio.gather(
                    *(page(n) for n in range(number, number + concurrency))
                )
                ended = False
                for chunk in batch:
                    if ended:
                        break
                    tokens.extend(chunk)
                    ended = len(chunk) < PER_PAGE
                if ended:
                    break
                number += concurrency
    except ProblemError as stop:
        raise FetchError(stop.problem) from stop
    except ReadCancelled as exc:
        raise FetchError(None, cancelled=True) from exc
    unique: dict[object, dict[str, Any]] = {}
    for item in tokens:
        unique.setdefault(item.get("id"), item)
    return list(unique.values())


def fetch_tokens_blocking(
    config: ConnectionConfig,
    token: Secret,
    *,
    concurrency: int = 8,
    cancelled: CancelledFn | None = None,
    on_wait: WaitFn | None = None,
) -> list[dict[str, Any]]:
    """All personal access tokens (admin: the whole instance), for the risk signals.

    Runs from the calling (worker) thread; ``cancelled()`` cancels it within about 100 ms.
    Raises :class:`FetchError` (with ``.problem``) when the list cannot be read completely.
    """
    is_cancelled = cancelled or _never

    async def run() -> list[dict[str, Any]]:
        async with build_httpx(config, token, max_connections=max(1, concurrency)) as client:
            return await fetch_tokens(
                client, concurrency=concurrency, cancelled=is_cancelled, on_wait=on_wait
            )

    try:
        return run_in_loop_thread(run, is_cancelled)
    except LoopCancelled as exc:
        raise FetchError(None, cancelled=True) from exc
