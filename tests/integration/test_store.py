"""console.store: the SQLite facade."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from console.store import (
    SCHEMA_VERSION,
    ReviewProgress,
    Store,
    StoreError,
    UserQuery,
    user_kind,
)
from console.timeutil import normalize_ts

WINDOW = ("2025-05-01T00:00:00Z", "2025-05-03T23:59:59Z")
REPO = Path(__file__).resolve().parents[2]


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def _user(uid: int, username: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": uid,
        "username": username,
        "name": username.title(),
        "state": "active",
        "is_admin": False,
        "two_factor_enabled": True,
        "bot": False,
        "external": False,
        "created_at": "2020-01-01T00:00:00.000Z",
        "last_sign_in_at": None,
        "current_sign_in_at": None,
        "last_activity_on": None,
        "email": f"{username}@example.com",
        "avatar_url": "https://gitlab.example/a.png",
    }
    base.update(kw)
    return base


USERS = [
    _user(1, "root", name="Administrator", is_admin=True, two_factor_enabled=False),
    _user(2, "alice", name="Alice Liddell", created_at="2025-05-02T08:00:00.000Z"),
    _user(3, "bob", state="blocked", last_sign_in_at="2025-05-02T09:00:00.000+02:00"),
    _user(4, "project_7_bot_abc", name="deploy bot", bot=True, user_type="project_bot"),
    _user(5, "svc-ci", user_type="service_account", two_factor_enabled=False),
    _user(6, "Carol", name="carol ÉLAN", is_admin=True, current_sign_in_at="2025-05-03T10:00:00Z"),
    _user(7, "dave", state="ldap_blocked", two_factor_enabled=False),
]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store.open(tmp_path / "state" / "console.db")
    yield s
    s.close()


@pytest.fixture
def incident(store: Store) -> Any:
    inc = store.create_incident(
        "Suspicious admin", "compromised-instance", "prod", "https://gitlab.example", *WINDOW
    )
    store.upsert_users(inc.id, USERS, "2025-05-04T00:00:00Z")
    return inc


def ids(store: Store, inc: Any, **kw: Any) -> list[int]:
    if "filters" in kw:
        kw["filters"] = frozenset(kw["filters"])
    return store.user_ids(inc.id, UserQuery(**kw))


# ----------------------------------------------------------------- incidents


def test_incident_crud(store: Store) -> None:
    a = store.create_incident(
        "A",
        "compromised-account",
        None,
        "https://g.example",
        "2025-05-01",
        "2025-05-02",
        subjects=["alice", "bob"],
    )
    assert a.status == "open" and a.subjects == ("alice", "bob")
    assert a.window == ("2025-05-01T00:00:00.000Z", "2025-05-02T23:59:59.999Z")
    time.sleep(0.01)
    b = store.create_incident("B", "compromised-instance", "p", "https://g.example", None, None)
    assert [i.id for i in store.list_incidents()] == [b.id, a.id]  # newest activity first
    time.sleep(0.01)
    store.touch_incident(a.id)
    assert [i.id for i in store.list_incidents()] == [a.id, b.id]
    updated = store.update_incident(b.id, status="closed", title="B2", subjects=["x"])
    assert updated.status == "closed" and updated.title == "B2" and updated.subjects == ("x",)
    assert [i.id for i in store.list_incidents("open")] == [a.id]
    assert {i.id for i in store.list_incidents(None)} == {a.id, b.id}
    assert store.get_incident(999) is None
    with pytest.raises(StoreError):
        store.update_incident(a.id, bogus=1)
    with pytest.raises(StoreError):
        store.update_incident(a.id, status="deleted")
    with pytest.raises(StoreError):
        store.create_incident("C", "bad-kind", None, "https://g", None, None)


# ----------------------------------------------------------------- users


def test_user_rows_and_kind(store: Store, incident: Any) -> None:
    root = store.get_user(incident.id, 1)
    assert root is not None
    assert root.username == "root" and root.is_admin and root.two_factor is False
    assert root.kind == "human" and root.risk == 0 and root.risk_reasons == () and root.mark is None
    assert store.get_user(incident.id, 4).kind == "bot"  # type: ignore[union-attr]
    assert store.get_user(incident.id, 5).kind == "service"  # type: ignore[union-attr]
    bob = store.get_user(incident.id, 3)
    assert bob is not None and bob.last_sign_in_at == "2025-05-02T07:00:00.000Z"  # UTC
    assert user_kind({"bot": True}) == "bot"
    assert user_kind({"user_type": "group_bot"}) == "bot"
    assert user_kind({"user_type": "human"}) == "human"
    # the list response has no user_type: GitLab's generated service-account names tell
    assert user_kind({"bot": True, "username": "service_account_5f649e24afcd658c"}) == "service"
    assert user_kind({"bot": True, "username": "service_account_group_2_f4201c"}) == "service"
    assert user_kind({"bot": False, "username": "service_account_fan"}) == "human"
    assert store.get_user(incident.id, 999) is None
    assert store.count_users(incident.id) == len(USERS)
    rows = store.users_by_ids(incident.id, [6, 999, 1])
    assert [r.id for r in rows] == [6, 1]  # caller's order, unknown ids skipped


def test_detail_ips_survive_list_refresh(store: Store, incident: Any) -> None:
    detail = dict(
        USERS[1], current_sign_in_ip="203.0.113.7", last_sign_in_ip="198.51.100.2", sign_in_count=12
    )
    store.upsert_user_detail(incident.id, detail)
    store.upsert_users(incident.id, [dict(USERS[1], name="Alice L.")], "2025-05-05T00:00:00Z")
    alice = store.get_user(incident.id, 2)
    assert alice is not None
    assert alice.name == "Alice L."
    assert alice.current_sign_in_ip == "203.0.113.7"
    assert alice.last_sign_in_ip == "198.51.100.2"
    assert alice.sign_in_count == 12
    raw = store.user_raw(incident.id, 2)
    assert raw is not None and raw["name"] == "Alice Liddell"  # detail merged over list
    assert raw["current_sign_in_ip"] == "203.0.113.7"
    # risk is not clobbered by a refresh either
    store.set_risk(incident.id, {2: (40, ["admin without 2FA"])})
    store.upsert_users(incident.id, [USERS[1]], "2025-05-06T00:00:00Z")
    assert store.get_user(incident.id, 2).risk == 40  # type: ignore[union-attr]


def test_hostile_strings_round_trip(store: Store, incident: Any) -> None:
    evil = _user(50, "evil", name="[@click=app.quit]x[/]\x1b]52;c;aGk=\x07\u202e\ud800")
    store.upsert_users(incident.id, [evil], "2025-05-04T00:00:00Z")
    row = store.get_user(incident.id, 50)
    assert row is not None
    assert row.name.startswith("[@click=app.quit]x[/]\x1b]52;c;aGk=\x07\u202e")
    assert row.name.endswith("\ufffd")  # a lone surrogate cannot be stored as UTF-8
    raw = store.user_raw(incident.id, 50)
    assert raw is not None and raw["name"] == evil["name"]  # raw JSON keeps it exactly


def test_filters(store: Store, incident: Any) -> None:
    assert ids(store, incident, filters={"admins"}) == [1, 6]
    assert ids(store, incident, filters={"no_2fa"}) == [1, 5, 7]
    assert ids(store, incident, filters={"admins", "no_2fa"}) == [1]
    assert ids(store, incident, filters={"bots"}) == [4, 5]
    assert ids(store, incident, filters={"blocked"}) == [3, 7]
    assert ids(store, incident, filters={"created_in_window"}) == [2]
    assert ids(store, incident, filters={"signed_in_in_window"}) == [3, 6]
    assert ids(store, incident, filters={"unreviewed"}) == [1, 2, 3, 4, 5, 6, 7]
    store.set_mark(incident.id, "user", 3, "flagged")
    store.set_mark(incident.id, "user", 1, "cleared")
    assert ids(store, incident, filters={"flagged"}) == [3]
    assert ids(store, incident, filters={"unreviewed"}) == [2, 4, 5, 6, 7]
    assert ids(store, incident, filters={"cleared"}) == [1]
    # an explicit window overrides the incident's
    assert ids(
        store, incident, filters={"created_in_window"}, window=("2019-12-31", "2020-01-01")
    ) == [1, 3, 4, 5, 6, 7]
    assert store.count_users(incident.id, UserQuery(filters=frozenset({"admins"}))) == 2
    with pytest.raises(StoreError):
        ids(store, incident, filters={"nonsense"})


def test_search_is_case_insensitive_substring(store: Store, incident: Any) -> None:
    assert ids(store, incident, search="ALI") == [2]
    assert ids(store, incident, search="élan") == [6]  # non-ASCII case folding
    assert ids(store, incident, search="@example.com") == [1, 2, 3, 4, 5, 6, 7]
    assert ids(store, incident, search="deploy") == [4]
    assert ids(store, incident, search="%") == []  # no LIKE wildcards
    store.upsert_user_detail(incident.id, dict(USERS[2], current_sign_in_ip="203.0.113.7"))
    store.upsert_user_detail(incident.id, dict(USERS[3], last_sign_in_ip="203.0.113.70"))
    assert ids(store, incident, search="203.0.113.7") == [3, 4]
    assert ids(store, incident, search="203.0.113.7", filters={"blocked"}) == [3]


def test_sorting(store: Store, incident: Any) -> None:
    assert ids(store, incident, sort="username") == [2, 3, 6, 7, 4, 1, 5]  # case-insensitive
    assert ids(store, incident, sort="id", descending=True) == [7, 6, 5, 4, 3, 2, 1]
    assert ids(store, incident, sort="is_admin", descending=True) == [1, 6, 2, 3, 4, 5, 7]
    store.set_risk(incident.id, {5: (10, ["x"]), 2: (30, ["y"]), 7: (10, ["z"])})
    assert ids(store, incident, sort="risk", descending=True) == [2, 5, 7, 1, 3, 4, 6]
    store.set_mark(incident.id, "user", 4, "flagged")
    store.set_mark(incident.id, "user", 2, "cleared")
    assert ids(store, incident, sort="mark", descending=True)[:2] == [4, 2]
    for key in (
        "name",
        "email",
        "state",
        "two_factor",
        "kind",
        "user_type",
        "external",
        "created_at",
        "last_sign_in_at",
        "current_sign_in_at",
        "last_activity_on",
        "current_sign_in_ip",
        "last_sign_in_ip",
        "sign_in_count",
        "risk_reasons",
        "note",
        "mark",
    ):
        got = ids(store, incident, sort=key)
        assert sorted(got) == [1, 2, 3, 4, 5, 6, 7], key
    with pytest.raises(StoreError):
        ids(store, incident, sort="raw; DROP TABLE users")


def test_streamed_user_rows_follow_the_ids_order_and_filters(store: Store, incident: Any) -> None:
    """Exports stream whole rows in batches: the same users, in the same order, as the ids."""
    store.set_risk(incident.id, {5: (10, ["x"]), 2: (30, ["y"]), 7: (10, ["z"])})
    store.set_mark(incident.id, "user", 4, "flagged", note="bot token")
    store.set_mark(incident.id, "user", 2, "cleared")
    queries = [
        UserQuery(),
        UserQuery(sort="risk", descending=True),
        UserQuery(sort="mark", descending=True),
        UserQuery(sort="username", filters=frozenset({"unreviewed"})),
        UserQuery(search="a", filters=frozenset({"admins"})),
    ]
    for q in queries:
        rows = list(store.iter_user_rows(incident.id, q, batch=2))  # several batches of 2
        assert [r.id for r in rows] == store.user_ids(incident.id, q), q
        assert rows == store.users_by_ids(incident.id, [r.id for r in rows]), q
    flagged = next(store.iter_user_rows(incident.id, UserQuery(filters=frozenset({"flagged"}))))
    assert (flagged.id, flagged.mark, flagged.note) == (4, "flagged", "bot token")


def test_set_risk_replace(store: Store, incident: Any) -> None:
    store.set_risk(incident.id, {1: (40, ["admin without 2FA"]), 2: (20, ["new"])})
    store.set_risk(incident.id, {2: (5, ["later"])})
    assert store.get_user(incident.id, 1).risk == 0  # type: ignore[union-attr]
    two = store.get_user(incident.id, 2)
    assert two is not None and two.risk == 5 and two.risk_reasons == ("later",)
    store.set_risk(incident.id, {1: (1, ["kept"])}, replace=False)
    assert store.get_user(incident.id, 2).risk == 5  # type: ignore[union-attr]


def test_marks_and_review_progress(store: Store, incident: Any) -> None:
    assert store.review_progress(incident.id) == ReviewProgress(0, 7, False)
    store.set_mark(incident.id, "user", 2, "cleared", note="spoke to Alice")
    store.set_mark(incident.id, "user", 3, "flagged")
    store.set_mark(incident.id, "token", "pat:77", "flagged")
    assert store.review_progress(incident.id) == ReviewProgress(2, 7, False)
    marks = store.marks(incident.id, "user")
    assert set(marks) == {2, 3}
    assert marks[2].mark == "cleared" and marks[2].note == "spoke to Alice"
    assert set(store.marks(incident.id, "token")) == {"pat:77"}
    assert store.get_user(incident.id, 2).note == "spoke to Alice"  # type: ignore[union-attr]
    store.set_mark(incident.id, "user", 1, "cleared")
    assert store.review_progress(incident.id).root_reviewed
    store.set_mark(incident.id, "user", 1, None)  # clear
    assert not store.review_progress(incident.id).root_reviewed
    store.set_mark(incident.id, "user", 2, None, note="note only")
    assert store.review_progress(incident.id).reviewed == 1
    assert store.marks(incident.id, "user")[2].mark is None
    with pytest.raises(StoreError):
        store.set_mark(incident.id, "user", 2, "maybe")


def test_root_reviewed_by_username(store: Store) -> None:
    inc = store.create_incident("x", "compromised-instance", None, "https://g", None, None)
    store.upsert_users(inc.id, [_user(42, "root"), _user(43, "eve")], "2025-05-04T00:00:00Z")
    store.set_mark(inc.id, "user", 43, "cleared")
    assert not store.review_progress(inc.id).root_reviewed
    store.set_mark(inc.id, "user", 42, "flagged")
    assert store.review_progress(inc.id) == ReviewProgress(2, 2, True)


def test_ui_state_and_cache_round_trip(store: Store, incident: Any) -> None:
    state = {"filters": ["admins"], "cursor": 42, "nested": {"a": [1, 2, None]}, "s": "é\u202e"}
    store.save_ui_state(incident.id, "users", state)
    store.save_ui_state(incident.id, "pane", "dossier")
    store.save_ui_state(None, "last_incident", incident.id)
    assert store.load_ui_state(incident.id) == {"users": state, "pane": "dossier"}
    assert store.load_ui_state(None) == {"last_incident": incident.id}
    store.save_ui_state(incident.id, "pane", "tokens")
    assert store.load_ui_state(incident.id)["pane"] == "tokens"
    assert store.cache_get(incident.id, "tokens") is None
    stamp = store.cache_put(incident.id, "tokens", [{"id": 1, "name": "ci"}])
    value, fetched_at = store.cache_get(incident.id, "tokens")  # type: ignore[misc]
    assert value == [{"id": 1, "name": "ci"}] and fetched_at == stamp


def test_normalize_ts() -> None:
    assert normalize_ts("2025-05-02T10:00:00.000Z") == "2025-05-02T10:00:00.000Z"
    assert normalize_ts("2025-05-02T12:00:00+02:00") == "2025-05-02T10:00:00.000Z"
    assert normalize_ts("2025-05-02T10:00:00") == "2025-05-02T10:00:00.000Z"
    assert normalize_ts("2025-05-02") == "2025-05-02"
    assert normalize_ts("garbage") == "garbage"
    assert normalize_ts(None) is None and normalize_ts("") is None


# ----------------------------------------------------------------- files, schema, threads


def test_permissions(tmp_path: Path) -> None:
    root = tmp_path / "loose"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    db = root / "console.db"
    s = Store.open(db)
    inc = s.create_incident("x", "compromised-instance", None, "https://g", None, None)
    s.upsert_users(inc.id, USERS, "2025-05-04T00:00:00Z")
    assert _mode(root) == 0o700
    assert _mode(db) == 0o600
    wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
    assert wal.exists() and shm.exists()
    assert _mode(wal) == 0o600 and _mode(shm) == 0o600
    s.close()
    os.chmod(db, 0o644)
    Store.open(db).close()
    assert _mode(db) == 0o600


def test_refuses_symlinked_database(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.db"
    target.write_bytes(b"")
    d = tmp_path / "d"
    d.mkdir()
    (d / "console.db").symlink_to(target)
    from console.paths import UnsafePathError

    with pytest.raises(UnsafePathError, match=r"console\.db in .* is a symbolic link"):
        Store.open(d / "console.db")
    assert target.read_bytes() == b""


def test_schema_version_and_newer_schema_refused(tmp_path: Path) -> None:
    db = tmp_path / "s" / "console.db"
    s = Store.open(db)
    assert s.schema_version == SCHEMA_VERSION
    s.close()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="schema version"):
        Store.open(db)


def test_connection_pragmas_per_thread(store: Store) -> None:
    seen: dict[str, Any] = {}

    def worker() -> None:
        con = store._conn()
        seen["sync"] = con.execute("PRAGMA synchronous").fetchone()[0]
        seen["fk"] = con.execute("PRAGMA foreign_keys").fetchone()[0]
        seen["busy"] = con.execute("PRAGMA busy_timeout").fetchone()[0]
        seen["con"] = con

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen["sync"] == 2 and seen["fk"] == 1 and seen["busy"] == 10000  # FULL, ON, 10 s
    assert seen["con"] is not store._conn()  # one connection per thread


def test_concurrent_writers_from_threads(store: Store) -> None:
    inc = store.create_incident("x", "compromised-instance", None, "https://g", None, None)
    errors: list[BaseException] = []

    def writer(base: int) -> None:
        try:
            for i in range(20):
                store.upsert_users(inc.id, [_user(base + i, f"u{base + i}")], "2025-05-04")
                store.save_ui_state(inc.id, f"k{base}", i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(b,)) for b in (1000, 2000, 3000, 4000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count_users(inc.id) == 80


_KILL_CHILD = textwrap.dedent(
    """
    import sys
    from console.store import Store
    s = Store.open(sys.argv[1])
    inc = s.create_incident("x", "compromised-instance", None, "https://g", None, None)
    n = 0
    while True:
        batch = [{"id": n + i, "username": f"u{n + i}", "name": "N"} for i in range(100)]
        s.upsert_users(inc.id, batch, "2025-05-04T00:00:00Z")
        s.set_mark(inc.id, "user", n, "flagged")
        n += 100
        if n == 2000:
            print("ready", flush=True)
    """
)


def test_sigkill_mid_write_leaves_committed_data_intact(tmp_path: Path) -> None:
    db = tmp_path / "k" / "console.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_CHILD, str(db)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    s = Store.open(db)  # runs quick_check; raises if damaged
    try:
        inc = s.list_incidents()[0]
        n = s.count_users(inc.id)
        assert n >= 2000 and n % 100 == 0  # whole transactions only
        flagged = s.marks(inc.id, "user")
        # each batch's mark is its own transaction: the kill may fall between the two
        assert n // 100 - 1 <= len(flagged) <= n // 100
        assert all(uid < n and uid % 100 == 0 for uid in flagged)
        assert s.user_ids(inc.id, UserQuery()) == list(range(n))
    finally:
        s.close()


# ----------------------------------------------------------------- journal


def test_journal_lifecycle(store: Store, incident: Any) -> None:
    a = store.journal_intent(
        incident.id, "block_user", "user", 3, "bob", {"reason": "ir"}, {"state": "active"}
    )
    b = store.journal_intent(incident.id, "revoke_token", "token", 77, "ci token")
    c = store.journal_intent(
        incident.id,
        "block_user",
        "user",
        7,
        "dave",
        pre_state={"state": "blocked"},
        state="noop_already",
    )
    assert [e.id for e in store.journal_pending(incident.id)] == [a, b]
    entry = store.journal_update(a, "sent", http_status=201, request_id="req-1")
    assert entry.state == "sent" and entry.t_sent is not None and entry.t_done is None
    store.journal_update(a, "done", post_state={"state": "blocked"})
    store.journal_update(b, "unknown", error="timeout")
    pending = store.journal_pending(incident.id)
    assert [e.id for e in pending] == [b]
    entries = {e.id: e for e in store.journal_entries(incident.id)}
    assert entries[a].post_state == {"state": "blocked"} and entries[a].t_done
    assert entries[a].params == {"reason": "ir"} and entries[a].pre_state == {"state": "active"}
    assert entries[a].request_id == "req-1" and entries[a].http_status == 201
    assert entries[c].state == "noop_already" and entries[c].t_done
    assert store.verify_chain(incident.id)
    head = store.journal_head(incident.id)
    assert len(head) == 64 and head == entries[b].hash  # b was the last change
    with pytest.raises(StoreError):
        store.journal_update(a, "exploded")
    with pytest.raises(StoreError):
        store.journal_update(a, "done", hash="x" * 64)
    with pytest.raises(StoreError):
        store.journal_update(9999, "done")


def test_ids_keep_their_type(store: Store, incident: Any) -> None:
    store.set_mark(incident.id, "token", "0012", "flagged")
    store.set_mark(incident.id, "token", 12, "cleared")
    marks = store.marks(incident.id, "token")
    assert set(marks) == {"0012", 12}
    eid = store.journal_intent(incident.id, "revoke", "token", "42", "t")
    entry = store.journal_update(eid, "done")
    assert entry.target_id == "42"
    assert store.verify_chain(incident.id)


def test_marks_join_uses_the_index(store: Store, incident: Any) -> None:
    """The users↔marks join must look marks up by object_id, or 100k rows take minutes."""
    from console.store import _USER_SELECT

    con = store._conn()
    for sql in (
        "SELECT u.id, m.mark FROM users u" + store._MARK_JOIN + " WHERE u.incident_id = 1",
        _USER_SELECT + "WHERE u.incident_id = 1",
    ):
        plan = " | ".join(str(r[3]) for r in con.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SEARCH m USING" in plan and "object_id=?" in plan, plan


def _journal_with_entries(store: Store, incident: Any) -> list[int]:
    out = []
    for uid in (2, 3, 4):
        eid = store.journal_intent(incident.id, "block_user", "user", uid, f"u{uid}")
        store.journal_update(eid, "sent", http_status=201)
        store.journal_update(eid, "done", post_state={"state": "blocked"})
        out.append(eid)
    return out


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE journal SET state = 'failed' WHERE id = {e}",
        "UPDATE journal SET target_id = 99 WHERE id = {e}",
        "UPDATE journal SET params = '{{\"x\":1}}' WHERE id = {e}",
        "DELETE FROM journal WHERE id = {e}",
        "UPDATE journal_chain SET record = replace(record, 'blocked', 'active') "
        "WHERE entry_id = {e}",
        "DELETE FROM journal_chain WHERE seq = (SELECT min(seq) FROM journal_chain "
        "WHERE entry_id = {e})",
        "UPDATE journal_chain SET seq = -seq WHERE entry_id = {e}",
        # odd rows must be reported, not crash the verification
        "UPDATE journal_chain SET record = '[1]' WHERE entry_id = {e}",
        "UPDATE journal_chain SET record = 'null' WHERE entry_id = {e}",
        "UPDATE journal_chain SET record = replace(record, 'blocked', 'blöcked') "
        "WHERE entry_id = {e}",
        "UPDATE journal_chain SET record = X'00FF' WHERE entry_id = {e}",
        "UPDATE journal_chain SET prev_hash = X'00' WHERE entry_id = {e}",
    ],
)
def test_chain_detects_tampering(store: Store, incident: Any, tamper: str) -> None:
    entries = _journal_with_entries(store, incident)
    other = store.create_incident("other", "compromised-account", None, "https://g", None, None)
    store.journal_intent(other.id, "block_user", "user", 1, "root")
    assert store.verify_chain(incident.id) and store.verify_chain(other.id)
    store._conn().execute(tamper.format(e=entries[1]))
    assert not store.verify_chain(incident.id)
    assert store.journal_problems(incident.id)
    assert store.verify_chain(other.id)  # chains are per incident


def test_chain_rewrite_with_recomputed_hashes_changes_head(store: Store, incident: Any) -> None:
    """A full rewrite is only caught by an external anchor: the head hash must change."""
    _journal_with_entries(store, incident)
    head = store.journal_head(incident.id)
    store.journal_update(1, "failed", error="rewritten")
    assert store.verify_chain(incident.id)
    assert store.journal_head(incident.id) != head


# ----------------------------------------------------------------- scale


def test_100k_rows_timing(tmp_path: Path) -> None:
    """Prints timings for 100,000 users (no timing asserts: CI machines vary)."""
    s = Store.open(tmp_path / "big" / "console.db")
    inc = s.create_incident("big", "compromised-instance", None, "https://g", *WINDOW)
    pages = [
        [
            _user(
                i,
                f"user{i}",
                name=f"User Number {i}",
                is_admin=i % 997 == 0,
                two_factor_enabled=i % 3 != 0,
                state="blocked" if i % 41 == 0 else "active",
                created_at=f"2025-0{1 + i % 6}-0{1 + i % 9}T10:00:00.000Z",
                last_sign_in_at="2025-05-02T10:00:00.000Z" if i % 7 == 0 else None,
            )
            for i in range(start, start + 100)
        ]
        for start in range(1, 100_001, 100)
    ]
    t0 = time.perf_counter()
    for page in pages:  # the loader's shape: calls of 100 rows, one commit each
        s.upsert_users(inc.id, page, "2025-05-04T00:00:00Z")
    upsert = time.perf_counter() - t0
    for i in range(1, 100_001, 200):
        s.set_mark(inc.id, "user", i, "cleared")
    print(f"\nupsert 100,000 users in 1,000 calls of 100: {upsert:.2f} s")
    queries = [
        UserQuery(),
        UserQuery(sort="username"),
        UserQuery(sort="created_at", descending=True),
        UserQuery(search="99", sort="name", descending=True),
        UserQuery(search="USER NUMBER", sort="last_sign_in_at"),
        UserQuery(filters=frozenset({"admins", "no_2fa"})),
        UserQuery(filters=frozenset({"unreviewed"}), sort="mark"),
        UserQuery(sort="mark", descending=True),
        UserQuery(filters=frozenset({"signed_in_in_window", "blocked"}), sort="risk"),
        UserQuery(filters=frozenset({"created_in_window"}), sort="username", descending=True),
    ]
    for q in queries:
        t0 = time.perf_counter()
        got = s.user_ids(inc.id, q)
        ms = (time.perf_counter() - t0) * 1000
        print(
            f"user_ids {ms:6.1f} ms -> {len(got):6d} ids  {q.search!r} "
            f"{sorted(q.filters)} sort={q.sort}{' desc' if q.descending else ''}"
        )
    assert len(s.user_ids(inc.id, UserQuery())) == 100_000
    t0 = time.perf_counter()
    page = s.users_by_ids(inc.id, got[:80])
    print(f"users_by_ids(80): {(time.perf_counter() - t0) * 1000:.1f} ms")
    assert [r.id for r in page] == got[:80]
    t0 = time.perf_counter()
    progress = s.review_progress(inc.id)
    print(f"review_progress: {(time.perf_counter() - t0) * 1000:.1f} ms")
    assert progress.reviewed == 500 and progress.total == 100_000
    s.close()


# ----------------------------------------------------------------- console.paths


def test_paths_follow_xdg_and_create_nothing(isolated_home: Path) -> None:
    from console import APP_NAME, paths

    expected = {
        paths.config_dir(): isolated_home / ".config" / APP_NAME,
        paths.data_dir(): isolated_home / ".local/share" / APP_NAME,
        paths.state_dir(): isolated_home / ".local/state" / APP_NAME,
        paths.cache_dir(): isolated_home / ".cache" / APP_NAME,
    }
    for got, want in expected.items():
        assert got == want
        assert not got.exists()  # computing a path never creates it
    assert paths.log_dir().is_relative_to(isolated_home)
    assert not paths.log_dir().exists()


def test_private_dir_creates_and_tightens(tmp_path: Path) -> None:
    from console.paths import private_dir

    new = private_dir(tmp_path / "a" / "b")
    assert _mode(new) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o775)
    assert _mode(private_dir(loose)) == 0o700
    (tmp_path / "link").symlink_to(loose)
    from console.paths import UnsafePathError

    with pytest.raises(UnsafePathError, match="link is a symbolic link"):
        private_dir(tmp_path / "link")


def test_harden_process_in_a_child() -> None:
    code = textwrap.dedent(
        """
        import json, os, resource
        from console.paths import harden_process
        applied = harden_process()
        umask = os.umask(0); os.umask(umask)
        dumpable = None
        try:
            import ctypes
            libc = ctypes.CDLL(None)
            dumpable = libc.prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
        except Exception:
            pass
        print(json.dumps({"applied": applied, "umask": umask,
                          "core": resource.getrlimit(resource.RLIMIT_CORE),
                          "dumpable": dumpable}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    import json

    report = json.loads(out.stdout)
    assert report["umask"] == 0o077
    assert "umask 077" in report["applied"]
    assert report["core"] == [0, 0]
    if sys.platform.startswith("linux"):
        assert "not dumpable (PR_SET_DUMPABLE=0)" in report["applied"]
        assert report["dumpable"] == 0


# ----------------------------------------------------------------- review fixes


def test_failed_commit_does_not_wedge_the_thread_connection(store: Store) -> None:
    inc = store.create_incident("x", "compromised-instance", None, "https://g", None, None)
    with pytest.raises(sqlite3.IntegrityError), store._write() as con:
        con.execute("PRAGMA defer_foreign_keys = ON")  # the FK check moves to COMMIT
        con.execute("INSERT INTO users (incident_id, id) VALUES (?, 1)", (inc.id + 99,))
    assert not store._conn().in_transaction
    store.save_ui_state(inc.id, "k", 1)  # the next write on this thread still works
    assert store.load_ui_state(inc.id) == {"k": 1}
    assert store.count_users(inc.id + 99) == 0  # the failed transaction left nothing behind


def test_write_error_is_not_masked_when_sqlite_already_rolled_back(store: Store) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), store._write() as con:
        con.execute("ROLLBACK")  # as SQLite does by itself on some errors (FULL, IOERR)
        raise Boom
    store.save_ui_state(None, "k", 2)
    assert store.load_ui_state(None) == {"k": 2}


def test_list_refresh_without_email_keeps_the_detail_email_searchable(store: Store) -> None:
    inc = store.create_incident("x", "compromised-instance", None, "https://g", None, None)
    detail = _user(9, "erin", email="Érin.Secret@Corp.example")
    store.upsert_user_detail(inc.id, detail)
    assert store.user_ids(inc.id, UserQuery(search="érin.secret@corp")) == [9]
    listed = {k: v for k, v in detail.items() if k != "email"}  # e.g. a non-admin list page
    store.upsert_users(inc.id, [listed], "2025-05-04T00:00:00Z")
    row = store.get_user(inc.id, 9)
    assert row is not None and row.email == "Érin.Secret@Corp.example"  # kept (coalesce)
    assert store.user_ids(inc.id, UserQuery(search="ÉRIN.SECRET@corp")) == [9]  # and searchable
    assert store.user_ids(inc.id, UserQuery(search="erin")) == [9]
    store.upsert_users(inc.id, [dict(listed, email="new@corp.example")], "2025-05-05")
    assert store.user_ids(inc.id, UserQuery(search="érin.secret")) == []  # a new email replaces
    assert store.user_ids(inc.id, UserQuery(search="new@corp")) == [9]


def test_a_file_that_is_not_a_database_is_reported_as_corrupt(tmp_path: Path) -> None:
    from console.store import StoreCorruptError

    db = tmp_path / "g" / "console.db"
    db.parent.mkdir(mode=0o700)
    db.write_bytes(b"definitely not SQLite\n" * 200)
    with pytest.raises(StoreCorruptError, match="not a readable console database"):
        Store.open(db)
