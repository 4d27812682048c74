"""Audit events in SQLite: writing them, and the time windows already fetched per scope.

One row per event per incident and scope, indexed for the pivots a responder makes (time,
author, IP, event name, category) and searchable through an FTS5 index over the text columns
and the details (:mod:`console.store.event_queries` reads them). Fetched windows are recorded
per scope, so a resumed or widened incident window fetches only what is missing, and a refresh
only what is newer than the newest stored event.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from console.store.errors import StoreError
from console.store.event_queries import EventQueryStore, EventRids
from console.store.event_rows import (
    ANALYZE_EVERY,
    COUNT_AFTER,
    EVENT_COLUMNS,
    FTS_INDEX_AFTER,
    INSERT_EVENT,
    MAX_BIT,
    EventQuery,
    EventRows,
    fts_query,
    prepare_events,
)
from console.timeutil import format_iso, parse_ts, utc_now, window_bound

__all__ = ["EVENT_COLUMNS", "EventQuery", "EventRids", "EventStore", "fts_query"]

_BULK_CHECKPOINT_PAGES = 10_000
#: Page cache while loading, in KiB as SQLite's negative ``cache_size`` counts (64 MiB).
_BULK_CACHE_KIB = -65_536


class EventStore(EventQueryStore):
    """Stored audit events, their search index and the windows fetched."""

    _writes_since_analyze = 0

    # -- writing -------------------------------------------------------------------------------

    def upsert_events(
        self,
        incident_id: int,
        scope: str,
        events: Iterable[Mapping[str, Any]] | EventRows,
    ) -> int:
        """Store normalised events (``AuditEvent.to_dict()`` shape, or already made into rows
        by :func:`prepare_events`); returns how many were new.

        Events are immutable on GitLab, so a second copy of one (overlapping windows, a
        refresh) is ignored. Records without an id or a time are skipped, never fatal.
        """
        prepared = events if isinstance(events, EventRows) else prepare_events(events)
        if not prepared.rows:
            return 0
        with self._write() as con:
            bits = self._category_bits(con, {c for n in set(prepared.categories) for c in n})
            masks: dict[tuple[str, ...], tuple[int, str, int]] = {}
            rows = []
            for row, names in zip(prepared.rows, prepared.categories, strict=True):
                tail = masks.get(names)
                if tail is None:
                    mask = 0
                    for name in names:
                        mask |= 1 << bits[name]
                    tail = masks[names] = (incident_id, scope, mask)
                rows.append(row + tail)
            before = con.execute("SELECT coalesce(max(rid), 0) FROM audit_events").fetchone()[0]
            added = max(0, con.executemany(INSERT_EVENT, rows).rowcount)
            # The new rows' full-text entries, in the same transaction (one statement for the
            # batch: a per-row trigger cost four times as much). Committed together, so the
            # index always covers exactly the stored rows, whatever interrupts a load.
            if added and con.execute(FTS_INDEX_AFTER, (before,)).rowcount != added:
                # Only if SQLite ever chose row ids below the maximum (it does at 2**63 - 1).
                raise StoreError("audit events could not be indexed for search")
            if added:
                con.execute(COUNT_AFTER, (before,))
        self._writes_since_analyze += added
        if self._writes_since_analyze >= ANALYZE_EVERY:
            # Fresh statistics let the planner pick the IP/author index over the time index.
            self._writes_since_analyze = 0
            self._conn().execute("PRAGMA optimize")
        return added

    def _category_bits(self, con: sqlite3.Connection, names: Iterable[str]) -> dict[str, int]:
        """The bit of each category name, assigning new bits inside the caller's transaction."""
        known = dict(con.execute("SELECT name, bit FROM audit_category_bits"))
        for name in sorted(set(names) - set(known)):
            bit = max(known.values(), default=-1) + 1
            if bit > MAX_BIT:
                raise StoreError("more audit event categories than the store can index")
            con.execute("INSERT INTO audit_category_bits (name, bit) VALUES (?, ?)", (name, bit))
            known[name] = bit
        return known

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
        # Checkpoint the log every ~40 MB instead of every 4 MB while loading: fewer, larger
        # copies into the database file (the log is checkpointed as usual afterwards).
        con.execute(f"PRAGMA wal_autocheckpoint = {_BULK_CHECKPOINT_PAGES}")
        # A page cache big enough for the indexes being grown: with the default 2 MB, inserts
        # in six indexes and the search index kept re-reading pages (a fifth of the time).
        default_cache = con.execute("PRAGMA cache_size").fetchone()[0]
        con.execute(f"PRAGMA cache_size = {_BULK_CACHE_KIB}")
        try:
            yield
        finally:
            con.execute(f"PRAGMA cache_size = {default_cache}")
            con.execute("PRAGMA wal_autocheckpoint = 1000")
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
            con.execute(f"DELETE FROM audit_event_counts WHERE {clause}", args)  # noqa: S608
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


def _shift_ms(ts: str, delta: int) -> str:
    moment = parse_ts(ts)
    return ts if moment is None else format_iso(moment + timedelta(milliseconds=delta))


def _next_ms(ts: str) -> str:
    return _shift_ms(ts, 1)


def _prev_ms(ts: str) -> str:
    return _shift_ms(ts, -1)
