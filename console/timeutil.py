"""The one time module: GitLab's ISO-8601 timestamps in, aware UTC datetimes and ``…Z`` text out.

Built on :meth:`datetime.fromisoformat`, which accepts ``Z``, offsets, fractions of any length
and bare dates since Python 3.11, so no module writes its own timestamp parser.  The store keeps
timestamps as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` text (:func:`normalize_ts`), which sorts and compares
correctly as a string. HTTP dates (``Date``, ``Retry-After``) are read by :func:`parse_http_date`.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, date, datetime
from typing import Final, Literal

__all__ = [
    "format_iso",
    "from_epoch",
    "minute_text",
    "normalize_ts",
    "now",
    "parse_date",
    "parse_http_date",
    "parse_ts",
    "to_epoch",
    "utc_now",
    "window_bound",
]

Timespec = Literal["seconds", "milliseconds", "microseconds"]


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def format_iso(moment: datetime, timespec: Timespec = "milliseconds") -> str:
    """``moment`` in UTC as ISO-8601 with a ``Z`` (a naive datetime is taken to be UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_now() -> str:
    """The current time as the store keeps it: ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return format_iso(now())


def parse_ts(value: object) -> datetime | None:
    """An ISO-8601 timestamp or date (as GitLab sends them) as an aware UTC datetime.

    A naive time is UTC, a bare date is midnight UTC; ``None``, ``""`` and anything unparseable
    give ``None`` (one odd field never aborts a load).
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().upper())
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_http_date(value: object) -> datetime | None:
    """An HTTP date (``Wed, 21 Oct 2015 07:28:00 GMT``, RFC 9110) as an aware UTC datetime.

    ``None`` for anything else (a missing header, seconds, garbage).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: object) -> date | None:
    """The calendar date at the start of an ISO-8601 date or timestamp (``expires_at``…)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def from_epoch(seconds: float) -> datetime:
    """Seconds since the Unix epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def to_epoch(moment: datetime) -> float:
    """An (aware, or naive UTC) datetime as seconds since the Unix epoch."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


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
    m = _UTC_TS.match(s)  # the common case, without building a datetime
    if m:
        return f"{m[1]}.{(m[2] or '')[1:4].ljust(3, '0')}Z"
    if len(s) == 10 and s[4:5] == "-" and s[7:8] == "-":
        return s
    parsed = parse_ts(s)
    return format_iso(parsed) if parsed is not None else s


def window_bound(value: object, *, end: bool) -> str | None:
    """Like :func:`normalize_ts`, but a bare date becomes the start or the end of that UTC day."""
    ts = normalize_ts(value)
    if ts is not None and len(ts) == 10:
        return ts + ("T23:59:59.999Z" if end else "T00:00:00.000Z")
    return ts


def minute_text(value: object) -> str | None:
    """``2024-05-20T10:00:44.000Z`` → ``2024-05-20 10:00`` (UTC) for screens; None if unreadable."""
    parsed = parse_ts(value)
    return parsed.strftime("%Y-%m-%d %H:%M") if parsed is not None else None
