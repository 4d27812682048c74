"""Reading stored audit events: filters, FTS5 search, counts and the lazy row-id view.

The pane asks :meth:`EventQueryStore.event_rid_view` for the matching rows of a query: small
results arrive whole, large ones are a sequence whose length is the match count and whose row
ids are read a chunk at a time as the table scrolls (by keyset when scrolling on), so a million
stored events never become a Python list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, overload

import console.store.event_rows as event_rows
from console.store.connection import StoreBase
from console.store.event_rows import EVENT_COLUMNS, EventQuery, fts_query, sql_order
from console.timeutil import window_bound

__all__ = ["EventQueryStore", "EventRids"]


class EventQueryStore(StoreBase):
    """Queries over the stored events (the writer, :class:`~console.store.events.EventStore`,
    builds on this)."""

    def _known_bits(self) -> dict[str, int]:
        return dict(self._conn().execute("SELECT name, bit FROM audit_category_bits"))

    # -- reading -------------------------------------------------------------------------------

    def _event_where(
        self, incident_id: int, q: EventQuery, *, with_categories: bool = True
    ) -> tuple[str, list[Any]]:
        clauses = ["e.incident_id = ?"]
        args: list[Any] = [incident_id]
        if q.scope:
            clauses.append("e.scope = ?")
            args.append(q.scope)
        if with_categories and q.categories:
            bits = self._known_bits()
            mask = 0
            for name in q.categories:
                if name in bits:
                    mask |= 1 << bits[name]
            clauses.append("(e.cat_mask & ?) != 0")
            args.append(mask)
        if q.author:
            author = q.author.strip()
            if author.isdigit():
                clauses.append("e.author_id = ?")
                args.append(int(author))
            else:
                clauses.append("e.author_name = ? COLLATE NOCASE")
                args.append(author.lstrip("@"))
        if q.ip:
            clauses.append("e.ip_address = ?")
            args.append(q.ip.strip())
        if q.event_names:
            clauses.append(f"e.event_name IN ({', '.join('?' * len(q.event_names))})")
            args += sorted(q.event_names)
        if q.entity:
            clauses.append("e.entity_type = ? AND e.entity_id = ?")
            args += [q.entity[0], q.entity[1]]
        if q.target:
            clauses.append("e.target_type = ? AND e.target_id = ?")
            args += [q.target[0], str(q.target[1])]
        if q.since:
            clauses.append("e.created_at >= ?")
            args.append(window_bound(q.since, end=False))
        if q.until:
            clauses.append("e.created_at <= ?")
            args.append(window_bound(q.until, end=True))
        if q.user_id is not None:
            clauses.append("(e.author_id = ? OR (e.target_type = 'User' AND e.target_id = ?))")
            args += [q.user_id, str(q.user_id)]
        match = fts_query(q.search) if q.search else None
        if q.search and match is None:
            clauses.append("0")
        elif match is not None:
            clauses.append(
                "e.rid IN (SELECT rowid FROM audit_events_fts WHERE audit_events_fts MATCH ?)"
            )
            args.append(match)
        return " WHERE " + " AND ".join(clauses), args

    def count_events(self, incident_id: int, q: EventQuery | None = None) -> int:
        where, args = self._event_where(incident_id, q or EventQuery())
        row = self._conn().execute(f"SELECT count(*) FROM audit_events e{where}", args)  # noqa: S608
        return int(row.fetchone()[0])

    def event_rids(
        self, incident_id: int, q: EventQuery | None = None, *, limit: int | None = None
    ) -> list[int]:
        """Row ids of every matching event, newest first (oldest first on request).

        For exports and small sets; the pane uses :meth:`event_rid_view`, which never reads
        more ids than the table shows.
        """
        q = q or EventQuery()
        where, args = self._event_where(incident_id, q)
        # "|| ''" keeps the planner off the time index: filter through the selective index
        # first, then sort what matched.
        sql = (
            f"SELECT e.rid FROM audit_events e{where} "  # noqa: S608
            f"ORDER BY e.created_at || '' {sql_order(q)}, e.id {sql_order(q)}"
        )
        if limit is not None:
            sql += " LIMIT ?"
            args = [*args, limit]
        return [r[0] for r in self._conn().execute(sql, args)]

    def event_rid_view(self, incident_id: int, q: EventQuery | None = None) -> EventRids:
        """A lazy, ordered sequence of the matching row ids (``len`` is the match count)."""
        q = q or EventQuery()
        # Count first (through the most selective index, or the narrow time index that carries
        # the scope and categories): a small result is read whole and sorted; a large one is
        # read a chunk at a time in time order, so a broad filter never sorts every match.
        total = self.count_events(incident_id, q)
        if total <= event_rows.EAGER_LIMIT:
            first = self.event_rids(incident_id, q)
            return EventRids(self, incident_id, q, len(first), first)
        return EventRids(self, incident_id, q, total, None)

    def _rid_chunk(
        self, incident_id: int, q: EventQuery, offset: int, after: tuple[str, int] | None
    ) -> list[tuple[int, str, int]]:
        """``CHUNK`` (rid, created_at, id) rows in time order, from ``after`` or ``offset``."""
        where, args = self._event_where(incident_id, q)
        order = sql_order(q)
        if after is not None:
            cmp = ">" if q.oldest_first else "<"
            where += f" AND (e.created_at, e.id) {cmp} (?, ?)"
            args = [*args, after[0], after[1]]
            offset = 0
        sql = (
            f"SELECT e.rid, e.created_at, e.id FROM audit_events e{where} "  # noqa: S608
            f"ORDER BY e.created_at {order}, e.id {order} LIMIT ? OFFSET ?"
        )
        return list(self._conn().execute(sql, [*args, event_rows.CHUNK, offset]))

    def _rid_position(self, incident_id: int, q: EventQuery, rid: int) -> int | None:
        """The 0-based position of ``rid`` in ``q``'s time order, None if it does not match."""
        where, args = self._event_where(incident_id, q)
        row = (
            self._conn()
            .execute(
                f"SELECT e.created_at, e.id FROM audit_events e{where} AND e.rid = ?",  # noqa: S608
                [*args, rid],
            )
            .fetchone()
        )
        if row is None:
            return None
        cmp = "<" if q.oldest_first else ">"
        sql = (
            f"SELECT count(*) FROM audit_events e{where} "  # noqa: S608
            f"AND (e.created_at, e.id) {cmp} (?, ?)"
        )
        return int(self._conn().execute(sql, [*args, row[0], row[1]]).fetchone()[0])

    def events_by_rids(self, incident_id: int, rids: Sequence[int]) -> list[dict[str, Any]]:
        """The events for ``rids`` in the order given (unknown ids are skipped)."""
        if not rids:
            return []
        found: dict[int, dict[str, Any]] = {}
        bits = sorted(self._known_bits().items(), key=lambda item: item[1])
        cols = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
        con = self._conn()
        for i in range(0, len(rids), 500):
            chunk = list(rids[i : i + 500])
            sql = (
                f"SELECT e.incident_id, {cols} FROM audit_events e "  # noqa: S608
                f"WHERE e.rid IN ({', '.join('?' * len(chunk))})"
            )
            for owner, *row in con.execute(sql, chunk):
                if owner != incident_id:
                    continue
                record = dict(zip(EVENT_COLUMNS, row, strict=True))
                mask = record.pop("cat_mask")
                record["categories"] = tuple(n for n, b in bits if mask & (1 << b))
                record["details"] = json.loads(record["details"] or "{}")
                found[record["rid"]] = record
        return [found[r] for r in rids if r in found]

    def event_category_counts(
        self, incident_id: int, q: EventQuery | None = None
    ) -> dict[str, int]:
        """Events per category for ``q`` with its category filter left out (for the bar).

        An event counts under each category it belongs to; one pass answers them all.
        """
        bits = sorted(self._known_bits().items(), key=lambda item: item[1])
        if not bits:
            return {}
        where, args = self._event_where(incident_id, q or EventQuery(), with_categories=False)
        # A few distinct masks: group by mask in SQL (one narrow index pass), split in Python.
        sql = f"SELECT e.cat_mask, count(*) FROM audit_events e{where} GROUP BY e.cat_mask"  # noqa: S608
        counts: dict[str, int] = {}
        for mask, n in self._conn().execute(sql, args):
            for name, bit in bits:
                if mask & (1 << bit):
                    counts[name] = counts.get(name, 0) + int(n)
        return counts

    def event_ips(self, incident_id: int, q: EventQuery | None = None) -> dict[str, int]:
        """Distinct source IPs of the matching events with their counts, most used first."""
        where, args = self._event_where(incident_id, q or EventQuery())
        sql = (
            f"SELECT e.ip_address, count(*) FROM audit_events e{where} "  # noqa: S608
            "AND e.ip_address != '' GROUP BY e.ip_address ORDER BY 2 DESC"
        )
        return {str(ip): int(n) for ip, n in self._conn().execute(sql, args)}

    def event_authors(self, incident_id: int, q: EventQuery | None = None) -> dict[int, int]:
        """Distinct author ids of the matching events with their counts, most active first."""
        where, args = self._event_where(incident_id, q or EventQuery())
        sql = (
            f"SELECT e.author_id, count(*) FROM audit_events e{where} "  # noqa: S608
            "AND e.author_id IS NOT NULL GROUP BY e.author_id ORDER BY 2 DESC"
        )
        return {int(a): int(n) for a, n in self._conn().execute(sql, args)}


