"""Audit events in SQLite: one row per event per incident and scope, indexed for the pivots a
responder makes (time, author, IP, event name, category, entity, target) and searchable through
an FTS5 index over the text columns and the details.

The audit pane reads ``event_rids`` (ordered row ids for a query) and then only the rows on
screen through ``events_by_rids``, the way the users pane reads the users cache: a million
stored events never become a Python list of records.

Fetched time windows are recorded per scope, so a resumed or widened incident window fetches
only what is missing, and a refresh only what is newer than the newest stored event.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, overload

from console.store.connection import StoreBase
from console.store.errors import StoreError
from console.store.values import dbstr, dumps
from console.timeutil import format_iso, normalize_ts, parse_ts, utc_now, window_bound

__all__ = ["EVENT_COLUMNS", "EventQuery", "EventRids", "EventStore", "fts_query"]

#: Columns of a stored event, in the order :meth:`EventStore.events_by_rids` returns them.
EVENT_COLUMNS: Final = (
    "rid",
    "scope",
    "id",
    "created_at",
    "author_id",
    "author_name",
    "entity_type",
    "entity_id",
    "entity_path",
    "event_name",
    "category",
    "cat_mask",
    "target_type",
    "target_id",
    "target_details",
    "ip_address",
    "summary",
    "details",
)

_INSERT: Final = (
    "INSERT INTO audit_events (incident_id, scope, id, created_at, author_id, author_name, "
    "entity_type, entity_id, entity_path, event_name, category, cat_mask, target_type, "
    "target_id, target_details, ip_address, summary, details) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (incident_id, scope, id) DO NOTHING"
)
_SQLITE_INT_MAX: Final = 2**63 - 1
#: Longest search term handed to FTS5 (a pasted blob is searched by its first part).
_MAX_TERM: Final = 200
_TOKEN: Final = re.compile(r"\S+")
_MAX_BIT: Final = 62
_CATEGORY: Final = re.compile(r"[A-Za-z0-9_]{1,40}\Z")
#: Rows written between ``PRAGMA optimize`` runs (keeps the planner's statistics current).
_ANALYZE_EVERY: Final = 50_000
#: Result sets up to this size are read whole through their most selective index and sorted;
#: larger ones are read a chunk at a time in time order as the table scrolls.
EAGER_LIMIT: Final = 20_000
CHUNK: Final = 1_000


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Which events to show. Every field narrows; empty fields do not filter."""

    search: str = ""
    categories: frozenset[str] = frozenset()
    scope: str | None = None
    #: the author's numeric id, or a name matched case-insensitively
    author: str | None = None
    ip: str | None = None
    event_names: frozenset[str] = frozenset()
    #: ("Group", 12): events whose entity is that object
    entity: tuple[str, int] | None = None
    #: ("PersonalAccessToken", "55"): events whose target is that object
    target: tuple[str, str] | None = None
    since: str | None = None
    until: str | None = None
    #: events a user authored or that targeted the user
    user_id: int | None = None
    oldest_first: bool = False


def fts_query(text: str) -> str | None:
    """A user's search text as an FTS5 query: every word must match as a prefix.

    Each word is quoted (FTS5 syntax in the input is never interpreted, so a ``"`` or ``NEAR``
    typed or pasted is just text) and gets a prefix ``*``. None when nothing is left.
    """
    terms = []
    for word in _TOKEN.findall(text[: _MAX_TERM * 4]):
        word = word[:_MAX_TERM].replace('"', '""')
        if any(ch.isalnum() for ch in word):
            terms.append(f'"{word}"*')
    return " ".join(terms) if terms else None


def _as_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        else:
            return None
    return value if -_SQLITE_INT_MAX <= value <= _SQLITE_INT_MAX else None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return dbstr(value) or ""
    if isinstance(value, int | float | bool):
        return str(value)
    return dbstr(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)) or ""


def _categories(event: Mapping[str, Any]) -> list[str]:
    value = event.get("categories") or ()
    if isinstance(value, str):
        value = (value,)
    names = [c for c in value if isinstance(c, str) and _CATEGORY.match(c)]
    primary = event.get("category")
    if isinstance(primary, str) and _CATEGORY.match(primary) and primary not in names:
        names.append(primary)
    return names


