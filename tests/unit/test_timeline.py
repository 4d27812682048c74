"""The timeline merges cached audit events, journal actions and notes; the histogram draws them."""

from __future__ import annotations

from console.audit import events_cache_key
from console.store import Store
from console.timeline import TimelineItem, histogram
from console.timeline_sources import build_timeline


def _event(i: int, when: str, name: str = "user_blocked") -> dict[str, object]:
    return {
        "id": i,
        "created_at": when,
        "author_id": 5,
        "author_name": "mallory",
        "entity_type": "User",
        "entity_id": 5,
        "entity_path": "mallory",
        "event_name": name,
        "category": "auth",
        "target_type": "User",
        "target_id": "9",
        "target_details": "victim",
        "ip_address": "203.0.113.9",
        "summary": "",
    }


def test_timeline_merges_events_actions_and_notes_in_time_order(tmp_path):
    store = Store.open(tmp_path / "s.db")
    inc = store.create_incident(
        "t", "compromised-account", None, "https://g.example", "2020-01-01", None
    )
    store.cache_put(
        inc.id,
        events_cache_key(*inc.window),
        {
            "events": [
                _event(2, "2020-01-02T10:00:00Z", "personal_access_token_created"),
                _event(1, "2020-01-01T09:00:00Z"),
            ],
            "complete": True,
        },
    )
    store.journal_intent(inc.id, "block_user", "user", 5, "mallory", {}, None)
    store.add_note(inc.id, "event", 2, "token made from a Tor exit", "alice")
    items = build_timeline(store, inc)
    assert [i.kind for i in items] == ["event", "event", "action", "note"]
    assert [i.ref for i in items[:2]] == ["event:1", "event:2"]
    assert "personal_access_token_created" in items[1].what and items[1].who == "mallory"
    assert items[2].what == "block_user mallory: intent"
    assert items[3].who == "alice" and items[3].what.startswith("[event 2]")


def _items(*whens: str) -> list[TimelineItem]:
    return [TimelineItem(w, "event", "x", "y", f"event:{n}") for n, w in enumerate(whens)]


def test_histogram_scales_bars_to_the_busiest_day_and_keeps_empty_days():
    items = _items(
        *["2026-03-01T01:00:00.000Z"] * 8,
        "2026-03-03T05:00:00.000Z",
        *["2026-03-04T10:00:00.000Z"] * 4,
    )
    lines = histogram(items, "day", width=8)
    assert [line[:10] for line in lines] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    bars = [line[12:20] for line in lines]
    assert bars[0] == "█" * 8 and bars[1].strip() == "" and bars[3].strip() == "████"
    assert bars[2].strip() == "█"
    assert [int(line.split()[-1]) for line in lines] == [8, 0, 1, 4]


def test_histogram_per_hour_and_fallback_for_long_spans():
    items = _items("2026-03-01T01:10:00Z", "2026-03-01T03:59:00Z")
    lines = histogram(items, "hour", width=4)
    assert [line[:16] for line in lines] == [
        "2026-03-01 01:00",
        "2026-03-01 02:00",
        "2026-03-01 03:00",
    ]
    long = histogram(_items("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"), "hour")
    assert long[0].startswith("2026-01-01  ") and len(long) == 60
    assert histogram([], "day") == ["(nothing to plot)"]
