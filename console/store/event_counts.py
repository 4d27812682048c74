"""Counting stored audit events without a pass over a million rows.

* Queries that filter only by scope and categories are answered from ``audit_event_counts``
  (events per incident, scope and category mask, kept in the writer's transactions).
* A search alone, when the incident and scope hold every stored event (the usual case: one
  incident, one scope), is counted by the full-text index alone, without reading the rows.
* The per-category counts of a search stop after :data:`COUNT_LIMIT` matching rows; the result
  says so (:attr:`EventCounts.capped`) and every number in it is then a lower bound.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any, Final

from console.store.connection import StoreBase
from console.store.event_rows import EventQuery, fts_query

__all__ = [
    "COUNT_LIMIT",
    "EventCountStore",
    "EventCounts",
    "short_terms_only",
    "summary_only",
]

#: Matching rows read for a search's per-category counts before they are shown as "N+".
COUNT_LIMIT: Final = 20_000
#: Prefix lengths the full-text index keeps a prefix index for (schema v6, ``prefix='1 2 3'``).
_PREFIX_INDEXED: Final = 3


class EventCounts(dict[str, int]):
    """Events per category; ``capped``: counting stopped early, each number is a lower bound."""

    capped: bool = False


def summary_only(q: EventQuery) -> bool:
    """True when ``q`` filters by nothing but scope and categories."""
    return not (
        q.search or q.author or q.ip or q.event_names or q.entity or q.target or q.since
        or q.until or q.user_id is not None
    )  # fmt: skip


def short_terms_only(search: str) -> bool:
    """Every word of a search is at most three characters: each is one prefix-index list, so
    checking one row against it is a seek, not a merge of every term it is a prefix of."""
    words = search.split()
    return bool(words) and all(len(w) <= _PREFIX_INDEXED for w in words)


class EventCountStore(StoreBase):
    """Counts over the stored events (:class:`~console.store.event_queries.EventQueryStore`
    builds on this)."""

    def _known_bits(self) -> dict[str, int]:
        return dict(self._conn().execute("SELECT name, bit FROM audit_category_bits"))

    def _mask_of(self, names: frozenset[str]) -> int:
        bits = self._known_bits()
        mask = 0
        for name in names:
            if name in bits:
                mask |= 1 << bits[name]
        return mask

    def _summary_where(self, incident_id: int, q: EventQuery) -> tuple[str, list[Any]]:
        where = " WHERE incident_id = ?"
        args: list[Any] = [incident_id]
        if q.scope:
            where += " AND scope = ?"
            args.append(q.scope)
        if q.categories:
            where += " AND (cat_mask & ?) != 0"
            args.append(self._mask_of(q.categories))
        return where, args

    def _summary_count(self, incident_id: int, q: EventQuery) -> int:
        where, args = self._summary_where(incident_id, q)
        sql = f"SELECT coalesce(sum(n), 0) FROM audit_event_counts{where}"  # noqa: S608
        return int(self._conn().execute(sql, args).fetchone()[0])

    def _holds_every_event(self, con: sqlite3.Connection, incident_id: int, q: EventQuery) -> bool:
        """The incident (and scope) hold every event in the store: nothing else is indexed."""
        where, args = self._summary_where(incident_id, EventQuery(scope=q.scope))
        mine = con.execute(f"SELECT coalesce(sum(n), 0) FROM audit_event_counts{where}", args)  # noqa: S608
        every = con.execute("SELECT coalesce(sum(n), 0) FROM audit_event_counts")
        return int(mine.fetchone()[0]) == int(every.fetchone()[0])

    def _fast_count(self, incident_id: int, q: EventQuery) -> int | None:
        """The count without reading event rows, when the query allows it (else None)."""
        if summary_only(q):
            return self._summary_count(incident_id, q)
        if q.categories or not summary_only(replace(q, search="")):
            return None
        match = fts_query(q.search)
        if match is None:
            return 0
        con = self._conn()
        if not self._holds_every_event(con, incident_id, q):
            return None
        row = con.execute(
            "SELECT count(*) FROM audit_events_fts WHERE audit_events_fts MATCH ?", (match,)
        )
        return int(row.fetchone()[0])

    def _fast_category_counts(self, incident_id: int, q: EventQuery) -> EventCounts | None:
        """Per-category counts from the summary table, when ``q`` is scope and categories."""
        if not summary_only(q):
            return None
        where, args = self._summary_where(incident_id, replace(q, categories=frozenset()))
        sql = f"SELECT cat_mask, sum(n) FROM audit_event_counts{where} GROUP BY cat_mask"  # noqa: S608
        return self._split_masks(self._conn().execute(sql, args))

    def _split_masks(self, rows: Any) -> EventCounts:
        bits = sorted(self._known_bits().items(), key=lambda item: item[1])
        counts = EventCounts()
        for mask, n in rows:
            for name, bit in bits:
                if mask & (1 << bit):
                    counts[name] = counts.get(name, 0) + int(n)
        return counts
