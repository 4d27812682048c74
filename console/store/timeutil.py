"""Timestamps as the store keeps them: UTC ISO-8601 strings that compare correctly as text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

__all__ = ["normalize_ts", "utc_now", "window_bound"]


def utc_now() -> str:
    """The current time as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_CANONICAL_TS: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")
_UTC_TS: Final = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(?:Z|z|\+00:00|\+0000)\Z", re.ASCII
)


def normalize_ts(value: object) -> str | None:
    """ISO-8601 → ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, so that timestamps compare as strings.

    Dates (``YYYY-MM-DD``) are kept as they are; anything unparseable is returned unchanged
    (as a string) rather than lost.  ``None``/``""`` → ``None``.
    """
    if value is None or value == "":
        return None
    s = str(value)
    if _CANONICAL_TS.match(s):
        return s
    m = _UTC_TS.match(s)
    if m:
        return f"{m[1]}.{(m[2] or '')[1:4].ljust(3, '0')}Z"
    if len(s) == 10 and s[4:5] == "-" and s[7:8] == "-":
        return s
    try:
        dt = datetime.fromisoformat(s.replace("z", "Z"))
    except ValueError:
        return s
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def window_bound(value: object, *, end: bool) -> str | None:
    """Like :func:`normalize_ts`, but a bare date becomes the start or the end of that UTC day."""
    ts = normalize_ts(value)
    if ts is not None and len(ts) == 10:
        return ts + ("T23:59:59.999Z" if end else "T00:00:00.000Z")
    return ts
