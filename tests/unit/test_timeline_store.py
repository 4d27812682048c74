"""The timeline read from the store: SQL histogram, keyset windows, streamed exports.

The reference for the histogram is the Python one over a list of every item (what the timeline
did before); the store's must draw the same lines without reading the items.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from console.audit import normalize_event
from console.drill.seed.build import build_state
from console.drill.views.audit import audit_event
from console.export import export_view
from console.export.tables import EVENT_COLUMNS, event_rows
from console.store import Incident, Store, TimelineQuery
from console.timeline import TimelineItem, histogram
from console.timeline_sources import StoreTimeline, build_timeline, open_timeline

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
KIND_SETS = [
    ("event", "action", "note"),
    ("event",),
    ("action", "note"),
    ("note",),
]


def _drill_incident(tmp_path: Path) -> tuple[Store, Incident, list[dict[str, Any]]]:
    """The drill's seeded incident: its months of audit events stored as the audit pane
    stores them, plus a few actions and notes."""
    state = build_state(users=60, seed=7, tier="ultimate", now=NOW)
    events = []
    for e in state.audit:
        normal = normalize_event(audit_event(e))
        assert normal is not None
        events.append(normal.to_dict())
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident(
        "drill", "compromised-account", None, "https://g.example", None, None
    )
    store.upsert_events(inc.id, "instance", events)
    store.record_audit_window(inc.id, "instance", "2020-01-01", NOW.isoformat())
    for target in (10, 11, 12):
        eid = store.journal_intent(inc.id, "block_user", "user", target, f"u{target}", {}, None)
        store.journal_update(eid, "done")
    for n in range(3):
        store.add_note(inc.id, "incident", inc.id, f"note {n}", "alice")
    return store, inc, events


def _python_items(store: Store, inc: Incident, events: list[dict[str, Any]]) -> list[TimelineItem]:
    """Every item as a Python list, built without the store's timeline queries (the old way)."""
    items = [
        TimelineItem(e["created_at"], "event", e["author_name"], "", f"event:{e['id']}")
        for e in events
    ]
    for j in store.journal_entries(inc.id):
        items.append(TimelineItem(j.t_done or j.t_sent or j.t_intent, "action", "", "", ""))
    items += [TimelineItem(n.created_at, "note", n.author, n.text, "") for n in store.notes(inc.id)]
    return items


@pytest.mark.parametrize("kinds", KIND_SETS)
@pytest.mark.parametrize("bucket", ["day", "hour"])
def test_the_sql_histogram_equals_the_python_one_on_the_drill_incident(
    tmp_path: Path, kinds: tuple[str, ...], bucket: str
) -> None:
    store, inc, events = _drill_incident(tmp_path)
    assert len(events) > 100
    timeline = open_timeline(store, inc)
    assert isinstance(timeline, StoreTimeline)
    items = _python_items(store, inc, events)
    b = "hour" if bucket == "hour" else "day"
    expected = histogram(items, b, width=30, kinds=kinds)
    assert timeline.histogram(kinds, b, 30) == expected
    # and over the items the store hands back
    assert histogram(build_timeline(store, inc), b, width=30, kinds=kinds) == expected


def test_the_sql_histogram_keeps_empty_buckets_the_fallback_and_the_last_400_days(
    tmp_path: Path,
) -> None:
    store, inc, events = _drill_incident(tmp_path)
    # one event two years back: more than 400 days, so the day view keeps the last 400
    old = dict(events[0], id=10**6, created_at="2024-01-05T03:00:00.000Z")
    store.upsert_events(inc.id, "instance", [old])
    items = _python_items(store, inc, [*events, old])
    timeline = open_timeline(store, inc)
    for bucket in ("day", "hour"):
        lines = timeline.histogram(("event", "action", "note"), bucket, 40)
        assert lines == histogram(items, bucket, width=40)
        assert len(lines) == 400  # hour fell back to days, days cut to the last 400
    quiet = [line for line in lines if line.rstrip().endswith(" 0")]
    assert quiet, "empty days are drawn"
    peak = max(int(line.split()[-1]) for line in lines)
    assert any(line[12:52] == "█" * 40 and int(line.split()[-1]) == peak for line in lines)


