"""The audit-events store: filters, FTS search, category counts, windows fetched."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.store import EventQuery, Store, fts_query


def _event(i: int, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": i,
        "created_at": f"2026-11-{1 + i % 28:02d}T10:00:{i % 60:02d}Z",
        "author_id": 10 + i % 3,
        "author_name": ["alice", "bob", "mchen"][i % 3],
        "entity_type": "Group" if i % 2 else "User",
        "entity_id": 5,
        "entity_path": "ops/infra" if i % 2 else "alice",
        "event_name": "user_logged_in" if i % 4 == 0 else "personal_access_token_created",
        "category": "signin" if i % 4 == 0 else "tokens",
        "categories": ("signin",) if i % 4 == 0 else ("tokens",),
        "target_type": "User",
        "target_id": str(20 + i % 2),
        "target_details": "deploy bot",
        "ip_address": "203.0.113.7" if i % 5 == 0 else "198.51.100.2",
        "summary": f"event number {i}",
        "details": {"custom_message": "hello", "n": i},
    }
    base.update(kw)
    return base


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Store, int]:
    """A store holding 100 events of one incident, and that incident's id."""
    s = Store.open(tmp_path / "console.db")
    url = "https://gitlab.example.com"
    inc = s.create_incident("t", "compromised-account", None, url, None, None)
    s.upsert_events(inc.id, "instance", [_event(i) for i in range(1, 101)])
    return s, inc.id


def test_duplicates_and_bad_records_are_skipped(stored: tuple[Store, int]) -> None:
    store, inc = stored
    again = store.upsert_events(inc, "instance", [_event(1), _event(2), {"id": None}, {"id": 3}])
    assert again == 0
    assert store.count_events(inc) == 100
    # the same id in another scope is another event
    assert store.upsert_events(inc, "group:5", [_event(1)]) == 1
    assert store.count_events(inc, EventQuery(scope="group:5")) == 1


def test_huge_ids_never_abort_a_write(stored: tuple[Store, int]) -> None:
    store, inc = stored
    added = store.upsert_events(inc, "instance", [_event(2**70), _event(500, author_id=2**64)])
    assert added == 1
    (row,) = store.events_by_rids(inc, store.event_rids(inc, EventQuery(search="500")))
    assert row["author_id"] is None


def test_filters_combine(stored: tuple[Store, int]) -> None:
    store, inc = stored
    ip = EventQuery(ip="203.0.113.7")
    assert store.count_events(inc, ip) == 20
    both = EventQuery(ip="203.0.113.7", author="mchen")
    rows = store.events_by_rids(inc, store.event_rids(inc, both))
    assert rows
    assert all(r["author_name"] == "mchen" and r["ip_address"] == "203.0.113.7" for r in rows)
    assert store.count_events(inc, EventQuery(author="12")) == store.count_events(
        inc, EventQuery(author="MCHEN")
    )
    tokens = EventQuery(categories=frozenset({"tokens"}))
    assert store.count_events(inc, tokens) == 75
    assert store.count_events(inc, EventQuery(entity=("Group", 5))) == 50
    assert store.count_events(inc, EventQuery(target=("User", "21"))) == 50
    assert store.count_events(inc, EventQuery(user_id=21)) == 50
    names = EventQuery(event_names=frozenset({"user_logged_in"}))
    assert store.count_events(inc, names) == 25
    window = EventQuery(since="2026-11-02", until="2026-11-02")
    rows = store.events_by_rids(inc, store.event_rids(inc, window))
    assert rows and all(r["created_at"].startswith("2026-11-02") for r in rows)


def test_order_is_newest_first_and_rows_come_back_in_the_order_asked(
    stored: tuple[Store, int],
) -> None:
    store, inc = stored
    rids = store.event_rids(inc)
    rows = store.events_by_rids(inc, rids)
    times = [r["created_at"] for r in rows]
    assert times == sorted(times, reverse=True)
    picked = [rids[5], rids[0], rids[3]]
    assert [r["rid"] for r in store.events_by_rids(inc, picked)] == picked
    assert rows[0]["details"]["custom_message"] == "hello"
    assert isinstance(rows[0]["categories"], tuple)