class EventRids(Sequence[int]):
    """Matching row ids read on demand, a chunk at a time, in the query's time order.

    Scrolling down continues from the previous chunk's last (time, id) (keyset, cheap at any
    depth); a jump reads its chunk by offset. Small result sets arrive whole (``eager``).
    """

    def __init__(
        self,
        store: EventQueryStore,
        incident_id: int,
        q: EventQuery,
        total: int,
        eager: list[int] | None,
    ) -> None:
        self._store = store
        self._incident = incident_id
        self._q = q
        self._total = total
        self._eager = eager
        self._chunks: dict[int, list[tuple[int, str, int]]] = {}
        self._located: dict[int, int] = {}

    def __len__(self) -> int:
        return self._total if self._eager is None else len(self._eager)

    def _chunk(self, n: int) -> list[tuple[int, str, int]]:
        chunk = self._chunks.get(n)
        if chunk is None:
            prev = self._chunks.get(n - 1)
            after = (prev[-1][1], prev[-1][2]) if prev and len(prev) == event_rows.CHUNK else None
            chunk = self._store._rid_chunk(self._incident, self._q, n * event_rows.CHUNK, after)
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
                        found = n * event_rows.CHUNK + offset
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
        chunk = self._chunk(index // event_rows.CHUNK)
        offset = index % event_rows.CHUNK
        if offset >= len(chunk):  # rows removed since the count: report the gap plainly
            raise IndexError(index)
        return chunk[offset][0]
