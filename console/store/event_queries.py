"""Reading stored audit events: filters, FTS5 search, counts and the lazy row-id view.

The pane asks :meth:`EventQueryStore.event_rid_view` for the matching rows of a query: small
results arrive whole, large ones are a sequence whose length is the match count and whose row
ids are read a chunk at a time as the table scrolls (by keyset when scrolling on), so a million
stored events never become a Python list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, Final, Literal

import console.store.event_rows as event_rows
from console.store.event_counts import (
    COUNT_LIMIT,
    EventCounts,
    EventCountStore,
    short_terms_only,
    summary_only,
)
from console.store.event_rids import EventRids
from console.store.event_rows import EVENT_COLUMNS, EventQuery, fts_query, sql_order
from console.store.one_step import one_step_rows
from console.timeutil import window_bound

__all__ = ["EventQueryStore", "EventRids"]

#: How a search narrows the rows: ``in``: the matching row ids are read from the index first
#: (a few matches); ``probe``: each row, in time order, is checked against the index (most rows
#: match a short search: the first screen needs a few hundred checks, not a million ids);
#: ``join``: the caller reads from the index and joins the rows (stops at a LIMIT).
SearchMode = Literal["in", "probe", "join"]
#: Every match of a search, read from the full-text index and joined to its row.
_FROM_INDEX: Final = (
    " FROM audit_events_fts CROSS JOIN audit_events e ON e.rid = audit_events_fts.rowid"
)
#: A short search is checked row by row when at least this share of the rows match.
PROBE_DENSITY: Final = 0.5


class EventQueryStore(EventCountStore):
    """Queries over the stored events (the writer, :class:`~console.store.events.EventStore`,
    builds on this)."""

    # -- reading -------------------------------------------------------------------------------

    def _event_where(
        self,
        incident_id: int,
        q: EventQuery,
        *,
        with_categories: bool = True,
        search: SearchMode = "in",
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
        # The literal `!= 'User'` lets SQLite use the partial indexes (schema v7).
        if q.entity:
            clauses.append("e.entity_type = ? AND e.entity_id = ?")
            args += [q.entity[0], q.entity[1]]
            if q.entity[0] != "User":
                clauses.append("e.entity_type != 'User'")
        if q.target:
            clauses.append("e.target_type = ? AND e.target_id = ?")
            args += [q.target[0], str(q.target[1])]
            if q.target[0] != "User":
                clauses.append("e.target_type != 'User'")
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
                {
                    "in": "e.rid IN (SELECT rowid FROM audit_events_fts "
                    "WHERE audit_events_fts MATCH ?)",
                    "probe": "EXISTS (SELECT 1 FROM audit_events_fts "
                    "WHERE audit_events_fts MATCH ? AND rowid = e.rid)",
                    "join": "audit_events_fts MATCH ?",
                }[search]
            )
            args.append(match)
        return " WHERE " + " AND ".join(clauses), args

    def count_events(self, incident_id: int, q: EventQuery | None = None) -> int:
        q = q or EventQuery()
        fast = self._fast_count(incident_id, q)
        if fast is not None:
            return fast
        source, args = self._matches(incident_id, q)
        row = self._conn().execute(f"SELECT count(*){source}", args)
        return int(row.fetchone()[0])

    def _matches(self, incident_id: int, q: EventQuery) -> tuple[str, list[Any]]:
        """``FROM … WHERE …`` for reading every match of ``q``.

        A search narrowed by nothing but scope and categories is read from the full-text index,
        each match joined to its row (``CROSS JOIN`` keeps that order): left to itself the
        planner walked the whole incident's time index testing each row against the list of
        matches, 0.2–0.4 s at a million events for a search that matches 373.
        """
        if q.search and summary_only(replace(q, search="")) and fts_query(q.search):
            where, args = self._event_where(incident_id, q, search="join")
            return _FROM_INDEX + where, args
        where, args = self._event_where(incident_id, q)
        return " FROM audit_events e" + where, args

    def event_rids(
        self, incident_id: int, q: EventQuery | None = None, *, limit: int | None = None
    ) -> list[int]:
        """Row ids of every matching event, newest first (oldest first on request).

        For exports and small sets; the pane uses :meth:`event_rid_view`, which never reads
        more ids than the table shows.
        """
        q = q or EventQuery()
        source, args = self._matches(incident_id, q)
        # "|| ''" keeps the planner off the time index: filter through the selective index
        # first, then sort what matched.
        sql = (
            f"SELECT e.rid{source} "
            f"ORDER BY e.created_at || '' {sql_order(q)}, e.id {sql_order(q)}, "
            f"e.scope {sql_order(q)}"
        )
        if limit is not None:
            sql += " LIMIT ?"
            args = [*args, limit]
        return [r[0] for r in self._conn().execute(sql, args)]

    def event_rid_view(self, incident_id: int, q: EventQuery | None = None) -> EventRids:
        """A lazy, ordered sequence of the matching row ids (``len`` is the match count)."""
        q = q or EventQuery()
        # Count first (from the summary counts or the full-text index when they can answer):
        # a small result is read whole and sorted; a large one is read a chunk at a time in
        # time order, so a broad filter never sorts every match. Without a cheap count, the
        # matches are read unsorted up to the eager limit: one pass answers a small result.
        total = self._fast_count(incident_id, q)
        if total is None:
            first = self._eager_rids(incident_id, q)
            if first is not None:
                return EventRids(self, incident_id, q, len(first), first)
            total = self.count_events(incident_id, q)
        elif total <= event_rows.EAGER_LIMIT:
            first = self.event_rids(incident_id, q)
            return EventRids(self, incident_id, q, len(first), first)
        if q.search and short_terms_only(q.search):
            rows = self._summary_count(incident_id, EventQuery(scope=q.scope))
            if total >= PROBE_DENSITY * rows:
                return EventRids(self, incident_id, q, total, None, probe=True)
        return EventRids(self, incident_id, q, total, None)

    def _eager_rids(self, incident_id: int, q: EventQuery) -> list[int] | None:
        """Every match in time order if there are at most ``EAGER_LIMIT`` (else None)."""
        source, args = self._matches(incident_id, q)
        sql = f"SELECT e.rid, e.created_at, e.id, e.scope{source} LIMIT ?"
        rows = self._conn().execute(sql, [*args, event_rows.EAGER_LIMIT + 1]).fetchall()
        if len(rows) > event_rows.EAGER_LIMIT:
            return None
        # SQLite compares text by its UTF-8 bytes, Python by code points: the same order.
        rows.sort(key=lambda r: (r[1], r[2], r[3]), reverse=not q.oldest_first)
        return [r[0] for r in rows]

    def _rid_chunk(
        self,
        incident_id: int,
        q: EventQuery,
        offset: int,
        after: tuple[str, int, str] | None,
        *,
        size: int | None = None,
        probe: bool = False,
    ) -> list[tuple[int, str, int, str]]:
        """``size`` (rid, created_at, id, scope) rows in time order (the same id in two scopes
        is two events), from ``after`` or ``offset``."""
        where, args = self._event_where(incident_id, q, search="probe" if probe else "in")
        order = sql_order(q)
        if after is not None:
            cmp = ">" if q.oldest_first else "<"
            where += f" AND (e.created_at, e.id, e.scope) {cmp} (?, ?, ?)"
            args = [*args, *after]
            offset = 0
        sql = (
            f"SELECT e.rid, e.created_at, e.id, e.scope FROM audit_events e{where} "  # noqa: S608
            f"ORDER BY e.created_at {order}, e.id {order}, e.scope {order} LIMIT ? OFFSET ?"
        )
        size = event_rows.CHUNK if size is None else size
        return list(self._conn().execute(sql, [*args, size, offset]))

    def _rid_position(self, incident_id: int, q: EventQuery, rid: int) -> int | None:
        """The 0-based position of ``rid`` in ``q``'s time order, None if it does not match."""
        where, args = self._event_where(incident_id, q)
        row = (
            self._conn()
            .execute(
                f"SELECT e.created_at, e.id, e.scope FROM audit_events e{where} AND e.rid = ?",  # noqa: S608
                [*args, rid],
            )
            .fetchone()
        )
        if row is None:
            return None
        cmp = "<" if q.oldest_first else ">"
        sql = (
            f"SELECT count(*) FROM audit_events e{where} "  # noqa: S608
            f"AND (e.created_at, e.id, e.scope) {cmp} (?, ?, ?)"
        )
        return int(self._conn().execute(sql, [*args, *row]).fetchone()[0])

    def events_by_rids(self, incident_id: int, rids: Sequence[int]) -> list[dict[str, Any]]:
        """The events for ``rids`` in the order given (unknown ids are skipped)."""
        if not rids:
            return []
        found: dict[int, dict[str, Any]] = {}
        bits = sorted(self._known_bits().items(), key=lambda item: item[1])
        cols = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
        con = self._conn()
        for i in range(0, len(rids), 500):  # one step per 500 (the pane reads on its UI thread)
            chunk = list(rids[i : i + 500])
            rest = f"FROM audit_events e WHERE e.rid IN ({', '.join('?' * len(chunk))})"
            for owner, *row in one_step_rows(con, f"e.incident_id, {cols}", rest, chunk):
                if owner != incident_id:
                    continue
                record = dict(zip(EVENT_COLUMNS, row, strict=True))
                mask = record.pop("cat_mask")
                record["categories"] = tuple(n for n, b in bits if mask & (1 << b))
                record["details"] = json.loads(record["details"] or "{}")
                found[record["rid"]] = record
        return [found[r] for r in rids if r in found]

    def iter_events(
        self,
        incident_id: int,
        q: EventQuery | None = None,
        *,
        or_event_names: frozenset[str] = frozenset(),
        batch: int = 5_000,
    ) -> Iterator[dict[str, Any]]:
        """Every event matching ``q``, oldest row first (row-id order), read ``batch`` at a time.

        ``or_event_names``: an event with one of these names matches too when ``q``'s category
        filter leaves it out. Only ``batch`` events are ever held here, so a reader that folds
        them (risk scoring) stays flat whatever the number stored.
        """
        q = q or EventQuery()
        where, args = self._event_where(incident_id, q, with_categories=False)
        if q.categories:
            bits = self._known_bits()
            mask = 0
            for name in q.categories:
                if name in bits:
                    mask |= 1 << bits[name]
            either = "(e.cat_mask & ?) != 0"
            args = [*args, mask]
            if or_event_names:
                either += f" OR e.event_name IN ({', '.join('?' * len(or_event_names))})"
                args += sorted(or_event_names)
            where += f" AND ({either})"
        # NOT INDEXED: walk the table in row-id order from ``after`` (each batch goes on where
        # the last stopped); through the time index every batch sorted every match again
        # (0.9 s against 0.07 s for 103,000 events, and quadratic in the number stored).
        sql = (
            f"SELECT e.rid FROM audit_events e NOT INDEXED{where} "  # noqa: S608
            "AND e.rid > ? ORDER BY e.rid LIMIT ?"
        )
        after = -(2**63)  # the smallest row id SQLite has
        while True:
            rids = [r[0] for r in self._conn().execute(sql, [*args, after, batch])]
            if not rids:
                return
            yield from self.events_by_rids(incident_id, rids)
            if len(rids) < batch:
                return
            after = rids[-1]

    def event_category_counts(self, incident_id: int, q: EventQuery | None = None) -> EventCounts:
        """Events per category for ``q`` with its category filter left out (for the bar).

        An event counts under each category it belongs to; one pass answers them all. Scope
        and categories alone are read from the summary counts; a search reads at most
        :data:`~console.store.event_counts.COUNT_LIMIT` matches (``capped`` says it stopped).
        """
        q = q or EventQuery()
        fast = self._fast_category_counts(incident_id, q)
        if fast is not None:
            return fast
        if q.search and fts_query(q.search) is not None:
            # Read the matches from the index, joining their rows, up to the limit.
            where, args = self._event_where(incident_id, q, with_categories=False, search="join")
            sql = (
                "SELECT cat_mask, count(*) FROM (SELECT e.cat_mask AS cat_mask "  # noqa: S608
                f"{_FROM_INDEX}{where} LIMIT ?) GROUP BY cat_mask"
            )
            rows = list(self._conn().execute(sql, [*args, COUNT_LIMIT]))
            counts = self._split_masks(rows)
            counts.capped = sum(int(n) for _, n in rows) >= COUNT_LIMIT
            return counts
        where, args = self._event_where(incident_id, q, with_categories=False)
        # A few distinct masks: group by mask in SQL (one narrow index pass), split in Python.
        sql = f"SELECT e.cat_mask, count(*) FROM audit_events e{where} GROUP BY e.cat_mask"  # noqa: S608
        return self._split_masks(self._conn().execute(sql, args))

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
