"""The incident timeline: audit events, the responder's actions and notes on one time axis.

Audit events come from the cache (what the audit pane fetched for the incident window), actions
from the journal, notes from the store; nothing is fetched here. :func:`histogram` draws the
counts per day or per hour as lines of block characters, so a burst of attacker activity is
seen before it is read. Text fields are raw (server text in events): sanitise at display.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

from console.audit import AuditEvent, events_cache_key
from console.timeutil import normalize_ts, parse_ts

if TYPE_CHECKING:
    from console.store import Incident, Store

__all__ = ["TimelineItem", "build_timeline", "cached_events", "histogram"]

ItemKind = Literal["event", "action", "note"]
Bucket = Literal["day", "hour"]
_BLOCKS: Final = " ▏▎▍▌▋▊▉█"
MAX_BUCKETS: Final = 400


@dataclass(frozen=True, slots=True)
class TimelineItem:
    when: str  # UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (as the store keeps it)
    kind: ItemKind
    who: str
    what: str
    ref: str  # "event:123", "journal:4", "note:7"


def cached_events(store: Store, incident: Incident) -> tuple[list[AuditEvent], bool] | None:
    """The audit events stored (or, before the events table, cached) for the incident window
    and whether that fetch was complete."""
    from console.audit.stored import stored_window_events

    stored = stored_window_events(store, int(incident.id), incident.window)
    if stored is not None:
        return stored
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


def build_timeline(store: Store, incident: Incident) -> list[TimelineItem]:
    """Every event, journal entry and note of ``incident``, oldest first."""
    items: list[TimelineItem] = []
    cached = cached_events(store, incident)
    for e in cached[0] if cached else ():
        target = e.target_details or e.entity_path
        what = " ".join(x for x in (e.event_name or e.category, target, e.summary) if x)
        items.append(
            TimelineItem(
                normalize_ts(e.created_at) or "", "event", e.author_name, what, f"event:{e.id}"
            )
        )
    for j in store.journal_entries(int(incident.id)):
        when = normalize_ts(j.t_done or j.t_sent or j.t_intent) or j.t_intent
        label = j.target_label or f"#{j.target_id}"
        items.append(
            TimelineItem(
                when, "action", "console", f"{j.action} {label}: {j.state}", f"journal:{j.id}"
            )
        )
    for n in store.notes(int(incident.id)):
        about = "" if n.object_type == "incident" else f"[{n.object_type} {n.object_id}] "
        items.append(TimelineItem(n.created_at, "note", n.author, about + n.text, f"note:{n.id}"))
    items.sort(key=lambda i: (i.when, i.kind, i.ref))
    return items


def _floor(dt: datetime, bucket: Bucket) -> datetime:
    dt = dt.replace(minute=0, second=0, microsecond=0)
    return dt.replace(hour=0) if bucket == "day" else dt


def _bar(value: int, peak: int, width: int) -> str:
    if peak <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value * width * 8 / peak))
    full, part = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[part] if part else "")


def histogram(
    items: Iterable[TimelineItem],
    bucket: Bucket = "day",
    *,
    width: int = 40,
    kinds: Sequence[ItemKind] = ("event", "action", "note"),
) -> list[str]:
    """Counts per day (or hour) from the first to the last item, empty buckets included.

    Each line is ``label  bar  count``; the bar is scaled to the busiest bucket. An hourly view
    of more than :data:`MAX_BUCKETS` hours falls back to days.
    """
    times = [t for i in items if i.kind in kinds for t in [parse_ts(i.when)] if t is not None]
    if not times:
        return ["(nothing to plot)"]
    first, last = _floor(min(times), bucket), _floor(max(times), bucket)
    step = timedelta(days=1) if bucket == "day" else timedelta(hours=1)
    if (last - first) / step >= MAX_BUCKETS:
        if bucket == "hour":
            return histogram(items, "day", width=width, kinds=kinds)
        first = last - step * (MAX_BUCKETS - 1)
    counts = Counter(_floor(t, bucket) for t in times if t >= first)
    peak = max(counts.values())
    fmt = "%Y-%m-%d" if bucket == "day" else "%Y-%m-%d %H:00"
    lines = []
    cursor = first
    while cursor <= last:
        n = counts.get(cursor, 0)
        lines.append(f"{cursor.strftime(fmt)}  {_bar(n, peak, width):<{width}}  {n:>6}")
        cursor += step
    return lines
