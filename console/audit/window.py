"""Audit time windows: the incident window, ≤30-day query slices and the events cache key.

Timestamps are parsed and written by :mod:`console.timeutil`; "now" is whatever the caller
passes (the server's clock, :mod:`console.clock`), the local clock only when it passes none.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from console import timeutil
from console.timeutil import parse_ts

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "EVENTS_CACHE_PREFIX",
    "MAX_QUERY_DAYS",
    "events_cache_key",
    "incident_window",
    "window_slices",
]

MAX_QUERY_DAYS = 30
"""GitLab rejects (or clamps; unverified which) audit queries spanning more than 30 days."""


DEFAULT_WINDOW_DAYS = 30
EVENTS_CACHE_PREFIX = "audit:instance"


def incident_window(
    start: datetime | str | None, end: datetime | str | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The incident window as aware datetimes; an open end means now, an open start 30 days back."""
    end_dt = parse_ts(end) or now or timeutil.now()
    start_dt = parse_ts(start) or end_dt - timedelta(days=DEFAULT_WINDOW_DAYS)
    return start_dt, end_dt


def events_cache_key(start: datetime | str | None, end: datetime | str | None) -> str:
    """The store cache key of the instance audit events fetched for an incident window.

    Takes the incident's own bounds: an open end ("until now", the default) keys as ``open``,
    so the events cached last session show at once on resume even though "now" has moved; a
    reload then fetches up to the new now. The audit pane writes it and risk scoring reads it,
    so both must build it here.
    """

    def bound(value: datetime | str | None) -> str:
        when = parse_ts(value)
        return when.isoformat() if when is not None else "open"

    return f"{EVENTS_CACHE_PREFIX}:{bound(start)}:{bound(end)}"


def window_slices(
    start: datetime | str, end: datetime | str, max_days: int = MAX_QUERY_DAYS
) -> list[tuple[datetime, datetime]]:
    """Split [start, end] into consecutive slices of at most ``max_days`` days, newest first.

    Slices share their boundary instant (GitLab's filters are inclusive); duplicates that this
    produces are removed by id when fetching.
    """
    lo, hi = parse_ts(start), parse_ts(end)
    if lo is None or hi is None:
        raise ValueError("window_slices needs a start and an end time")
    if max_days <= 0:
        raise ValueError("max_days must be positive")
    if hi < lo:
        lo, hi = hi, lo
    step = timedelta(days=max_days)
    slices: list[tuple[datetime, datetime]] = []
    cursor = hi
    while True:
        begin = max(lo, cursor - step)
        slices.append((begin, cursor))
        if begin <= lo:
            break
        cursor = begin
    return slices
