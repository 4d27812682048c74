"""The review flags a credential row carries, from its dates, scopes and state, and the incident
window they are read against. Plain words, most urgent first; the row builders in ``rows.py``
attach them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from console.timeutil import parse_ts

__all__ = ["ADMIN_SCOPES", "UNUSED_DAYS", "credential_flags", "in_window", "parse_window"]

ADMIN_SCOPES = frozenset({"sudo", "admin_mode"})
UNUSED_DAYS = 90


def in_window(value: str | None, window: tuple[datetime, datetime] | None) -> bool:
    """``value`` (an ISO time) falls inside ``window`` (no window: never)."""
    when = parse_ts(value)
    return window is not None and when is not None and window[0] <= when <= window[1]


def credential_flags(
    *,
    kind: str,
    created_at: str | None,
    last_used_at: str | None,
    expires_at: str | None,
    scopes: Sequence[str],
    state: str,
    window: tuple[datetime, datetime] | None,
    now: datetime,
    expiry_applies: bool,
    tracks_use: bool,
    protected: bool | None = None,
) -> list[str]:
    """The review flags that apply to one credential (plain words, most urgent first)."""
    flags: list[str] = []
    live = state in ("active", "online", "offline", "paused", "stale", "never_contacted", "")
    if ADMIN_SCOPES & set(scopes):
        flags.append("admin scope")
    elif "api" in scopes:
        flags.append("api scope")
    if in_window(created_at, window):
        flags.append("created in incident window")
    if tracks_use and in_window(last_used_at, window):
        flags.append("used in incident window")
    if expiry_applies and live and not expires_at:
        flags.append("never expires")
    if tracks_use and live:
        used = parse_ts(last_used_at)
        if used is None:
            flags.append("never used")
        elif now - used >= timedelta(days=UNUSED_DAYS):
            flags.append(f"unused {UNUSED_DAYS}+ days")
    if protected:
        flags.append("protected variable")
    if kind == "impersonation":
        flags.append("impersonation")
    return flags


def parse_window(
    window: tuple[datetime | str, datetime | str] | None,
) -> tuple[datetime, datetime] | None:
    if window is None:
        return None
    lo, hi = parse_ts(window[0]), parse_ts(window[1])
    if lo is None or hi is None:
        return None
    return (lo, hi) if lo <= hi else (hi, lo)
