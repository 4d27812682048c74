"""Audit events into the store: only the missing windows, read by concurrent keyset streams.

The incident window is compared with the windows already stored for the scope; only the gaps
are fetched, so a resume or a widened window costs nothing twice and a refresh reads only what
is newer. The gaps are cut into ≤30-day slices (GitLab's limit per query) and then into at least
``concurrency × 2`` pieces of equal duration; ``concurrency`` keyset streams take pieces from a
queue. Every read goes through the one policy (:class:`~console.api.aio.AsyncGet`): retries,
bounded 429 waits (each stream honours ``Retry-After``, so the streams together stay within the
audit API's rate limit), pinned next links. A piece's window is recorded only after all its
events are written, so a crash or cancel leaves it missing, never half-counted.

Network and disk overlap as in the users load: the event loop runs on a helper thread and the
calling (worker) thread writes batches to the store.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from console.api.aio import AsyncGet, ReadCancelled, ReadFailed, WaitFn, bad_response
from console.api.bridge import LoopCancelled, LoopThread
from console.audit.decoder import PROCESS_AFTER, PageDecoder
from console.audit.fetch import Scope, free_tier_problem
from console.audit.page_rows import PageUnreadable
from console.audit.window import MAX_QUERY_DAYS
from console.config import ConnectionConfig, build_httpx
from console.errors import describe_error
from console.problem import Problem, ProblemError
from console.secret import Secret
from console.store import EventRows
from console.timeutil import format_iso, parse_ts

if TYPE_CHECKING:
    from console.store import Store

__all__ = [
    "CONCURRENCY",
    "EventsLoadProgress",
    "EventsLoadResult",
    "load_events_blocking",
    "plan_pieces",
    "scope_key",
]

#: Keyset streams read at once (the audit API allows 200 requests a minute per user by
#: default; 429s slow every stream down as GitLab asks). 12 measured faster than 6, 8 and 16
#: (20,000 events at 20 ms per request: 2.2–2.6 s against 3.2–3.5 s with 6).
CONCURRENCY: Final = 12
#: The newest part of a window is fetched but not recorded as complete: GitLab writes some
#: events a little after their ``created_at``, so the next refresh reads this margin again.
SETTLE: Final = timedelta(minutes=2)
_PER_PAGE: Final = 100
_WRITE_AHEAD: Final = 64
#: Queued pages are written together, up to this many events per transaction.
_WRITE_BATCH: Final = 20_000


@dataclass(frozen=True, slots=True)
class EventsLoadProgress:
    """After every page: new events stored, pages read, pieces finished, time left (estimate)."""

    stored: int
    pages: int
    pieces_done: int
    pieces: int
    eta_seconds: float | None


@dataclass(frozen=True, slots=True)
class EventsLoadResult:
    stored: int
    pages: int
    seconds: float
    pieces: int
    cancelled: bool = False
    problem: Problem | None = None
    #: the instance or token has no audit API (Free tier, not an admin): not an error
    coverage_gap: bool = False
    up_to_date: bool = False
    retries: int = 0
    rate_limited_seconds: float = 0.0
    skipped_records: int = 0


def scope_key(scope: Scope) -> str:
    """The store's name for a scope: ``instance``, ``group:12``, ``project:7``."""
    kind, ident = scope
    return "instance" if kind == "instance" else f"{kind}:{ident}"


def _scope_path(scope: Scope) -> str:
    kind, ident = scope
    return "audit_events" if kind == "instance" else f"{kind}s/{ident}/audit_events"


def plan_pieces(
    gaps: list[tuple[datetime, datetime]], *, pieces: int, max_days: int = MAX_QUERY_DAYS
) -> list[tuple[datetime, datetime]]:
    """Cut the gaps into ≤``max_days`` slices, then halve the longest until there are enough.

    Neighbours share their boundary second: GitLab compares ``created_before`` with a
    whole-second time, so an event at 12:00:54.3 is outside a piece ending at 12:00:54 and
    would be lost by a piece starting at 12:00:55. The store ignores the duplicates the shared
    second brings. The newest pieces come first: they matter most while an incident is live.
    """
    out: list[tuple[datetime, datetime]] = []
    span = timedelta(days=max_days)
    for lo, hi in gaps:
        start = lo
        while True:
            end = min(hi, start + span)
            out.append((start, end))
            if end >= hi:
                break
            start = end
    while 0 < len(out) < pieces:
        longest = max(range(len(out)), key=lambda i: out[i][1] - out[i][0])
        lo, hi = out[longest]
        if hi - lo < timedelta(minutes=2):
            break
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        out[longest : longest + 1] = [(lo, mid), (mid, hi)]
    return sorted(out, key=lambda w: w[0], reverse=True)