def _row(
    incident_id: int, scope: str, event: Mapping[str, Any], mask: int
) -> tuple[Any, ...] | None:
    event_id = _as_int(event.get("id"))
    created = normalize_ts(event.get("created_at"))
    if event_id is None or not created:
        return None
    details = event.get("details")
    return (
        incident_id,
        scope,
        event_id,
        created,
        _as_int(event.get("author_id")),
        _text(event.get("author_name")),
        _text(event.get("entity_type")),
        _as_int(event.get("entity_id")),
        _text(event.get("entity_path")),
        _text(event.get("event_name")),
        _text(event.get("category")),
        mask,
        _text(event.get("target_type")),
        _text(event.get("target_id")),
        _text(event.get("target_details")),
        _text(event.get("ip_address")),
        _text(event.get("summary")),
        dbstr(dumps(details if isinstance(details, Mapping) else {})) or "{}",
    )


class EventStore(StoreBase):
    """Stored audit events, their search index and the windows fetched."""

    _writes_since_analyze = 0

    # -- writing -------------------------------------------------------------------------------

    def upsert_events(
        self, incident_id: int, scope: str, events: Iterable[Mapping[str, Any]]
    ) -> int:
        """Store normalised events (``AuditEvent.to_dict()`` shape); returns how many were new.

        Events are immutable on GitLab, so a second copy of one (overlapping windows, a
        refresh) is ignored. Records without an id or a time are skipped, never fatal.
        """
        events = list(events)
        if not events:
            return 0
        with self._write() as con:
            bits = self._category_bits(con, {c for e in events for c in _categories(e)})
            rows = []
            for event in events:
                mask = 0
                for name in _categories(event):
                    mask |= 1 << bits[name]
                row = _row(incident_id, scope, event, mask)
                if row is not None:
                    rows.append(row)
            # rowcount counts the events inserted, not the index rows the trigger adds
            added = max(0, con.executemany(_INSERT, rows).rowcount) if rows else 0
        self._writes_since_analyze += added
        if self._writes_since_analyze >= _ANALYZE_EVERY:
            # Fresh statistics let the planner pick the IP/author index over the time index.
            self._writes_since_analyze = 0
            self._conn().execute("PRAGMA optimize")
        return added

    def _category_bits(self, con: sqlite3.Connection, names: Iterable[str]) -> dict[str, int]:
        """The bit of each category name, assigning new bits inside the caller's transaction."""
        known = dict(con.execute("SELECT name, bit FROM audit_category_bits"))
        for name in sorted(set(names) - set(known)):
            bit = max(known.values(), default=-1) + 1
            if bit > _MAX_BIT:
                raise StoreError("more audit event categories than the store can index")
            con.execute("INSERT INTO audit_category_bits (name, bit) VALUES (?, ?)", (name, bit))
            known[name] = bit
        return known

    def _known_bits(self) -> dict[str, int]:
        return dict(self._conn().execute("SELECT name, bit FROM audit_category_bits"))

    @contextlib.contextmanager
    def bulk_cache_writes(self) -> Iterator[None]:
        """Commit without waiting for the disk on this thread while a bulk load runs.

        Only for data that can be fetched again (audit events, the fetched windows recorded
        with them in one transaction): WAL with ``synchronous=NORMAL`` survives a crash of the
        console, and a power cut loses at most the last transactions, events and window
        together. The journal and marks are never written this way.
        """
        con = self._conn()
        con.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            con.execute("PRAGMA synchronous = FULL")

    def record_audit_window(self, incident_id: int, scope: str, start: object, end: object) -> None:
        """Remember that every event of ``scope`` between ``start`` and ``end`` is stored."""
        lo, hi = window_bound(start, end=False), window_bound(end, end=True)
        if not lo or not hi or lo > hi:
            return
        with self._write() as con:
            con.execute(
                "INSERT INTO audit_windows (incident_id, scope, start, end, fetched_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (incident_id, scope, start, end) "
                "DO UPDATE SET fetched_at = excluded.fetched_at",
                (incident_id, scope, lo, hi, utc_now()),
            )

    def forget_audit_events(self, incident_id: int, scope: str | None = None) -> None:
        """Drop stored events and windows (all scopes by default): a full reload follows."""
        clause = "incident_id = ?"
        args: list[object] = [incident_id]
        if scope is not None:
            clause += " AND scope = ?"
            args.append(scope)
        with self._write() as con:
            con.execute(f"DELETE FROM audit_events WHERE {clause}", args)  # noqa: S608
            con.execute(f"DELETE FROM audit_windows WHERE {clause}", args)  # noqa: S608

    # -- windows -------------------------------------------------------------------------------

    def audit_windows(self, incident_id: int, scope: str) -> list[tuple[str, str]]:
        """The fetched windows of ``scope``, merged where they touch or overlap, oldest first."""
        rows = (
            self._conn()
            .execute(
                "SELECT start, end FROM audit_windows WHERE incident_id = ? AND scope = ? "
                "ORDER BY start, end",
                (incident_id, scope),
            )
            .fetchall()
        )
        merged: list[tuple[str, str]] = []
        for start, end in rows:
            if merged and start <= _next_ms(merged[-1][1]):
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged

    def missing_audit_windows(
        self, incident_id: int, scope: str, start: object, end: object
    ) -> list[tuple[str, str]]:
        """The parts of ``start``–``end`` not yet fetched for ``scope`` (to fetch next)."""
        lo, hi = window_bound(start, end=False), window_bound(end, end=True)
        if not lo or not hi or lo > hi:
            return []
        gaps: list[tuple[str, str]] = []
        cursor = lo
        for w_start, w_end in self.audit_windows(incident_id, scope):
            if w_end < cursor:
                continue
            if w_start > hi:
                break
            if w_start > cursor:
                gaps.append((cursor, min(_prev_ms(w_start), hi)))
            cursor = max(cursor, _next_ms(w_end))
            if cursor > hi:
                break
        if cursor <= hi:
            gaps.append((cursor, hi))
        return gaps

    def audit_fetched_at(self, incident_id: int, scope: str) -> str | None:
        """When a window of ``scope`` was last recorded as fetched (None: never)."""
        row = (
            self._conn()
            .execute(
                "SELECT max(fetched_at) FROM audit_windows WHERE incident_id = ? AND scope = ?",
                (incident_id, scope),
            )
            .fetchone()
        )
        return row[0] if row else None

    def newest_event_at(self, incident_id: int, scope: str) -> str | None:
        row = (
            self._conn()
            .execute(
                "SELECT max(created_at) FROM audit_events WHERE incident_id = ? AND scope = ?",
                (incident_id, scope),
            )
            .fetchone()
        )
        return row[0] if row else None

    def audit_scopes(self, incident_id: int) -> list[str]:
        """Scopes with stored events or windows (``instance``, ``group:12``, ``project:7``)."""
        rows = (
            self._conn()
            .execute(
                "SELECT scope FROM audit_windows WHERE incident_id = ? "
                "UNION SELECT DISTINCT scope FROM audit_events WHERE incident_id = ? ORDER BY 1",
                (incident_id, incident_id),
            )
            .fetchall()
        )
        return [r[0] for r in rows]

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
            f"ORDER BY e.created_at || '' {_order(q)}, e.id {_order(q)}"
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
        if total <= EAGER_LIMIT:
            first = self.event_rids(incident_id, q)
            return EventRids(self, incident_id, q, len(first), first)
        return EventRids(self, incident_id, q, total, None)

    def _rid_chunk(
        self, incident_id: int, q: EventQuery, offset: int, after: tuple[str, int] | None
    ) -> list[tuple[int, str, int]]:
        """``CHUNK`` (rid, created_at, id) rows in time order, from ``after`` or ``offset``."""
        where, args = self._event_where(incident_id, q)
        order = _order(q)
        if after is not None:
            cmp = ">" if q.oldest_first else "<"
            where += f" AND (e.created_at, e.id) {cmp} (?, ?)"
            args = [*args, after[0], after[1]]
            offset = 0
        sql = (
            f"SELECT e.rid, e.created_at, e.id FROM audit_events e{where} "  # noqa: S608
            f"ORDER BY e.created_at {order}, e.id {order} LIMIT ? OFFSET ?"
        )
        return list(self._conn().execute(sql, [*args, CHUNK, offset]))

    def _rid_position(self, incident_id: int, q: EventQuery, rid: int) -> int | None:
        """The 0-based position of ``rid`` in ``q``'s time order, None if it does not match."""
        where, args = self._event_where(incident_id, q)
        row = self._conn().execute(
            f"SELECT e.created_at, e.id FROM audit_events e{where} AND e.rid = ?",  # noqa: S608
            [*args, rid],
        ).fetchone()
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
        store: EventStore,
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
            after = (prev[-1][1], prev[-1][2]) if prev and len(prev) == CHUNK else None
            chunk = self._store._rid_chunk(self._incident, self._q, n * CHUNK, after)
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
                        found = n * CHUNK + offset
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
        chunk = self._chunk(index // CHUNK)
        offset = index % CHUNK
        if offset >= len(chunk):  # rows removed since the count: report the gap plainly
            raise IndexError(index)
        return chunk[offset][0]


def _order(q: EventQuery) -> str:
    return "ASC" if q.oldest_first else "DESC"


def _shift_ms(ts: str, delta: int) -> str:
    moment = parse_ts(ts)
    return ts if moment is None else format_iso(moment + timedelta(milliseconds=delta))


def _next_ms(ts: str) -> str:
    return _shift_ms(ts, 1)


def _prev_ms(ts: str) -> str:
    return _shift_ms(ts, -1)
