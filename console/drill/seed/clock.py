"""Timestamps relative to the seed's anchor ``now``, formatted fast (the bulk seed's hot path)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

_TIMES: list[str] = []


def _clock_table() -> list[str]:
    """``HH:MM:SS.000Z`` for every second of a day, built once (formatting is the hot path)."""
    if not _TIMES:
        _TIMES.extend(
            f"{h:02d}:{m:02d}:{s:02d}.000Z" for h in range(24) for m in range(60) for s in range(60)
        )
    return _TIMES


class Clock:
    """Fast timestamp formatting relative to the anchor ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.now_epoch = int(now.timestamp())
        self._days: dict[int, str] = {}

    def at(self, days_ago: float) -> str:
        return self.fmt(self.now_epoch - int(days_ago * 86400))

    def fmt(self, epoch: int) -> str:
        day, sec = divmod(epoch, 86400)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
            self._days[day] = prefix
        return prefix + _clock_table()[sec]

    def date(self, days_ago: float) -> str:
        return self.at(days_ago)[:10]

    def future_date(self, days: int) -> str:
        return (self.now + timedelta(days=days)).date().isoformat()
