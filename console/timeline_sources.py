"""Where the timeline's items come from: the store (SQL, a window at a time) or, for a store
from before the events table, the cached list of the incident window's events.

:func:`open_timeline` picks one; both answer the same questions (counts per kind, the row keys
of some kinds in time order, the items of some keys, the histogram, every item in batches for
an export), so the screen, the report and the exports never hold a whole timeline. Blocking
(SQLite): call from a worker, except :meth:`Timeline.rows` for one page, which is a primary-key
lookup.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from console.audit import AuditEvent, events_cache_key
from console.store import TIMELINE_KINDS, TimelineKey, TimelineKeys, TimelineQuery
from console.timeline import Bucket, TimelineItem, histogram, histogram_from_counts
from console.timeutil import normalize_ts

if TYPE_CHECKING:
    from console.store import Incident, Store

__all__ = [
    "ListTimeline",
    "StoreTimeline",
    "Timeline",
    "build_timeline",
    "event_status",
    "legacy_events",
    "open_timeline",
]

_ALL = frozenset(TIMELINE_KINDS)
_BATCH = 500


class Timeline(Protocol):
    def kind_counts(self) -> dict[str, int]: ...
    def keys(self, kinds: Collection[str], total: int | None = None) -> Sequence[TimelineKey]: ...
    def rows(self, keys: Sequence[TimelineKey]) -> Mapping[TimelineKey, TimelineItem]: ...
    def histogram(self, kinds: Collection[str], bucket: Bucket, width: int) -> list[str]: ...
    def iter_items(self, kinds: Collection[str] = _ALL) -> Iterator[TimelineItem]: ...


class StoreTimeline:
    """The incident's stored events (of ``base``'s scope and window), journal and notes."""

    def __init__(self, store: Store, incident_id: int, base: TimelineQuery) -> None:
        self.store = store
        self.incident_id = incident_id
        self.base = base

    def _query(self, kinds: Collection[str]) -> TimelineQuery:
        return TimelineQuery(frozenset(kinds), self.base.scope, self.base.since, self.base.until)

    def kind_counts(self) -> dict[str, int]:
        return self.store.timeline_kind_counts(self.incident_id, self.base)

    def keys(self, kinds: Collection[str], total: int | None = None) -> TimelineKeys:
        q = self._query(kinds)
        if total is None:
            total = sum(self.store.timeline_kind_counts(self.incident_id, q).values())
        return TimelineKeys(self.store, self.incident_id, q, total)

    def rows(self, keys: Sequence[TimelineKey]) -> dict[TimelineKey, TimelineItem]:
        return self.store.timeline_rows(self.incident_id, keys)

    def histogram(self, kinds: Collection[str], bucket: Bucket, width: int = 40) -> list[str]:
        q = self._query(kinds)
        return histogram_from_counts(
            self.store.timeline_span(self.incident_id, q),
            lambda bounds: self.store.timeline_range_counts(self.incident_id, q, bounds),
            bucket,
            width=width,
        )

    def iter_items(self, kinds: Collection[str] = _ALL) -> Iterator[TimelineItem]:
        """Every item of ``kinds``, oldest first, read by keyset a batch at a time."""
        q = self._query(kinds)
        after = None
        while True:
            window = self.store.timeline_window(self.incident_id, q, limit=_BATCH, after=after)
            if not window:
                return
            found = self.rows([key for _, key in window])
            yield from (found[key] for _, key in window if key in found)
            if len(window) < _BATCH:
                return
            after = window[-1][0]


class ListTimeline:
    """Items already in memory (the events cached as one list before the events table)."""

    def __init__(self, items: Sequence[TimelineItem]) -> None:
        self.items = sorted(items, key=lambda i: (i.when, i.kind, i.key[1]))
        self._by_key = {i.key: i for i in self.items}

    def kind_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.kind] = out.get(item.kind, 0) + 1
        return out

    def keys(self, kinds: Collection[str], total: int | None = None) -> list[TimelineKey]:
        return [i.key for i in self.items if i.kind in kinds]

    def rows(self, keys: Sequence[TimelineKey]) -> dict[TimelineKey, TimelineItem]:
        return {k: self._by_key[k] for k in keys if k in self._by_key}

    def histogram(self, kinds: Collection[str], bucket: Bucket, width: int = 40) -> list[str]:
        return histogram(self.items, bucket, width=width, kinds=tuple(kinds))

    def iter_items(self, kinds: Collection[str] = _ALL) -> Iterator[TimelineItem]:
        return (i for i in self.items if i.kind in kinds)


def legacy_events(store: Store, incident: Incident) -> tuple[list[AuditEvent], bool] | None:
    """The incident window's events as cached in one list before the events table (a store
    from an older console), and whether that fetch was complete; None when there is none."""
    cached = store.cache_get(int(incident.id), events_cache_key(*incident.window))
    if cached is None or not isinstance(cached[0], Mapping):
        return None
    value = cached[0]
    events = []
    for raw in value.get("events") or ():
        if isinstance(raw, Mapping):
            try:
                events.append(AuditEvent.from_dict(raw))
            except (TypeError, ValueError):
                continue
    return events, bool(value.get("complete", True))


def _event_item(e: AuditEvent) -> TimelineItem:
    target = e.target_details or e.entity_path
    what = " ".join(x for x in (e.event_name or e.category, target, e.summary) if x)
    when = normalize_ts(e.created_at) or ""
    return TimelineItem(when, "event", e.author_name, what, f"event:{e.id}", ("event", e.id))


def open_timeline(store: Store, incident: Incident, scope: str = "instance") -> Timeline:
    """The incident's timeline: stored events of ``scope`` in the incident window when the
    store has them, else the old cached list; actions and notes from the store either way."""
    iid = int(incident.id)
    if scope not in store.audit_scopes(iid):
        legacy = legacy_events(store, incident)
        if legacy is not None:
            others = StoreTimeline(store, iid, TimelineQuery(scope=None))
            items = [_event_item(e) for e in legacy[0]]
            items += others.iter_items(("action", "note"))
            return ListTimeline(items)
        scope_or_none: str | None = None
    else:
        scope_or_none = scope
    since, until = incident.window
    return StoreTimeline(store, iid, TimelineQuery(_ALL, scope_or_none, since, until))


def build_timeline(store: Store, incident: Incident) -> list[TimelineItem]:
    """Every event, journal entry and note of ``incident``, oldest first (small incidents and
    tests: the screen, the report and the exports read :func:`open_timeline` in windows)."""
    return list(open_timeline(store, incident).iter_items())


def event_status(store: Store, incident: Incident) -> tuple[int, bool] | None:
    """How many audit events the store holds for the incident window and whether that window
    was fetched whole (None: never fetched). Counted, never read."""
    from console.audit.stored import stored_window_status

    status = stored_window_status(store, int(incident.id), incident.window)
    if status is not None:
        return status.count, status.complete
    legacy = legacy_events(store, incident)
    return None if legacy is None else (len(legacy[0]), legacy[1])
