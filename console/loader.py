"""Bulk user loader: async httpx, keyset pagination, streaming into the store.

``GET /users`` with offset pagination stops at 50,000 records on real GitLab (HTTP 405), and the
totals headers vanish above 10,000 rows and in keyset mode. So the loader pages with keyset
(``pagination=keyset&order_by=id``) and follows only the server's ``Link: rel="next"`` URL
(never a forged cursor), pinned to the configured host.

For an admin token the instance is cut into creation-time slices: ``created_after`` and
``created_before`` (admin-only filters GitLab applies before the keyset's ``id > cursor``)
bound each slice, neighbours overlap by a second so inclusive or exclusive bounds never leave a
gap, and up to ``PARTITION_CONCURRENCY`` slices are read at once from a work queue (an idle
worker gets a crowded slice split). Users seen twice are dropped by id. Three cheap probes plan
it: the oldest and newest ``created_at``, and a ``created_before`` that must return nothing.

GitLab silently drops those filters (and ``order_by``/``sort``) for non-admins, whose list has
no ``created_at`` either; then, or when a page holds a user outside its slice, the loader uses
two id streams instead: one ascending from the lowest id and one descending from the highest,
stopping where they meet (the ascending stream has seen every id below the lowest id the
descending one stored, so the first id at or above that boundary proves the ranges touch).
If the server ignores the sort, pages arrive out of order; the loader notices, drops the
descending stream and lets the ascending one follow its links to the end. The result is the
same set of users every way, only slower.

Everything here is blocking from the caller's point of view (``*_blocking`` entry points run an
event loop in the calling thread): call them from a Textual thread worker, never the UI loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
import queue
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from console.config import ConnectionConfig, build_httpx
from console.errors import Problem, describe_error, parse_retry_after
from console.sanitize import safe
from console.secret import Secret
from console.store import normalize_ts

if TYPE_CHECKING:
    from console.store import Store

__all__ = [
    "AUDIT_EVENTS_CACHE_KEY",
    "TOKENS_CACHE_KEY",
    "EnrichResult",
    "FetchError",
    "LoadProgress",
    "LoadResult",
    "compute_and_store_risk",
    "enrich_users",
    "enrich_users_blocking",
    "fetch_tokens",
    "fetch_tokens_blocking",
    "load_users",
    "load_users_blocking",
    "parse_retry_after",
    "sign_in_history",
]

MAX_PER_PAGE: Final = 100
#: Attempts for a GET that fails with 5xx or a transport error (the first try included: 1 + 3).
TRANSIENT_RETRIES: Final = 3
#: Longest single wait we accept from a 429 before asking again.
RATE_LIMIT_CAP_S: Final = 60.0
#: Consecutive 429 answers to one request before giving up with a problem.
RATE_LIMIT_MAX_WAITS: Final = 30
#: Cache keys (store.cache_get) compute_and_store_risk reads when not given events / tokens:
#: audit events as a list or ``{"events": [...]}``; PAT JSON as a list or ``{"tokens": [...]}``.
AUDIT_EVENTS_CACHE_KEY: Final = "audit_events"
TOKENS_CACHE_KEY: Final = "tokens"



def _skip_missing_sniffio() -> None:
    """httpcore runs ``import sniffio`` for every async connection lock it sets up, falling back
    to asyncio when the import fails. Without sniffio installed each attempt searches the whole
    ``sys.path`` (about 1 ms of CPU per request here, a tenth of a bulk load's client time).
    A ``None`` entry in ``sys.modules`` makes that import fail at once, with the same result."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_skip_missing_sniffio()

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


@dataclass(frozen=True, slots=True)
class EnrichResult:
    enriched: int
    missing: int  # 404: deleted since the list was read
    seconds: float
    cancelled: bool
    problem: Problem | None


class FetchError(Exception):
    """Raised by the token fetch when it cannot finish; ``problem`` explains why."""

    def __init__(self, problem: Problem | None, *, cancelled: bool = False) -> None:
        super().__init__("token fetch cancelled" if cancelled else "token fetch failed")
        self.problem = problem
        self.cancelled = cancelled


class _Stop(Exception):
    """Internal: abort the load with ``problem``."""

    def __init__(self, problem: Problem, status: int | None = None) -> None:
        super().__init__("stop")
        self.problem = problem
        self.status = status


class _Cancelled(Exception):
    pass


def _never() -> bool:
    return False


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _backoff(attempt: int, base: float = 0.25, cap: float = 8.0) -> float:
    """Exponential backoff with full jitter on the upper half."""
    ceiling = min(cap, base * float(2**attempt))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class _Http:
    """GET with the loader's retry, rate-limit and link-validation policy."""

    def __init__(self, client: httpx.AsyncClient, cancelled: CancelledFn) -> None:
        self.client = client
        self.cancelled = cancelled
        base = urlsplit(str(client.base_url))
        self._scheme = base.scheme
        self._netloc = base.netloc
        self._base_path = base.path.rstrip("/") + "/"
        self.retries = 0
        self.rate_limited_seconds = 0.0

    async def sleep(self, seconds: float) -> None:
        """Sleep in short slices so cancellation stays responsive."""
        deadline = time.monotonic() + seconds
        while True:
            if self.cancelled():
                raise _Cancelled
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.1))

    def next_url(self, response: httpx.Response) -> str | None:
        """The ``rel="next"`` link, pinned to the configured host.

        A misconfigured ``external_url`` makes GitLab advertise another host in its links; the
        token must not follow it there. A link whose path is under our API path is rewritten to
        our scheme and host (python-gitlab's ``keep_base_url``); anything else stops the load.
        """
        link = response.links.get("next")
        if not link:
            return None
        raw = link.get("url", "")
        parts = urlsplit(raw)
        if not parts.scheme and not parts.netloc:
            parts = urlsplit(str(response.request.url.join(raw)))
        if parts.scheme not in ("http", "https") or not (parts.path + "/").startswith(
            self._base_path
        ):
            raise _Stop(
                Problem(
                    "Unsafe pagination link",
                    "GitLab's next-page link points outside its API "
                    f"({safe(raw, kind='line', max_cells=120)}); paging stopped so the token "
                    "is not sent there. The list is incomplete.",
                    "Check the instance's external_url setting; it must match the URL you use.",
                    "bad_response",
                )
            )
        return urlunsplit((self._scheme, self._netloc, parts.path, parts.query, ""))

    async def get(self, url: str, params: Mapping[str, str | int] | None = None) -> httpx.Response:
        transient = 0
        limited = 0
        while True:
            if self.cancelled():
                raise _Cancelled
            try:
                response = await self.client.get(url, params=params)
            except httpx.TransportError as exc:
                if transient >= TRANSIENT_RETRIES:
                    raise _Stop(describe_error(exc)) from exc
                transient += 1
                self.retries += 1
                await self.sleep(_backoff(transient))
                continue
            status = response.status_code
            if status < 300:
                return response
            if status == 429:
                limited += 1
                if limited > RATE_LIMIT_MAX_WAITS:
                    raise _Stop(describe_error(_status_error(response)), status)
                wait = parse_retry_after(response.headers)
                if wait is None:
                    wait = _backoff(limited, base=1.0, cap=RATE_LIMIT_CAP_S)
                wait = min(wait, RATE_LIMIT_CAP_S) + random.uniform(0, 0.25)
                self.rate_limited_seconds += wait
                await self.sleep(wait)
                continue
            if status >= 500 and transient < TRANSIENT_RETRIES:
                transient += 1
                self.retries += 1
                await self.sleep(_backoff(transient))
                continue
            raise _Stop(describe_error(_status_error(response)), status)


