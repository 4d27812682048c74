"""The audit events' full-text index: written in bulk with the rows, never out of step with them.

No timings: each test compares the index the writer keeps with one rebuilt from the table, or
checks that searches find every stored row they should (after a migration, after ``kill -9``).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.store import SCHEMA_VERSION, EventQuery, Store
from console.store.event_rows import FTS_COLUMNS
from console.store.schema import _run_migration

_COLUMNS = FTS_COLUMNS
_TERMS = ("mchen", "m", "10", "10.", "10.3", "ev", "evt-1", "token", "ops/infra", "deploy", "x")


def _event(i: int) -> dict[str, object]:
    return {
        "id": i,
        "created_at": f"2026-11-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
        "author_id": 1 + i % 7,
        "author_name": ["alice", "bob", "mchen", "ops-helper"][i % 4],
        "entity_path": "ops/infra" if i % 2 else "alice",
        "event_name": "user_logged_in" if i % 3 else "personal_access_token_created",
        "category": "signin" if i % 3 else "tokens",
        "target_details": "deploy bot",
        "ip_address": f"10.{i % 5}.{i % 250}.7",
        "summary": f"event evt-{i}",
        "details": {"custom_message": f"evt-{i}"},
    }


def _reference_matches(db: Path, term: str) -> set[int]:
    """Row ids an index rebuilt from the table finds for ``term`` (what search must find)."""
    con = sqlite3.connect(db)
    try:
        con.execute(
            f"CREATE VIRTUAL TABLE temp.ref USING fts5 ({_COLUMNS}, "
            "tokenize = \"unicode61 tokenchars '.-_@:'\")"
        )
        con.execute(
            f"INSERT INTO temp.ref (rowid, {_COLUMNS}) "
            f"SELECT rid, {_COLUMNS} FROM main.audit_events"
        )
        rows = con.execute("SELECT rowid FROM temp.ref WHERE ref MATCH ?", (f'"{term}"*',))
        return {r[0] for r in rows}
    finally:
        con.close()


def _assert_index_matches_table(store: Store, inc: int) -> None:
    con = store._conn()
    # FTS5's own check: every entry agrees with the content table, nothing missing or extra
    con.execute("INSERT INTO audit_events_fts (audit_events_fts) VALUES ('integrity-check')")
    for term in _TERMS:
        found = set(store.event_rids(inc, EventQuery(search=term)))
        assert found == _reference_matches(store.path, term), term


def test_the_index_is_written_with_the_rows_and_no_insert_trigger(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "console.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    triggers = {
        r[0] for r in store._conn().execute("SELECT name FROM sqlite_master WHERE type='trigger'")
    }
    assert "audit_events_ai" not in triggers
    assert store.upsert_events(inc.id, "instance", [_event(i) for i in range(1, 301)]) == 300
    # duplicates, a second scope, rows deleted at the end of the table, then more rows
    assert store.upsert_events(inc.id, "instance", [_event(i) for i in range(250, 351)]) == 50
    assert store.upsert_events(inc.id, "group:5", [_event(i) for i in range(1, 21)]) == 20
    store.forget_audit_events(inc.id, "group:5")
    assert store.upsert_events(inc.id, "project:7", [_event(i) for i in range(1, 31)]) == 30
    assert store.count_events(inc.id, EventQuery(search="evt-1")) == 1 + 10 + 100 + 1 + 10
    _assert_index_matches_table(store, inc.id)
    store.close()


def _v5_database(path: Path, events: int) -> int:
    """A database as schema v5 left it: the per-row insert trigger filled the index."""
    con = sqlite3.connect(path, isolation_level=None)
    for version in range(5):
        con.execute("BEGIN")
        _run_migration(con, version)
        con.execute(f"PRAGMA user_version = {version + 1}")
        con.execute("COMMIT")
    con.execute(
        "INSERT INTO incidents (title, kind, instance_url, created_at, updated_at, "
        "last_active_at) VALUES ('t', 'compromised-account', 'https://g.example', "
        "'2026-11-01', '2026-11-01', '2026-11-01')"
    )
    inc = int(con.execute("SELECT max(id) FROM incidents").fetchone()[0])
    con.executemany(
        "INSERT INTO audit_events (incident_id, scope, id, created_at, author_name, "
        "entity_path, event_name, target_details, ip_address, summary, details) "
        "VALUES (?, 'instance', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (inc, e["id"], e["created_at"], e["author_name"], e["entity_path"], e["event_name"],
             e["target_details"], e["ip_address"], e["summary"], '{"custom_message": "old"}')
            for e in map(_event, range(1, events + 1))
        ],
    )  # fmt: skip
    con.close()
    return inc


def test_a_v5_database_migrates_and_stays_searchable(tmp_path: Path) -> None:
    db = tmp_path / "console.db"
    inc = _v5_database(db, 200)
    store = Store.open(db)
    assert store.schema_version == SCHEMA_VERSION == 7
    assert store.count_events(inc) == 200
    # rebuilt from the table: the details' values no other column holds are searchable
    assert store.count_events(inc, EventQuery(search="old")) == 200
    assert store.upsert_events(inc, "instance", [_event(i) for i in range(150, 260)]) == 59
    assert store.count_events(inc, EventQuery(search="evt-25")) == 11  # evt-25, evt-250…259
    _assert_index_matches_table(store, inc)
    sql = store._conn().execute("SELECT sql FROM sqlite_master WHERE name = 'audit_events_fts'")
    assert "prefix = '1 2 3'" in sql.fetchone()[0]
    store.close()


def test_a_search_finds_the_details_values_but_not_their_keys(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "console.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    event = _event(1) | {
        "details": {
            "custom_message": "evt-1",
            "author_email": "m.chen@corp.example",
            "token_scopes": ["api", "sudo"],
            "nested": {"runner_id": 4242, "flag": True},
        }
    }
    assert store.upsert_events(inc.id, "instance", [event, _event(2)]) == 2
    for term, count in (("m.chen@corp", 1), ("sudo", 1), ("4242", 1), ("author_email", 0)):
        assert store.count_events(inc.id, EventQuery(search=term)) == count, term
    (text,) = store._conn().execute("SELECT search_text FROM audit_events WHERE id = 1").fetchone()
    # no value twice, none a column already holds (the custom message is in the summary)
    assert text == "m.chen@corp.example api sudo 4242"
    _assert_index_matches_table(store, inc.id)
    store.close()


_WRITER = """
import sys
from console.store import Store
sys.path.insert(0, sys.argv[3])
from test_store_events_fts import _event
store = Store.open(sys.argv[1])
inc = int(sys.argv[2])
n = 0
with store.bulk_cache_writes():
    while True:
        store.upsert_events(inc, "instance", [_event(i) for i in range(n + 1, n + 501)])
        n += 500
        print(n, flush=True)
