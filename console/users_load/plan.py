"""The partition plan: creation-time slices of the instance, and how a slice being read is split.

For an admin token the instance is cut into creation-time slices: ``created_after`` and
``created_before`` (admin-only filters GitLab applies before the keyset's ``id > cursor``)
bound each slice, neighbours overlap by a second so inclusive or exclusive bounds never leave a
gap. Three cheap probes plan it: the oldest and newest ``created_at``, and a ``created_before``
that must return nothing (GitLab silently drops these filters for non-admins).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final

import httpx

from console.api.aio import AsyncGet, json_list
from console.problem import ProblemError
from console.timeutil import format_iso, from_epoch, parse_ts, to_epoch
from console.users_load.streams import LoadState

__all__ = [
    "MAX_SPLIT",
    "PARTITIONS",
    "PARTITION_CONCURRENCY",
    "Plan",
    "Reading",
    "Slice",
    "Unfiltered",
    "make_plan",
]

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


class Unfiltered(Exception):
    """Internal: the server does not apply ``created_after``/``created_before`` for this token."""


@dataclass(slots=True)
class Slice:
    """The users created in ``[lo, hi)`` (epoch seconds); the first slice is open below and the
    last open above, so users older than the probe's oldest or created meanwhile are kept."""

    lo: int
    hi: int
    open_below: bool
    open_above: bool

    def params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if not self.open_below:
            out["created_after"] = _created_param(self.lo - SLICE_OVERLAP_S)
        if not self.open_above:
            out["created_before"] = _created_param(self.hi + SLICE_OVERLAP_S)
        return out

    def admits(self, created: float) -> bool:
        """Could the server have returned a user created at ``created`` for this slice?"""
        if not self.open_below and created < self.lo - SLICE_OVERLAP_S:
            return False
        return self.open_above or created <= self.hi + SLICE_OVERLAP_S

    def split(self, parts: int) -> list[Slice]:
        parts = max(1, min(parts, self.hi - self.lo))
        edges = [self.lo + (self.hi - self.lo) * j // parts for j in range(parts + 1)]
        return [
            Slice(
                edges[j],
                edges[j + 1],
                self.open_below and j == 0,
                self.open_above and j == parts - 1,
            )
            for j in range(parts)
        ]


def _created_param(seconds: int) -> str:
    """A ``created_after``/``created_before`` value (ValueError/OverflowError beyond year 9999)."""
    return format_iso(from_epoch(seconds), "seconds")


@dataclass(frozen=True, slots=True)
class Plan:
    slices: list[Slice]


def _total_header(response: httpx.Response) -> int | None:
    total = response.headers.get("x-total", "").strip()
    return int(total) if total.isdigit() else None


async def make_plan(
    http: AsyncGet, state: LoadState, *, partitions: int, per_page: int
) -> Plan | None:
    """Probe the oldest and newest ``created_at`` and prove the creation filters work.

    Returns None (use the two streams) when the token cannot use the admin-only filters: GitLab
    drops ``created_*`` and ``order_by`` silently for non-admins, whose list has no
    ``created_at`` either. Any probe failure also means None; the streams then report it.
    """
    if partitions < 2:
        return None

    async def edge(sort: str) -> tuple[float | None, int | None]:
        response = await http.get("/users", {"order_by": "created_at", "sort": sort, "per_page": 1})
        items, _ = json_list(response)
        first = parse_ts(items[0].get("created_at")) if items else None
        return (to_epoch(first) if first is not None else None), _total_header(response)

    # Both edges at once: one round trip less before the first rows (the newest is wasted when
    # the oldest's X-Total, present up to 10,000 users, shows the instance is too small).
    asc, desc = await asyncio.gather(edge("asc"), edge("desc"), return_exceptions=True)
    if isinstance(asc, BaseException) or isinstance(desc, BaseException):
        for outcome in (asc, desc):
            if isinstance(outcome, BaseException) and not isinstance(outcome, ProblemError):
                raise outcome  # cancellation and bugs propagate; a failed probe means no plan
        return None
    (oldest, total), (newest, _) = asc, desc
    state.probed = True
    if total is not None:
        state.total = total
    count = partitions
    if total is not None:
        count = min(count, total // max(1, per_page * MIN_PAGES_PER_SLICE))
    if oldest is None or count < 2:
        return None
    if newest is None or newest < oldest:
        return None
    lo, hi = int(oldest), int(newest) + 1
    count = min(count, hi - lo)
    if count < 2:
        return None
    try:  # nobody was created a day before the oldest user: the filter must give nothing
        _created_param(hi + SLICE_OVERLAP_S)  # a created_at near year 1 or 9999 cannot be sliced
        response = await http.get(
            "/users", {"created_before": _created_param(lo - 86_400), "per_page": 1}
        )
        if json_list(response)[0]:
            return None
    except (ProblemError, ValueError, OverflowError, OSError):
        return None
    slices = Slice(lo, hi, True, True).split(count)
    return Plan(slices)


@dataclass(slots=True)
class Reading:
    """A slice being read: how far it got, and what that predicts for the rest of it.

    Progress is the median ``created_at`` of each page (ids mostly follow creation time, but a
    few old ids with late timestamps must not look like the end of the slice); the pace is
    taken over the last ``PACE_PAGES`` pages, so a denser stretch is noticed quickly.
    """

    piece: Slice
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
        recent = self.marks[-PACE_PAGES - 1 :]
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

    def children(self, parts: int) -> list[Slice]:
        """``[lo, cut)`` (re-read from its start: ids need not follow creation time, so the
        cursor cannot be kept) and the rest cut into ``parts`` slices."""
        piece = self.piece
        cut = int(self.reached or piece.lo) + 1
        head = Slice(piece.lo, cut, piece.open_below, False)
        tail = Slice(cut, piece.hi, False, piece.open_above).split(parts)
        return [head, *tail]