def _status_error(response: httpx.Response) -> httpx.HTTPStatusError:
    return httpx.HTTPStatusError(
        f"HTTP {response.status_code} for {response.request.method} {response.request.url.path}",
        request=response.request,
        response=response,
    )


def _json_list(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError as exc:
        raise _Stop(_bad_response("a page that is not JSON")) from exc
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise _Stop(_bad_response("a page that is not a list of objects"))
    return body


def _bad_response(what: str) -> Problem:
    return Problem(
        "Unreadable answer",
        f"While paging, GitLab sent {what}; the list is incomplete.",
        "Check that the URL points at a GitLab instance, then load again.",
        "bad_response",
    )


def _user_id(item: Mapping[str, Any]) -> int | None:
    value = item.get("id")
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


Direction = Literal["asc", "desc"]


@dataclass
class _Meet:
    """Shared state of the two streams. Only touched from the event loop thread, between awaits."""

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

    def keep_new(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items whose id was not stored yet (and mark them seen)."""
        kept: list[dict[str, Any]] = []
        for item in items:
            uid = _user_id(item)
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
        ids = [_user_id(item) for item in items]
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


async def _estimate_total(http: _Http, *, ask_users: bool = True) -> int | None:
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


WriteFn = Callable[[list[dict[str, Any]]], Awaitable[None]]


# --------------------------------------------------------------------------- partitioned load

#: Time slices of a partitioned load (at most), and how many of them are read at once.
PARTITIONS: Final = 16
PARTITION_CONCURRENCY: Final = 8
#: A slice should hold at least this many pages; smaller instances get fewer slices.
MIN_PAGES_PER_SLICE: Final = 10
#: A slice is split for an idle worker when the pages it is predicted still to need are at least
#: this many times the pages it already read (those are read again by the split's first part).
SPLIT_FACTOR: Final = 3.0
MAX_SPLIT: Final = 8
PACE_PAGES: Final = 3
#: Overlap of neighbouring slices' ``created_after``/``created_before`` bounds, in seconds.
SLICE_OVERLAP_S: Final = 1


class _Unfiltered(Exception):
    """Internal: the server does not apply ``created_after``/``created_before`` for this token."""


@dataclass(slots=True)
class _Slice:
    """The users created in ``[lo, hi)`` (epoch seconds); the first slice is open below and the
    last open above, so users older than the probe's oldest or created meanwhile are kept."""

    lo: int
    hi: int
    open_below: bool
    open_above: bool

    def params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if not self.open_below:
            out["created_after"] = _iso_seconds(self.lo - SLICE_OVERLAP_S)
        if not self.open_above:
            out["created_before"] = _iso_seconds(self.hi + SLICE_OVERLAP_S)
        return out

    def admits(self, created: float) -> bool:
        """Could the server have returned a user created at ``created`` for this slice?"""
        if not self.open_below and created < self.lo - SLICE_OVERLAP_S:
            return False
        return self.open_above or created <= self.hi + SLICE_OVERLAP_S

    def split(self, parts: int) -> list[_Slice]:
        parts = max(1, min(parts, self.hi - self.lo))
        edges = [self.lo + (self.hi - self.lo) * j // parts for j in range(parts + 1)]
        return [
            _Slice(edges[j], edges[j + 1], self.open_below and j == 0,
                   self.open_above and j == parts - 1)
            for j in range(parts)
        ]


@dataclass(frozen=True, slots=True)
class _Plan:
    slices: list[_Slice]


def _iso_seconds(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _total_header(response: httpx.Response) -> int | None:
    total = response.headers.get("x-total", "").strip()
    return int(total) if total.isdigit() else None


async def _plan(http: _Http, state: _Meet, *, partitions: int, per_page: int) -> _Plan | None:
    """Probe the oldest and newest ``created_at`` and prove the creation filters work.

    Returns None (use the two streams) when the token cannot use the admin-only filters: GitLab
    drops ``created_*`` and ``order_by`` silently for non-admins, whose list has no
    ``created_at`` either. Any probe failure also means None; the streams then report it.
    """
    if partitions < 2:
        return None

    async def edge(sort: str) -> tuple[float | None, int | None]:
        response = await http.get(
            "/users", {"order_by": "created_at", "sort": sort, "per_page": 1}
        )
        items = _json_list(response)
        return (_epoch(items[0].get("created_at")) if items else None), _total_header(response)

    try:  # the oldest first: its X-Total (up to 10,000) may show the instance is too small
        oldest, total = await edge("asc")
        state.probed = True
        if total is not None:
            state.total = total
        count = partitions
        if total is not None:
            count = min(count, total // max(1, per_page * MIN_PAGES_PER_SLICE))
        if oldest is None or count < 2:
            return None
        newest, _ = await edge("desc")
    except _Stop:
        return None
    if newest is None or newest < oldest:
        return None
    lo, hi = int(oldest), int(newest) + 1
    count = min(count, hi - lo)
    if count < 2:
        return None
    try:  # nobody was created a day before the oldest user: the filter must give nothing
        response = await http.get(
            "/users", {"created_before": _iso_seconds(lo - 86_400), "per_page": 1}
        )
        if _json_list(response):
            return None
    except _Stop:
        return None
    slices = _Slice(lo, hi, True, True).split(count)
    return _Plan(slices)


@dataclass(slots=True)
class _Reading:
    """A slice being read: how far it got, and what that predicts for the rest of it.

    Progress is the median ``created_at`` of each page (ids mostly follow creation time, but a
    few old ids with late timestamps must not look like the end of the slice); the pace is
    taken over the last ``PACE_PAGES`` pages, so a denser stretch is noticed quickly.
    """

    piece: _Slice
    pages: int = 0
    marks: list[float] = field(default_factory=list)  # each page's median created_at
    remaining: float | None = None  # predicted pages still to read (None: unknown)
    split_wanted: bool = False

    @property
    def reached(self) -> float | None:
        return self.marks[-1] if self.marks else None

    def advance(self, stamps: list[float]) -> None:
        """Account for one page whose users were created at ``stamps``."""
        self.pages += 1
        if not stamps:
            return
        stamps = sorted(stamps)
        self.marks.append(stamps[len(stamps) // 2])
        recent = self.marks[-PACE_PAGES - 1:]
        start = recent[0] if len(recent) > 1 else float(self.piece.lo)
        steps = max(1, len(recent) - 1)
        pace = (recent[-1] - start) / steps  # creation seconds per page
        left = self.piece.hi - recent[-1]
        self.remaining = left / pace if pace > 0 and left > 0 else None

    def worth_splitting(self) -> bool:
        """Would splitting the rest pay for re-reading the pages read so far?"""
        if self.remaining is None or self.split_wanted or self.reached is None:
            return False
        if self.piece.hi - (int(self.reached) + 1) < 1:
            return False  # nothing left to cut at a whole second
        return self.remaining >= max(SPLIT_FACTOR * self.pages + 2, 2 * MIN_PAGES_PER_SLICE)

    def children(self, parts: int) -> list[_Slice]:
        """``[lo, cut)`` (re-read from its start: ids need not follow creation time, so the
        cursor cannot be kept) and the rest cut into ``parts`` slices."""
        piece = self.piece
        cut = int(self.reached or piece.lo) + 1
        head = _Slice(piece.lo, cut, piece.open_below, False)
        tail = _Slice(cut, piece.hi, False, piece.open_above).split(parts)
        return [head, *tail]


async def _run_partitions(
    http: _Http,
    state: _Meet,
    write: WriteFn,
    plan: _Plan,
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
    pending: deque[_Slice] = deque(plan.slices)
    reading: list[_Reading] = []
    unfiltered = False
    wake = asyncio.Event()
    workers = max(1, concurrency)

    def stopped() -> bool:
        return unfiltered or state.problem is not None or state.cancelled

    def ask_for_split() -> None:
        candidates = [r for r in reading if r.worth_splitting()]
        if candidates:
            max(candidates, key=lambda r: r.remaining or 0.0).split_wanted = True

    async def read(work: _Reading) -> None:
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
            items = _json_list(response)
            state.pages += 1
            stamps: list[float] = []
            for item in items:
                created = _epoch(item.get("created_at"))
                if created is None or not piece.admits(created):
                    raise _Unfiltered
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
            work = _Reading(pending.popleft())
            reading.append(work)
            try:
                await read(work)
                if not work.split_wanted:
                    state.slices_done += 1
            except _Unfiltered:
                unfiltered = True
            finally:
                reading.remove(work)
                wake.set()

    await asyncio.gather(*(_guarded(state, worker()) for _ in range(workers)))
    return not stopped() and not pending


async def _guarded(state: _Meet, work: Awaitable[None]) -> None:
    """Run one stream or worker; its failure becomes ``state.problem``, never an exception."""
    try:
        await work
    except _Cancelled:
        if state.problem is None:
            state.cancelled = True
    except _Stop as stop:
        if state.problem is None:
            state.problem = stop.problem
    except Exception as exc:  # the store failed, or a bug: report it, never hang the worker
        if state.problem is None:
            state.problem = describe_error(exc)


async def _run_streams(http: _Http, state: _Meet, write: WriteFn, *, per_page: int) -> None:
    """The two keyset streams (id ascending and descending) that meet in the middle."""

    async def stream(direction: Direction) -> None:
        url = "/users"
        params: dict[str, str | int] | None = {
            "pagination": "keyset",
            "order_by": "id",
            "sort": direction,
            "per_page": per_page,
        }
        last: int | None = None
        while not state.should_stop(direction):
            response = await http.get(url, params)
            items = _json_list(response)
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

    await asyncio.gather(_guarded(state, stream("asc")), _guarded(state, stream("desc")))


async def _load_core(
    client: httpx.AsyncClient,
    state: _Meet,
    write: WriteFn,
    *,
    cancelled: CancelledFn,
    per_page: int,
    partitions: int = PARTITIONS,
    concurrency: int = PARTITION_CONCURRENCY,
) -> _Http:
    """Load every user; every new page of users goes to ``write``.

    Partitioned by creation time when the token may filter on it (admins), else the two
    streams; also the two streams when a slice's page shows the filters were ignored.
    Never raises for server or write failures: they end up in ``state.problem``.
    """
    per_page = max(1, min(MAX_PER_PAGE, per_page))
    http = _Http(client, lambda: cancelled() or state.problem is not None)

    async def estimate() -> None:
        total = await _estimate_total(http, ask_users=not state.probed)
        if state.total is None:
            state.total = total

    plan: _Plan | None = None
    try:
        plan = await _plan(http, state, partitions=partitions, per_page=per_page)
    except _Cancelled:
        state.cancelled = True
    estimator = asyncio.create_task(estimate() if state.total is None else asyncio.sleep(0))
    if plan is not None:
        state.partitions = len(plan.slices)
        if await _run_partitions(
            http, state, write, plan, per_page=per_page, concurrency=concurrency
        ):
            state.finished = True
        elif state.problem is None and not state.cancelled:
            state.fell_back = True  # the filters were ignored after all: read it all by id
    if not state.finished and state.problem is None and not state.cancelled:
        await _run_streams(http, state, write, per_page=per_page)
    if not estimator.done():
        estimator.cancel()
    await asyncio.gather(estimator, return_exceptions=True)
    if cancelled() and not (state.met or state.finished) and state.problem is None:
        state.cancelled = True
    return http


def _progress(state: _Meet, done: bool) -> LoadProgress:
    loaded = state.stored
    total = state.total
    if total is not None and loaded > total:
        total = loaded
    if done and state.problem is None and not state.cancelled:
        total = loaded
    return LoadProgress(loaded=loaded, total=total, pages=state.pages, done=done)


def _result(state: _Meet, http: _Http | None, started: float) -> LoadResult:
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
    )


async def load_users(
    client: httpx.AsyncClient,
    store: Store,
    incident_id: int,
    *,
    on_progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
    per_page: int = MAX_PER_PAGE,
    partitions: int = PARTITIONS,
    concurrency: int = PARTITION_CONCURRENCY,
) -> LoadResult:
    """Load every user the token can see into ``store`` for ``incident_id``.

    An admin's load is split into up to ``partitions`` creation-time slices, ``concurrency``
    of them read at once (``partitions=1``: the two id streams only). Pages are upserted as
    they arrive (one transaction per page, in the event loop's thread), then ``on_progress``
    is called. ``cancelled()`` is checked between pages and during waits.
    Failures never raise: they come back as ``LoadResult.problem`` with whatever was loaded.
    :func:`load_users_blocking` is faster: it overlaps the writes with the network.
    """
    state = _Meet()
    started = time.monotonic()

    async def write(kept: list[dict[str, Any]]) -> None:
        store.upsert_users(incident_id, kept, _now_iso())
        state.stored += len(kept)
        if state.first_page_at is None:
            state.first_page_at = time.monotonic()
        if on_progress is not None:
            on_progress(_progress(state, False))

    http = await _load_core(
        client,
        state,
        write,
        cancelled=cancelled or _never,
        per_page=per_page,
        partitions=partitions,
        concurrency=concurrency,
    )
    if on_progress is not None:
        on_progress(_progress(state, True))
    return _result(state, http, started)


#: Pages fetched but not yet written, at most (bounds memory when the disk is slow).
WRITE_AHEAD_PAGES: Final = 32
#: Pages waiting in the queue are written together, up to this many users per transaction.
WRITE_BATCH_USERS: Final = 1000


def load_users_blocking(
    config: ConnectionConfig,
    token: Secret,
    store: Store,
    incident_id: int,
    *,
    on_progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
    per_page: int = MAX_PER_PAGE,
    partitions: int = PARTITIONS,
    concurrency: int = PARTITION_CONCURRENCY,
) -> LoadResult:
    """Load every user; blocks the calling (worker) thread until done, cancelled or failed.

    The HTTP requests (see :func:`load_users` for ``partitions`` and ``concurrency``) run on an
    event loop in a helper thread; pages come back through a queue and are upserted *in the
    calling thread*, followed by ``on_progress`` — also in the calling thread. Network and disk
    overlap; at most ``WRITE_AHEAD_PAGES`` pages wait in memory, and pages that queued up while
    the disk was busy are written in one transaction (up to ``WRITE_BATCH_USERS`` users).
    """
    is_cancelled = cancelled or _never
    state = _Meet()
    started = time.monotonic()
    pages: queue.Queue[list[dict[str, Any]] | None] = queue.Queue()
    slots = threading.Semaphore(WRITE_AHEAD_PAGES)
    box: dict[str, _Http] = {}

    async def write(kept: list[dict[str, Any]]) -> None:
        while not slots.acquire(blocking=False):
            if state.problem is not None or is_cancelled():
                return
            await asyncio.sleep(0.002)
        pages.put(kept)

    async def run() -> None:
        connections = max(2, concurrency) + 2  # the slices, the estimate and the probes
        async with build_httpx(config, token, max_connections=connections) as client:
            box["http"] = await _load_core(
                client,
                state,
                write,
                cancelled=is_cancelled,
                per_page=per_page,
                partitions=partitions,
                concurrency=concurrency,
            )

    def network() -> None:
        try:
            asyncio.run(run())
        except Exception as exc:  # building or closing the client failed
            if state.problem is None:
                state.problem = describe_error(exc)
        finally:
            pages.put(None)

    thread = threading.Thread(target=network, name="user-loader-http", daemon=True)
    thread.start()
    ended = False
    while not ended:
        batch = pages.get()
        if batch is None:
            break
        taken = 1
        while len(batch) < WRITE_BATCH_USERS:  # pages that queued up meanwhile: one commit
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
                store.upsert_users(incident_id, batch, _now_iso())
                state.stored += len(batch)
                if state.first_page_at is None:
                    state.first_page_at = time.monotonic()
                if on_progress is not None:
                    on_progress(_progress(state, False))
        except Exception as exc:  # the store failed: stop the streams, keep what is stored
            if state.problem is None:
                state.problem = describe_error(exc)
        finally:
            for _ in range(taken):
                slots.release()
    thread.join()
    if on_progress is not None:
        on_progress(_progress(state, True))
    return _result(state, box.get("http"), started)


# --------------------------------------------------------------------------- enrichment


async def enrich_users(
    client: httpx.AsyncClient,
    store: Store,
    incident_id: int,
    user_ids: Iterable[int],
    *,
    concurrency: int = 8,
    on_progress: Callable[[int, int], None] | None = None,
    cancelled: CancelledFn | None = None,
) -> EnrichResult:
    """GET /users/:id for each id (bounded concurrency) and store the detail fields.

    The list response has no sign-in IPs or sign-in count; the single-user admin view does.
    ``on_progress(done, total)`` is called after each user. 404s are counted, not fatal;
    401/403 and exhausted retries stop the run with a problem.
    """
    is_cancelled = cancelled or _never
    ids = list(dict.fromkeys(user_ids))
    http = _Http(client, is_cancelled)
    semaphore = asyncio.Semaphore(max(1, concurrency))
    started = time.monotonic()
    done = 0
    enriched = 0
    missing = 0
    problem: Problem | None = None
    was_cancelled = False

    async def one(uid: int) -> None:
        nonlocal done, enriched, missing, problem, was_cancelled
        async with semaphore:
            if problem is not None or was_cancelled:
                return
            try:
                response = await http.get(f"/users/{int(uid)}")
            except _Cancelled:
                was_cancelled = True
                return
            except _Stop as stop:
                if stop.status == 404:
                    missing += 1
                elif problem is None:
                    problem = stop.problem
                done += 1
                if on_progress is not None:
                    on_progress(done, len(ids))
                return
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and _user_id(body) == uid:
                store.upsert_user_detail(incident_id, body)
                enriched += 1
            done += 1
            if on_progress is not None:
                on_progress(done, len(ids))

    await asyncio.gather(*(one(uid) for uid in ids))
    return EnrichResult(
        enriched=enriched,
        missing=missing,
        seconds=time.monotonic() - started,
        cancelled=was_cancelled or (is_cancelled() and done < len(ids)),
        problem=problem,
    )


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
) -> EnrichResult:
    """Run :func:`enrich_users` in the calling (worker) thread."""

    async def run() -> EnrichResult:
        async with build_httpx(config, token, max_connections=max(1, concurrency)) as client:
            return await enrich_users(
                client,
                store,
                incident_id,
                user_ids,
                concurrency=concurrency,
                on_progress=on_progress,
                cancelled=cancelled,
            )

    started = time.monotonic()
    try:
        return asyncio.run(run())
    except Exception as exc:
        return EnrichResult(0, 0, time.monotonic() - started, False, describe_error(exc))


# --------------------------------------------------------------------------- tokens


async def fetch_tokens(
    client: httpx.AsyncClient,
    *,
    concurrency: int = 8,
    cancelled: CancelledFn | None = None,
    params: Mapping[str, str | int] | None = None,
) -> list[dict[str, Any]]:
    """Every personal access token the caller can list (all users' for an admin).

    ``/personal_access_tokens`` is offset-only. Page 1 tells us ``x-total-pages`` when the server
    knows it (≤ 10,000 rows); then the other pages are fetched concurrently by number. Without
    it, pages are requested in concurrent batches until a short or empty page ends the list.
    Raises :class:`FetchError` on failure or cancellation.
    """
    is_cancelled = cancelled or _never
    http = _Http(client, is_cancelled)
    base: dict[str, str | int] = {**(params or {}), "per_page": MAX_PER_PAGE}
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def page(number: int) -> list[dict[str, Any]]:
        async with semaphore:
            response = await http.get("/personal_access_tokens", {**base, "page": number})
            return _json_list(response)

    try:
        first = await http.get("/personal_access_tokens", {**base, "page": 1})
        tokens = _json_list(first)
        pages_header = first.headers.get("x-total-pages", "").strip()
        if pages_header.isdigit():
            rest = await asyncio.gather(*(page(n) for n in range(2, int(pages_header) + 1)))
            for chunk in rest:
                tokens.extend(chunk)
        elif len(tokens) >= MAX_PER_PAGE:
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
                    ended = len(chunk) < MAX_PER_PAGE
                if ended:
                    break
                number += concurrency
    except _Stop as stop:
        raise FetchError(stop.problem) from stop
    except _Cancelled as exc:
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
) -> list[dict[str, Any]]:
    """All personal access tokens (admin: the whole instance), for the risk signals.

    Raises :class:`FetchError` (with ``.problem``) when the list cannot be read completely.
    """

    async def run() -> list[dict[str, Any]]:
        async with build_httpx(config, token, max_connections=max(1, concurrency)) as client:
            return await fetch_tokens(client, concurrency=concurrency, cancelled=cancelled)

    return asyncio.run(run())


# --------------------------------------------------------------------------- risk

_SIGN_IN_EVENTS: Final = frozenset(
    {
        "authenticated_with_password",
        "authenticated_with_two_factor",
        "authenticated_with_webauthn",
        "authenticated_with_ldap",
        "authenticated_with_oauth",
        "authenticated_with_group_saml",
    }
)


def _is_sign_in(event: Mapping[str, Any]) -> bool:
    details = event.get("details")
    details = details if isinstance(details, Mapping) else {}
    name = event.get("event_name") or details.get("event_name")
    if isinstance(name, str) and name in _SIGN_IN_EVENTS:
        return True
    # before 18.3 a web sign-in is a legacy event with only details.with ("standard", "two-factor"…)
    return name is None and isinstance(details.get("with"), str) and "failed_login" not in details


def sign_in_history(
    events: Iterable[Mapping[str, Any]], current_ips: Mapping[int, str | None]
) -> dict[int, set[str]]:
    """IPs each user signed in from *before* first using the IP they are signed in from now.

    The audit pane fetches only the incident window, so "seen before the window" would be empty
    for everyone; "seen before this address first appeared" works inside the window too. A user
    whose current IP never appears in the events gets every IP the events show.
    """
    seen: dict[int, list[tuple[str, str]]] = {}
    for event in events:
        if not isinstance(event, Mapping) or not _is_sign_in(event):
            continue
        author = event.get("author_id")
        details = event.get("details")
        details = details if isinstance(details, Mapping) else {}
        ip = event.get("ip_address") or details.get("ip_address")
        when = normalize_ts(event.get("created_at"))
        if isinstance(author, int) and author > 0 and isinstance(ip, str) and ip and when:
            seen.setdefault(author, []).append((when, ip))
    history: dict[int, set[str]] = {}
    for uid, sign_ins in seen.items():
        current = current_ips.get(uid)
        first_current = min((when for when, ip in sign_ins if ip == current), default=None)
        history[uid] = {
            ip for when, ip in sign_ins if first_current is None or when < first_current
        }
    return history


def _cached_events(store: Store, incident_id: int, window: tuple[str | None, str | None]) -> Any:
    """Audit events the audit pane cached for this window, else the legacy key's."""
    from console.audit import events_cache_key

    for key in (events_cache_key(*window), AUDIT_EVENTS_CACHE_KEY):
        cached = store.cache_get(incident_id, key)
        if cached is not None:
            return cached[0]
    return None


def _as_records(value: Any, field_name: str) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        value = value.get(field_name)
    if value is None or isinstance(value, str | bytes | Mapping):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _given_or_cached(
    store: Store,
    incident_id: int,
    given: Iterable[Mapping[str, Any]] | None,
    key: str,
    field_name: str,
) -> list[Mapping[str, Any]]:
    value: Any = given
    if value is None:
        cached = store.cache_get(incident_id, key)
        value = cached[0] if cached is not None else None
    return _as_records(value, field_name)


def compute_and_store_risk(
    store: Store,
    incident_id: int,
    window: tuple[str | None, str | None] | None = None,
    *,
    tokens: Iterable[Mapping[str, Any]] | None = None,
    events: Iterable[Mapping[str, Any]] | None = None,
    known_ips: Mapping[int, set[str]] | None = None,
    now: datetime | None = None,
) -> dict[int, tuple[int, list[str]]]:
    """Score every cached user of the incident with :func:`console.risk.compute_risk` and store it.

    ``window`` defaults to the incident's window. ``events`` are audit events (raw GitLab JSON or
    ``AuditEvent.to_dict()``) and ``tokens`` PAT JSON (see :func:`fetch_tokens_blocking`); when
    None, what the audit pane cached for the window (or ``AUDIT_EVENTS_CACHE_KEY``) and
    ``TOKENS_CACHE_KEY`` hold is used.
    Sign-in events give each user's earlier IPs (:func:`sign_in_history`, unless ``known_ips`` is
    passed), so a sign-in from an address never seen before stands out. Blocking (SQLite):
    call it from a worker thread.
    """
    from console.risk import compute_risk

    if window is None:
        incident = store.get_incident(incident_id)
        window = incident.window if incident is not None else (None, None)
    if events is None:
        events = _as_records(_cached_events(store, incident_id, window), "events")
    event_list = list(events)
    token_list = _given_or_cached(store, incident_id, tokens, TOKENS_CACHE_KEY, "tokens")
    users = list(store.iter_users(incident_id))
    if known_ips is None:
        known_ips = sign_in_history(event_list, {u.id: u.current_sign_in_ip for u in users})
    risks = compute_risk(
        users,
        window,
        known_ips=known_ips,
        tokens=token_list or None,
        events=event_list,
        now=now,
    )
    store.set_risk(incident_id, risks)
    return risks