"""


def test_kill_9_mid_load_leaves_every_stored_row_searchable(tmp_path: Path) -> None:
    db = tmp_path / "console.db"
    store = Store.open(db)
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    store.close()
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db), str(inc.id), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        assert proc.stdout is not None
        for _ in range(6):  # a few committed batches, then kill it wherever it is
            assert proc.stdout.readline()
        time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    store = Store.open(db)
    stored = store.count_events(inc.id)
    assert stored >= 3000 and stored % 500 == 0
    # every stored row is found by a search that matches it, and nothing else is indexed
    assert store.count_events(inc.id, EventQuery(search="evt")) == stored
    assert store.count_events(inc.id, EventQuery(search=f"evt-{stored}")) == 1
    _assert_index_matches_table(store, inc.id)
    store.close()


# -- counts and the query paths for a million events (answers, not timings) ------------------


def _exact_counts(store: Store, inc: int, q: EventQuery) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in store.events_by_rids(inc, store.event_rids(inc, q)):
        for name in row["categories"]:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _two_scopes(tmp_path: Path) -> tuple[Store, int]:
    store = Store.open(tmp_path / "console.db")
    inc = store.create_incident("t", "compromised-account", None, "https://g.example", None, None)
    store.upsert_events(inc.id, "instance", [_event(i) for i in range(1, 401)])
    store.upsert_events(inc.id, "group:5", [_event(i) for i in range(1, 41)])
    return store, inc.id


def test_summary_counts_equal_a_scan_through_writes_and_forgets(tmp_path: Path) -> None:
    store, inc = _two_scopes(tmp_path)
    queries = [
        EventQuery(),
        EventQuery(scope="instance"),
        EventQuery(scope="group:5", categories=frozenset({"tokens"})),
        EventQuery(categories=frozenset({"signin", "tokens"})),
        EventQuery(categories=frozenset({"no-such-category"})),
    ]

    def check() -> None:
        for q in queries:
            assert store.count_events(inc, q) == len(store.event_rids(inc, q)), q
            without = EventQuery(scope=q.scope)
            assert store.event_category_counts(inc, q) == _exact_counts(store, inc, without)

    check()
    store.upsert_events(inc, "instance", [_event(i) for i in range(350, 450)])
    check()
    store.forget_audit_events(inc, "group:5")
    check()
    store.close()


def test_a_search_is_counted_by_the_index_only_when_that_is_exact(tmp_path: Path) -> None:
    store, inc = _two_scopes(tmp_path)
    other = store.create_incident("u", "compromised-account", None, "https://g.example", None, None)
    for term in ("evt-1", "10.", "m", "deploy", "x"):
        for q in (EventQuery(search=term), EventQuery(search=term, scope="instance")):
            assert store.count_events(inc, q) == len(store.event_rids(inc, q)), q
    # another incident's events are in the same index: counted through the rows, still exact
    store.upsert_events(other.id, "instance", [_event(i) for i in range(1, 11)])
    for term in ("evt-1", "10.", "m"):
        q = EventQuery(search=term)
        assert store.count_events(inc, q) == len(store.event_rids(inc, q)), q
        assert store.count_events(other.id, q) == len(store.event_rids(other.id, q)), q
    store.close()


def test_short_broad_searches_are_probed_row_by_row_in_the_same_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("console.store.event_rows.EAGER_LIMIT", 10)
    monkeypatch.setattr("console.store.event_rids.PROBE_CHUNK", 7)
    store, inc = _two_scopes(tmp_path)
    for q in (
        EventQuery(search="10", scope="instance"),
        EventQuery(search="ev", oldest_first=True),  # the same ids in two scopes
        EventQuery(search="10 ev"),
    ):
        view = store.event_rid_view(inc, q)
        assert view._probe, q  # most rows match a short search
        expected = store.event_rids(inc, q)
        assert len(view) == len(expected)
        assert list(view) == expected
        assert view[len(view) - 1] == expected[-1]  # a jump reads by offset
        assert view.locate(expected[12]) == 12
        # beyond the first chunks the cursor's row is not looked for (no million-row count)
        assert view.locate(expected[-1]) is None
    # a longer or narrower search reads the matching ids first
    assert not store.event_rid_view(inc, EventQuery(search="evt-1"))._probe
    assert not store.event_rid_view(inc, EventQuery(search="m 10."))._probe
    store.close()


def test_the_view_reads_the_same_rows_in_the_same_order_whichever_path_it_takes(
    tmp_path: Path,
) -> None:
    store, inc = _two_scopes(tmp_path)
    for q in (
        EventQuery(search="mchen"),  # counted by the index, read from it
        EventQuery(search="deploy", categories=frozenset({"tokens"})),  # read from the index
        EventQuery(search="ev", author="bob", oldest_first=True),  # read unsorted, then sorted
        EventQuery(ip="10.1.1.7"),
        EventQuery(since="2026-11-03", until="2026-11-09"),
    ):
        expected = store.event_rids(inc, q)
        view = store.event_rid_view(inc, q)
        assert list(view) == expected, q
        assert len(view) == store.count_events(inc, q), q
    store.close()


def test_category_counts_of_a_broad_search_stop_early_and_say_so(tmp_path: Path) -> None:
    store, inc = _two_scopes(tmp_path)
    q = EventQuery(search="ev", categories=frozenset({"signin"}))
    exact = _exact_counts(store, inc, EventQuery(search="ev"))
    full = store.event_category_counts(inc, q)
    assert full == exact and not full.capped
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("console.store.event_queries.COUNT_LIMIT", 100)
        capped = store.event_category_counts(inc, q)
    assert capped.capped
    assert sum(capped.values()) == 100  # one category per event here
    assert all(capped[name] <= exact[name] for name in capped)
    store.close()


def _plan(store: Store, sql: str, args: list[object]) -> str:
    rows = store._conn().execute(f"EXPLAIN QUERY PLAN {sql}", args).fetchall()
    return " | ".join(r[3] for r in rows)


def test_every_main_query_reads_through_an_index(tmp_path: Path) -> None:
    """No query the pane issues scans the events table (a scan is seconds at a million)."""
    store, inc = _two_scopes(tmp_path)
    # as on a real log: sign-ins about users, now and then an event about a token or a group
    about = [
        {**_event(i), "id": 1000 + i, "target_id": str(i), "entity_id": i}
        | ({"target_type": "User", "entity_type": "User"} if i % 10 else
           {"target_type": "PersonalAccessToken", "entity_type": "Group"})
        for i in range(1, 400)
    ]  # fmt: skip
    store.upsert_events(inc, "instance", about)
    store._conn().execute("ANALYZE")
    queries = [
        EventQuery(),
        EventQuery(scope="instance", categories=frozenset({"tokens"})),
        EventQuery(author="mchen"),
        EventQuery(author="12"),
        EventQuery(ip="10.1.1.7"),
        EventQuery(event_names=frozenset({"user_logged_in"})),
        EventQuery(since="2026-11-20", until="2026-11-21"),
        EventQuery(search="evt-1"),
        EventQuery(search="project12", categories=frozenset({"keys"})),
        EventQuery(user_id=3),
    ]
    for q in queries:
        for mode in ("in", "probe") if q.search else ("in",):
            where, args = store._event_where(inc, q, search=mode)  # type: ignore[arg-type]
            sql = f"SELECT e.rid FROM audit_events e{where} ORDER BY e.created_at DESC LIMIT 60"
            plan = _plan(store, sql, args)
            assert "SCAN e" not in plan.replace("SCAN e USING", "INDEXED"), (q, mode, plan)
    for q, index in (
        (EventQuery(target=("PersonalAccessToken", "7")), "audit_events_target"),
        (EventQuery(entity=("Group", 12)), "audit_events_entity"),
    ):
        where, args = store._event_where(inc, q)
        sql = f"SELECT e.author_id, count(*) FROM audit_events e{where} GROUP BY e.author_id"
        assert f"USING INDEX {index}" in _plan(store, sql, args), q
    summary = _plan(store, "SELECT sum(n) FROM audit_event_counts WHERE incident_id = ?", [inc])
    assert "SEARCH audit_event_counts USING PRIMARY KEY" in summary
    store.close()
