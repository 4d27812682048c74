"""The timeline's row keys as a lazy sequence: ``len`` is the item count, keys are read a
window at a time as the table scrolls.

Scrolling on continues from the previous window's last position (keyset); a jump reads its
window by offset from the nearer end (``G`` reads the newest items, never the whole timeline).
At most :data:`MAX_WINDOWS` windows are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, overload

from console.store.timeline_queries import TimelineKey, TimelinePos, TimelineQuery

if TYPE_CHECKING:
    from console.store.timeline_queries import TimelineQueryStore

__all__ = ["WINDOW", "TimelineKeys"]

WINDOW: Final = 500
MAX_WINDOWS: Final = 32


class TimelineKeys(Sequence[TimelineKey]):
    """The keys of ``q``'s items, oldest first; ``total`` is their count (counted once)."""

    def __init__(
        self, store: TimelineQueryStore, incident_id: int, q: TimelineQuery, total: int
    ) -> None:
        self._store = store
        self._incident = incident_id
        self._q = q
        self._total = total
        self._windows: dict[int, list[tuple[TimelinePos, TimelineKey]]] = {}
        self.reads = 0
        """How many windows were read from the store (tests and measurements read it)."""

    @property
    def query(self) -> TimelineQuery:
        return self._q

    def __len__(self) -> int:
        return self._total

    def _window(self, n: int) -> list[tuple[TimelinePos, TimelineKey]]:
        found = self._windows.get(n)
        if found is not None:
            return found
        start = n * WINDOW
        end = min(self._total, start + WINDOW)
        prev = self._windows.get(n - 1)
        self.reads += 1
        if prev is not None and len(prev) == WINDOW:
            rows = self._store.timeline_window(
                self._incident, self._q, limit=WINDOW, after=prev[-1][0]
            )
        elif start > self._total - end:  # nearer the end: count from there
            rows = self._store.timeline_window(
                self._incident,
                self._q,
                limit=end - start,
                offset=self._total - end,
                descending=True,
            )
            rows.reverse()
        else:
            rows = self._store.timeline_window(self._incident, self._q, limit=WINDOW, offset=start)
        if len(self._windows) >= MAX_WINDOWS:
            self._windows.pop(next(iter(self._windows)))
        self._windows[n] = rows
        return rows

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        """The position of ``value`` among the windows already read (never reads the store: the
        table calls it on the UI thread); a key not read yet raises ``ValueError``."""
        for n, rows in self._windows.items():
            for offset, (_, key) in enumerate(rows):
                if key == value:
                    found = n * WINDOW + offset
                    if found >= start and (stop is None or found < stop):
                        return found
        raise ValueError(value)

    def __contains__(self, value: object) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    @overload
    def __getitem__(self, index: int) -> TimelineKey: ...
    @overload
    def __getitem__(self, index: slice) -> list[TimelineKey]: ...
    def __getitem__(self, index: int | slice) -> TimelineKey | list[TimelineKey]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        rows = self._window(index // WINDOW)
        offset = index % WINDOW
        if offset >= len(rows):  # items removed since the count
            raise IndexError(index)
        return rows[offset][1]