def test_a_bare_date_counts_in_the_first_hour_of_its_day(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    store.upsert_events(
        inc.id,
        "instance",
        [{"id": 1, "created_at": "2026-03-02"}, {"id": 2, "created_at": "2026-03-02T02:30:00Z"}],
    )
    timeline = open_timeline(store, inc)
    items = list(timeline.iter_items(("event",)))
    for bucket in ("day", "hour"):
        assert timeline.histogram(("event",), bucket, 8) == histogram(items, bucket, width=8)


def _many(store: Store, inc: Incident, n: int) -> None:
    batch = [
        {
            "id": i,
            # few distinct times: ties between events, actions and notes are ordered too
            "created_at": f"2026-03-{1 + i % 9:02d}T10:00:00Z",
            "author_name": f"user{i % 7}",
            "event_name": "user_logged_in",
        }
        for i in range(1, n + 1)
    ]
    store.upsert_events(inc.id, "instance", batch)


def test_keyset_windows_give_the_same_order_as_sorting_everything(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident(
        "t", "compromised-account", None, "https://g.example", "2026-03-01", None
    )
    _many(store, inc, 1_800)
    for n in range(5):
        store.add_note(inc.id, "event", n, f"n{n}", "bob")
        store.journal_intent(inc.id, "block_user", "user", n, f"u{n}", {}, None)
    # put some actions and notes at an event time (ties across kinds)
    store._conn().execute("UPDATE notes SET created_at = '2026-03-02T10:00:00.000Z' WHERE id < 3")
    store._conn().execute("UPDATE journal SET t_intent = '2026-03-02T10:00:00.000Z' WHERE id < 3")
    timeline = open_timeline(store, inc)
    assert isinstance(timeline, StoreTimeline)
    everything = list(timeline.iter_items())
    rank = {"action": 0, "event": 1, "note": 2}
    expected = sorted(
        everything, key=lambda i: (i.when, rank[i.kind], int(i.ref.partition(":")[2]))
    )
    assert everything == expected and len(everything) == 1_810

    keys = timeline.keys(("event", "action", "note"))
    assert len(keys) == 1_810
    # a jump to the end reads one window from the end, not every window before it
    assert keys[len(keys) - 1] == everything[-1].key and keys.reads == 1
    assert keys[0] == everything[0].key and keys.reads == 2
    assert [keys[i] for i in range(len(keys))] == [i.key for i in everything]
    assert keys.index(everything[700].key) == 700
    # descending windows at the end agree with ascending ones
    tail = store.timeline_window(
        inc.id, TimelineQuery(scope="instance", since="2026-03-01"), limit=20, descending=True
    )
    assert [k for _, k in reversed(tail)] == [i.key for i in everything[-20:]]
    only_notes = timeline.keys(("note",))
    assert [k[0] for k in only_notes] == ["note"] * 5


def test_the_timeline_export_streams_in_batches(tmp_path: Path, monkeypatch: Any) -> None:
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    _many(store, inc, 1_200)
    store.add_note(inc.id, "incident", inc.id, "seen", "bob")
    timeline = open_timeline(store, inc)
    expected = list(timeline.iter_items())
    windows: list[int] = []
    real = Store.timeline_window

    def spy(self: Store, *args: Any, **kw: Any) -> Any:
        rows = real(self, *args, **kw)
        windows.append(len(rows))
        return rows

    monkeypatch.setattr(Store, "timeline_window", spy)
    seen: list[int] = []
    rows = (
        {"when": i.when, "kind": i.kind, "who": i.who, "what": i.what, "ref": i.ref}
        for i in timeline.iter_items()
    )
    out = tmp_path / "timeline.jsonl"
    count = export_view(
        rows, ("when", "kind", "who", "what", "ref"), out, "jsonl", progress=seen.append, every=500
    )
    assert count == 1_201 and seen == [500, 1_000]
    assert windows == [500, 500, 201]  # read a window at a time, never the whole timeline
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["when"], r["ref"]) for r in written] == [(i.when, i.ref) for i in expected]


def test_the_bundles_events_stream_oldest_first_in_batches(
    tmp_path: Path, monkeypatch: Any
) -> None:
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    _many(store, inc, 4_500)
    store.record_audit_window(inc.id, "instance", "2026-03-01", "2026-03-20")
    batches: list[int] = []
    real = Store.events_by_rids

    def spy(self: Store, incident_id: int, rids: Any) -> Any:
        batches.append(len(rids))
        return real(self, incident_id, rids)

    monkeypatch.setattr(Store, "events_by_rids", spy)
    rows = event_rows(store, inc)
    first = next(rows)
    assert batches == [2_000]  # a generator: one batch read so far
    rest = list(rows)
    assert batches == [2_000, 2_000, 500]
    got = [first, *rest]
    assert list(got[0]) == list(EVENT_COLUMNS)
    assert [(r["created_at"], r["id"]) for r in got] == sorted(
        (r["created_at"], r["id"]) for r in got
    )
    assert len(got) == 4_500


@pytest.mark.parametrize("bucket", ["day", "hour"])
def test_the_incident_window_bounds_the_events_counted(tmp_path: Path, bucket: str) -> None:
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident(
        "t", "compromised-account", None, "https://g.example", "2026-03-02", "2026-03-04"
    )
    whens = [f"2026-03-0{d}T{h:02d}:30:00Z" for d in range(1, 7) for h in (0, 11, 23)]
    store.upsert_events(
        inc.id, "instance", [{"id": n, "created_at": w} for n, w in enumerate(whens, 1)]
    )
    store.record_audit_window(inc.id, "instance", "2026-03-01", "2026-03-07")
    timeline = open_timeline(store, inc)
    inside = [
        TimelineItem(w, "event", "", "", "")
        for w in whens
        if "2026-03-02" <= w[:10] <= "2026-03-04"
    ]
    b = "hour" if bucket == "hour" else "day"
    assert timeline.histogram(("event",), b, 10) == histogram(inside, b, width=10)
    assert timeline.kind_counts()["event"] == len(inside) == 9
