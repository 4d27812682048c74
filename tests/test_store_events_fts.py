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

from console.store import SCHEMA_VERSION, EventQuery, Store
from console.store.schema import _run_migration

_COLUMNS = "author_name, entity_path, event_name, target_details, ip_address, summary, details"
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
    assert store.schema_version == SCHEMA_VERSION == 6
    assert store.count_events(inc) == 200
    assert store.count_events(inc, EventQuery(search="old")) == 200  # rebuilt from the table
    assert store.upsert_events(inc, "instance", [_event(i) for i in range(150, 260)]) == 59
    assert store.count_events(inc, EventQuery(search="evt-25")) == 11  # evt-25, evt-250…259
    _assert_index_matches_table(store, inc)
    sql = store._conn().execute("SELECT sql FROM sqlite_master WHERE name = 'audit_events_fts'")
    assert "prefix = '1 2 3'" in sql.fetchone()[0]
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
