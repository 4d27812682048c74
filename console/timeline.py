"""The incident timeline: audit events, the responder's actions and notes on one time axis.

Audit events come from the store (what the audit pane fetched for the incident window), actions
from the journal, notes from the store; nothing is fetched here. :func:`histogram` draws the
counts per day or per hour as lines of block characters, so a burst of attacker activity is
seen before it is read. The store-backed timeline (:mod:`console.timeline_sources`) counts the
bars in SQL and reads rows a window at a time; :func:`histogram` over a list of items is the
same drawing for lists already in memory. Text fields are raw (server text in events):
sanitise at display.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final, Literal

from console.store import TimelineRow
from console.timeutil import parse_ts

__all__ = [
    "MAX_BUCKETS",
    "TimelineItem",
    "bucket_bound",
    "histogram",
    "histogram_from_counts",
]

ItemKind = Literal["event", "action", "note"]
Bucket = Literal["day", "hour"]
_BLOCKS: Final = " ▏▎▍▌▋▊▉█"
MAX_BUCKETS: Final = 400

#: One item: ``when`` is UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (as the store keeps it), ``kind``
#: one of event/action/note, ``ref`` "event:123", "journal:4" or "note:7".
TimelineItem = TimelineRow


def _floor(dt: datetime, bucket: Bucket) -> datetime:
    dt = dt.replace(minute=0, second=0, microsecond=0)
    return dt.replace(hour=0) if bucket == "day" else dt


def _step(bucket: Bucket) -> timedelta:
    return timedelta(days=1) if bucket == "day" else timedelta(hours=1)


def _bar(value: int, peak: int, width: int) -> str:
    if peak <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value * width * 8 / peak))
    full, part = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[part] if part else "")


def bucket_bound(start: datetime, bucket: Bucket) -> str:
    """The smallest stored time string of the bucket starting at ``start``.

    A bare date (``YYYY-MM-DD``, midnight) sorts before every time of its day, so the first hour
    of a day starts at the date itself.
    """
    if bucket == "day" or start.hour == 0:
        return start.strftime("%Y-%m-%d")
    return start.strftime("%Y-%m-%dT%H")


def _lines(
    first: datetime, last: datetime, bucket: Bucket, counts: Counter[datetime], width: int
) -> list[str]:
    peak = max(counts.values(), default=0)
    fmt = "%Y-%m-%d" if bucket == "day" else "%Y-%m-%d %H:00"
    lines = []
    cursor = first
    while cursor <= last:
        n = counts.get(cursor, 0)
        lines.append(f"{cursor.strftime(fmt)}  {_bar(n, peak, width):<{width}}  {n:>6}")
        cursor += _step(bucket)
    return lines


def _plan(
    first_ts: datetime, last_ts: datetime, bucket: Bucket
) -> tuple[Bucket, datetime, datetime]:
    """The bucket size and the first and last bucket for items from ``first_ts`` to ``last_ts``:
    an hourly view of more than :data:`MAX_BUCKETS` hours becomes daily, a daily one keeps the
    last :data:`MAX_BUCKETS` days."""
    first, last = _floor(first_ts, bucket), _floor(last_ts, bucket)
    step = _step(bucket)
    if (last - first) / step >= MAX_BUCKETS:
        if bucket == "hour":
            return _plan(first_ts, last_ts, "day")
        first = last - step * (MAX_BUCKETS - 1)
    return bucket, first, last


def histogram(
    items: Iterable[TimelineItem],
    bucket: Bucket = "day",
    *,
    width: int = 40,
    kinds: Sequence[str] = ("event", "action", "note"),
) -> list[str]:
    """Counts per day (or hour) from the first to the last item, empty buckets included.

    Each line is ``label  bar  count``; the bar is scaled to the busiest bucket. An hourly view
    of more than :data:`MAX_BUCKETS` hours falls back to days.
    """
    times = [t for i in items if i.kind in kinds for t in [parse_ts(i.when)] if t is not None]
    if not times:
        return ["(nothing to plot)"]
    bucket, first, last = _plan(min(times), max(times), bucket)
    counts = Counter(_floor(t, bucket) for t in times if t >= first)
    return _lines(first, last, bucket, counts, width)


def histogram_from_counts(
    span: tuple[str, str] | None,
    count: Callable[[Sequence[str]], Sequence[int]],
    bucket: Bucket = "day",
    *,
    width: int = 40,
) -> list[str]:
    """:func:`histogram` from the first and last item's time and a counter of items per time
    range (``count(bounds)[i]``: items with ``bounds[i] <= when < bounds[i + 1]``), so the
    items themselves are never read (the store counts them in SQL)."""
    times = [parse_ts(t) for t in span] if span else []
    first_ts, last_ts = (times[0], times[1]) if len(times) == 2 else (None, None)
    if first_ts is None or last_ts is None:
        return ["(nothing to plot)"]
    bucket, first, last = _plan(first_ts, last_ts, bucket)
    starts = []
    cursor = first
    while cursor <= last:
        starts.append(cursor)
        cursor += _step(bucket)
    bounds = [bucket_bound(s, bucket) for s in [*starts, cursor]]
    counts = Counter(dict(zip(starts, count(bounds), strict=True)))
    return _lines(first, last, bucket, counts, width)
