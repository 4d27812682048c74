"""GitLab's JSON timestamp form for the drill (kept inside the drill: it imports no console code).

A leaf module so that the state (which stamps objects) and the web layer (which serialises
them) both use it without importing each other.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso"]


def iso(dt: datetime | None) -> str | None:
    """GitLab's JSON timestamp form: ``2025-05-02T10:00:00.000Z`` (UTC, milliseconds)."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
