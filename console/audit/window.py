"""Audit time windows: the incident window, ≤30-day query slices and the events cache key.

The time helpers live with their one user here until the shared time module takes them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "EVENTS_CACHE_PREFIX",
    "MAX_QUERY_DAYS",
    "events_cache_key",
    "incident_window",
    "iso",
    "parse_time",
    "window_slices",
]

MAX_QUERY_DAYS = 30
"""GitLab rejects (or clamps; unverified which) audit queries spanning more than 30 days."""


def parse_time(value: datetime | str | None) -> datetime | None:
    """Parse an ISO 8601 timestamp or date into an aware UTC datetime (naive means UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """UTC ISO 8601 with a Z suffix, as GitLab accepts it."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


DEFAULT_WINDOW_DAYS = 30
EVENTS_CACHE_PREFIX = "audit:instance"


def incident_window(
    start: datetime | str | None, end: datetime | str | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The incident window as aware datetimes; an open end means now, an open start 30 days back."""
    end_dt = parse_time(end) or now or datetime.now(UTC)
    start_dt = parse_time(start) or end_dt - timedelta(days=DEFAULT_WINDOW_DAYS)
    return start_dt, end_dt


def events_cache_key(start: datetime | str | None, end: datetime | str | None) -> str:
    """The store cache key of the instance audit events fetched for an incident window.

    Takes the incident's own bounds: an open end ("until now", the default) keys as ``open``,
    so the events cached last session show at once on resume even though "now" has moved; a
    reload then fetches up to the new now. The audit pane writes it and risk scoring reads it,
    so both must build it here.
    """
    def bound(value: datetime | str | None) -> str:
        when = parse_time(value)
        return when.isoformat() if when is not None else "open"

    return f"{EVENTS_CACHE_PREFIX}:{bound(start)}:{bound(end)}"


def window_slices(
    start: datetime | str, end: datetime | str, max_days: int = MAX_QUERY_DAYS
) -> list[tuple[datetime, datetime]]:
    """Split [start, end] into consecutive slices of at most ``max_days`` days, newest first.

    Slices share their boundary instant (GitLab's filters are inclusive); duplicates that this
    produces are removed by id when fetching.
    """
    lo, hi = parse_time(start), parse_time(end)
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

