"""The lazy row-id view of a query's matches: what the audit pane's table scrolls through.

``len`` is the match count; row ids are read a chunk at a time in the query's time order as the
table asks for them (by keyset when scrolling on, by offset for a jump), so a million stored
events never become a Python list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Protocol, overload

import console.store.event_rows as event_rows
from console.store.event_rows import EventQuery

__all__ = ["PROBE_CHUNK", "PROBE_LOCATE_CHUNKS", "ChunkReader", "EventRids"]

#: Rows per chunk of a probed search (the first screen waits for one chunk).
PROBE_CHUNK: Final = 200
#: Chunks of a probed search :meth:`EventRids.locate` looks through for the cursor's row.
PROBE_LOCATE_CHUNKS: Final = 5


class ChunkReader(Protocol):
    """What the view reads through (:class:`~console.store.event_queries.EventQueryStore`)."""

    def _rid_chunk(
        self,
        incident_id: int,
        q: EventQuery,
        offset: int,
        after: tuple[str, int, str] | None,
        *,
        size: int | None = None,
        probe: bool = False,
    ) -> list[tuple[int, str, int, str]]: ...

    def _rid_position(self, incident_id: int, q: EventQuery, rid: int) -> int | None: ...


class EventRids(Sequence[int]):
    """Matching row ids read on demand, a chunk at a time, in the query's time order.

    Scrolling down continues from the previous chunk's last (time, id) (keyset, cheap at any
    depth); a jump reads its chunk by offset. Small result sets arrive whole (``eager``).
    """

    def __init__(
        self,
        store: ChunkReader,
        incident_id: int,
        q: EventQuery,
        total: int,
        eager: list[int] | None,
        *,
        probe: bool = False,
    ) -> None:
        self._store = store
        self._probe = probe
        self._size = PROBE_CHUNK if probe else event_rows.CHUNK
        self._incident = incident_id
        self._q = q
        self._total = total
        self._eager = eager
        self._chunks: dict[int, list[tuple[int, str, int, str]]] = {}
        self._located: dict[int, int] = {}

    def __len__(self) -> int:
        return self._total if self._eager is None else len(self._eager)

    def _chunk(self, n: int) -> list[tuple[int, str, int, str]]:
        chunk = self._chunks.get(n)
        if chunk is None:
            prev = self._chunks.get(n - 1)
            after = prev[-1][1:] if prev and len(prev) == self._size else None
            chunk = self._store._rid_chunk(
                self._incident, self._q, n * self._size, after, size=self._size, probe=self._probe
            )
            if len(self._chunks) > 64:  # bound memory: keep the most recent chunks
                self._chunks.pop(next(iter(self._chunks)))
            self._chunks[n] = chunk
        return chunk

    def locate(self, rid: int) -> int | None:
        """Where ``rid`` is in this result (one indexed count; blocking: call from a worker).

        Remembered, so :meth:`index` on the UI thread answers without reading the store.
        """
        if self._eager is not None:
            return self._eager.index(rid) if rid in self._eager else None
        if self._probe:
            # Counting the matches before a row would check every row before it against the
            # index: look in the first chunks only (the cursor goes to the top otherwise).
            for n in range(min(PROBE_LOCATE_CHUNKS, -(-len(self) // self._size))):
                for offset, row in enumerate(self._chunk(n)):
                    if row[0] == rid:
                        self._located[rid] = n * self._size + offset
                        return n * self._size + offset
            return None
        position = self._store._rid_position(self._incident, self._q, rid)
        if position is not None:
            self._located[rid] = position
        return position

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        """The position of ``value`` among what is already known: the eager list, the chunks
        read so far and :meth:`locate`'s answers. Never reads the store (the table calls it on
        the UI thread), so a row not yet known raises ``ValueError`` like an absent one."""
        if self._eager is not None:
            return self._eager.index(value, start, *(() if stop is None else (stop,)))
        found = self._located.get(value)
        if found is None:
            for n, chunk in self._chunks.items():
                for offset, row in enumerate(chunk):
                    if row[0] == value:
                        found = n * self._size + offset
                        break
                if found is not None:
                    break
        if found is None or found < start or (stop is not None and found >= stop):
            raise ValueError(value)
        return found

    def __contains__(self, value: object) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if self._eager is not None:
            return self._eager[index]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        chunk = self._chunk(index // self._size)
        offset = index % self._size
        if offset >= len(chunk):  # rows removed since the count: report the gap plainly
            raise IndexError(index)
        return chunk[offset][0]