def test_search_is_prefix_full_text_and_never_fts_syntax(stored: tuple[Store, int]) -> None:
    store, inc = stored
    assert store.count_events(inc, EventQuery(search="203.0.113")) == 20
    assert store.count_events(inc, EventQuery(search="mch")) == 33
    assert store.count_events(inc, EventQuery(search="mchen 203.0.113.7")) == 7
    assert store.count_events(inc, EventQuery(search="infra")) == 50
    # FTS5 operators and quotes typed or pasted are plain text, never a syntax error
    for hostile in ['"', "NEAR(a b)", "a OR b", "*", "col:x", "') OR 1=1 --", "\x1b[31m"]:
        store.count_events(inc, EventQuery(search=hostile))
    assert store.count_events(inc, EventQuery(search="***")) == 0
    assert fts_query('say "hi"') == '"say"* """hi"""*'
    assert fts_query("  --  ") is None


def test_category_counts_ignore_the_category_filter(stored: tuple[Store, int]) -> None:
    store, inc = stored
    counts = store.event_category_counts(
        inc, EventQuery(categories=frozenset({"signin"}), author="alice")
    )
    assert counts == {"signin": 8, "tokens": 25}
    assert store.event_ips(inc, EventQuery(author="mchen"))["203.0.113.7"] == 7
    assert store.event_authors(inc)[10] == 33


def test_windows_merge_and_missing_parts_are_computed(stored: tuple[Store, int]) -> None:
    store, inc = stored
    assert store.missing_audit_windows(inc, "instance", "2026-10-01", "2026-10-31") == [
        ("2026-10-01T00:00:00.000Z", "2026-10-31T23:59:59.999Z")
    ]
    store.record_audit_window(inc, "instance", "2026-10-01", "2026-10-10")
    store.record_audit_window(inc, "instance", "2026-10-11", "2026-10-15")
    store.record_audit_window(inc, "instance", "2026-10-20T00:00:00Z", "2026-10-25T12:00:00Z")
    assert store.audit_windows(inc, "instance")[0] == (
        "2026-10-01T00:00:00.000Z",
        "2026-10-15T23:59:59.999Z",
    )
    assert store.missing_audit_windows(inc, "instance", "2026-10-01", "2026-10-31") == [
        ("2026-10-16T00:00:00.000Z", "2026-10-19T23:59:59.999Z"),
        ("2026-10-25T12:00:00.001Z", "2026-10-31T23:59:59.999Z"),
    ]
    assert store.missing_audit_windows(inc, "instance", "2026-10-02", "2026-10-14") == []
    assert store.missing_audit_windows(inc, "group:5", "2026-10-02", "2026-10-03") != []
    assert store.audit_scopes(inc) == ["instance"]
    assert store.newest_event_at(inc, "instance") == "2026-11-28T10:00:55.000Z"


def test_forget_drops_events_windows_and_index(stored: tuple[Store, int]) -> None:
    store, inc = stored
    store.record_audit_window(inc, "instance", "2026-10-01", "2026-10-10")
    store.forget_audit_events(inc)
    assert store.count_events(inc) == 0
    assert store.count_events(inc, EventQuery(search="mchen")) == 0
    assert store.audit_windows(inc, "instance") == []


def test_large_results_are_read_lazily_in_time_order(
    stored: tuple[Store, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, inc = stored
    monkeypatch.setattr("console.store.event_rows.EAGER_LIMIT", 10)
    monkeypatch.setattr("console.store.event_rows.CHUNK", 7)
    q = EventQuery(categories=frozenset({"tokens"}))
    view = store.event_rid_view(inc, q)
    assert len(view) == 75
    assert list(view) == store.event_rids(inc, q)  # sequential reads continue by keyset
    assert view[-1] == store.event_rids(inc, q)[-1]  # a jump reads by offset
    assert view[20:23] == store.event_rids(inc, q)[20:23]
    with pytest.raises(IndexError):
        view[75]
    small = store.event_rid_view(inc, EventQuery(ip="203.0.113.7", author="mchen"))
    assert len(small) == 7