def _gaps(
    store: Store, incident_id: int, scope: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    gaps = []
    bounds = format_iso(start, "seconds"), format_iso(end, "seconds")
    for lo, hi in store.missing_audit_windows(incident_id, scope, *bounds):
        a, b = parse_ts(lo), parse_ts(hi)
        if a is not None and b is not None:
            gaps.append((a.replace(microsecond=0), b.replace(microsecond=0)))
    return gaps


def load_events_blocking(
    config: ConnectionConfig,
    token: Secret,
    store: Store,
    incident_id: int,
    window: tuple[datetime, datetime],
    *,
    scope: Scope = ("instance", None),
    now: datetime | None = None,
    on_progress: Callable[[EventsLoadProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_wait: WaitFn | None = None,
    concurrency: int = CONCURRENCY,
    process_after: int = PROCESS_AFTER,
) -> EventsLoadResult:
    """Fetch the parts of ``window`` not yet stored for ``scope``; blocking (a thread worker).

    ``now`` is the server's time (by default the clock ``config`` learned from GitLab's replies,
    :mod:`console.clock`); the window's end is clamped to it, and only what is older than
    ``now - SETTLE`` is recorded as complete. Pages after the first ``process_after`` are
    decoded by a helper process (:class:`~console.audit.decoder.PageDecoder`).
    """
    started = time.monotonic()
    is_cancelled = cancelled or (lambda: False)
    key = scope_key(scope)
    now = now or config.clock.now()
    start, end = window[0], min(window[1], now)
    pieces = plan_pieces(_gaps(store, incident_id, key, start, end), pieces=concurrency * 2)
    if not pieces:
        return EventsLoadResult(0, 0, 0.0, 0, up_to_date=True)
    settled = now - SETTLE
    total_span = sum(((hi - lo).total_seconds() + 1 for lo, hi in pieces), 0.0)
    out: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=_WRITE_AHEAD)
    counters = {"pages": 0, "skipped": 0}
    readers: list[AsyncGet] = []

    decoder = PageDecoder(process_after=process_after)

    async def run() -> None:
        work: asyncio.Queue[tuple[datetime, datetime]] = asyncio.Queue()
        for piece in pieces:
            work.put_nowait(piece)

        async def _put(item: tuple[str, Any]) -> None:
            try:
                out.put_nowait(item)  # the usual case: no thread hop per page
            except queue.Full:  # the writer is behind: wait for room without blocking the loop
                await asyncio.to_thread(out.put, item)

        async def read(http: AsyncGet, lo: datetime, hi: datetime) -> None:
            url: str | None = _scope_path(scope)
            params: dict[str, str | int] | None = {
                "created_after": format_iso(lo, "seconds"),
                "created_before": format_iso(hi, "seconds"),
                "pagination": "keyset", "order_by": "id", "sort": "desc",
                "per_page": _PER_PAGE,
            }  # fmt: skip
            while url is not None:
                response = await http.get(url, params)
                try:
                    rows, skipped = await decoder.rows(response.content)
                except PageUnreadable as exc:
                    raise ReadFailed(bad_response(str(exc))) from exc
                counters["pages"] += 1
                counters["skipped"] += skipped
                await _put(("events", rows))
                url, params = http.next_url(response), None
            await _put(("piece", (lo, hi)))

        async def worker() -> None:
            # A client (one connection) per stream: httpx checks every pooled connection for
            # expiry on each request, which with one shared pool of 12 cost more CPU than
            # decoding the pages.
            async with build_httpx(config, token, max_connections=1) as client:
                http = AsyncGet(
                    client, explain=describe_error, cancelled=is_cancelled, on_wait=on_wait
                )
                readers.append(http)
                while not work.empty():
                    lo, hi = work.get_nowait()
                    await read(http, lo, hi)

        try:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        finally:
            await decoder.aclose()

    stop = threading.Event()
    loop = LoopThread(run, lambda: stop.is_set() or is_cancelled(), name="audit-load").start()
    failure: list[BaseException] = []

    def finish() -> None:
        try:
            loop.join()
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
        finally:
            out.put(("end", None))

    threading.Thread(target=finish, name="audit-load-join", daemon=True).start()
    stored = 0
    pieces_done = 0
    covered = 0.0
    write_error: BaseException | None = None
    pending = EventRows([], [])
    with store.bulk_cache_writes():
        while True:
            kind, payload = out.get()
            if kind == "end":
                break
            if write_error is not None:
                continue  # draining after a failed write, so the streams can stop
            if kind == "events":
                pending.rows.extend(payload.rows)
                pending.categories.extend(payload.categories)
                if len(pending.rows) < _WRITE_BATCH and not out.empty():
                    continue  # more pages queued up while we wrote: one transaction for all
            try:
                if pending.rows:
                    stored += store.upsert_events(incident_id, key, pending)
                    pending = EventRows([], [])
                if kind == "piece":
                    lo, hi = payload
                    pieces_done += 1
                    covered += (hi - lo).total_seconds() + 1
                    if lo <= settled:
                        store.record_audit_window(
                            incident_id,
                            key,
                            format_iso(lo, "seconds"),
                            format_iso(min(hi, settled), "seconds"),
                        )
            except Exception as exc:  # disk full, locked database: stop reading, report it
                write_error = exc
                stop.set()
                continue
            if on_progress is not None:
                elapsed = time.monotonic() - started
                fraction = covered / total_span if total_span else 0.0
                eta = elapsed * (1 - fraction) / fraction if fraction > 0.02 else None
                on_progress(
                    EventsLoadProgress(stored, counters["pages"], pieces_done, len(pieces), eta)
                )
    result = EventsLoadResult(
        stored, counters["pages"], time.monotonic() - started, len(pieces),
        retries=sum(r.retries for r in readers),
        rate_limited_seconds=sum(r.rate_limited_seconds for r in readers),
        skipped_records=counters["skipped"],
    )  # fmt: skip
    if write_error is not None:
        return replace(result, problem=describe_error(write_error))
    if not failure:
        return result
    error = failure[0]
    if isinstance(error, LoopCancelled | ReadCancelled):
        return replace(result, cancelled=True)
    if isinstance(error, ReadFailed) and error.status in (403, 404) and stored == 0:
        if pieces_done == 0:
            return replace(result, problem=free_tier_problem(error.status), coverage_gap=True)
    if isinstance(error, ProblemError):
        return replace(result, problem=error.problem)
    return replace(result, problem=describe_error(error))
