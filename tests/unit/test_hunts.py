"""Persistence hunts: real GitLab event types, combined with the pane's other filters."""

from __future__ import annotations

from pathlib import Path

from console.audit import AUDIT_CATEGORIES
from console.audit.hunts import HUNTS, hunt_by_key
from console.store import EventQuery, Store

# Types GitLab added after the console's event catalogue was written; the hunts may name them.
_NEWER_THAN_CATALOGUE = {"runner_controller_created", "runner_controller_token_created"}


def test_every_hunt_names_only_known_event_types() -> None:
    for hunt in HUNTS:
        unknown = hunt.names - set(AUDIT_CATEGORIES) - _NEWER_THAN_CATALOGUE
        assert not unknown, (hunt.key, unknown)
        assert hunt.why and hunt.title


def test_a_hunt_keeps_the_other_filters_and_drops_the_category(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "console.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    events = [
        {
            "id": 1,
            "created_at": "2026-11-01T00:00:00Z",
            "event_name": "add_ssh_key",
            "author_name": "mchen",
            "ip_address": "203.0.113.7",
            "categories": ["KEY"],
        },
        {
            "id": 2,
            "created_at": "2026-11-02T00:00:00Z",
            "event_name": "add_gpg_key",
            "author_name": "alice",
            "ip_address": "10.0.0.1",
            "categories": ["KEY"],
        },
        {
            "id": 3,
            "created_at": "2026-11-03T00:00:00Z",
            "event_name": "user_logged_in",
            "author_name": "mchen",
            "ip_address": "203.0.113.7",
            "categories": ["SIGNIN"],
        },
    ]
    store.upsert_events(inc.id, "instance", events)
    keys = hunt_by_key("keys")
    assert keys is not None
    base = EventQuery(ip="203.0.113.7", categories=frozenset({"SIGNIN"}))
    rows = store.events_by_rids(inc.id, store.event_rids(inc.id, keys.query(base)))
    assert [r["id"] for r in rows] == [1]
    assert store.count_events(inc.id, keys.query()) == 2
    assert hunt_by_key("nope") is None
