"""The SQLite facade: incidents, the users cache, review marks, UI state, cached data, journal.

Durability and privacy:

* one connection per thread, opened lazily (``threading.local``); never share one across threads
  or across ``fork()``;
* ``journal_mode=WAL``, ``synchronous=FULL`` (a commit survives power loss), ``foreign_keys=ON``,
  ``busy_timeout=5000``; ``PRAGMA quick_check`` when the store is opened;
* the schema is versioned with ``PRAGMA user_version`` and migrated forward in one transaction;
* the directory is 0700 (``paths.private_dir``) and the database, ``-wal`` and ``-shm`` are 0600;
* values are stdlib types or JSON text, never pickle.

The users table is kept lean (no raw JSON) so that filtering, searching and sorting 100,000 rows
is a single fast scan; the raw GitLab JSON lives in ``user_raw``.

The journal is a write-ahead log of response actions.  Every change to an entry (its intent and
each later update) is also appended to ``journal_chain`` as canonical JSON whose SHA-256 commits
to the previous record of the same incident, so :meth:`Store.verify_chain` detects an edited,
reordered or deleted record (except a truncated tail: anchor :meth:`Store.journal_head` outside).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from console.paths import private_dir, state_dir

__all__ = [
    "BLOCKED_STATES",
    "BOT_USER_TYPES",
    "FILTERS",
    "JOURNAL_STATES",
    "SCHEMA_VERSION",
    "SORT_KEYS",
    "Incident",
    "JournalEntry",
    "Mark",
    "ReviewProgress",
    "Store",
    "StoreCorruptError",
    "StoreError",
    "UserQuery",
    "UserRow",
    "canonical_json",
    "normalize_ts",
    "user_kind",
    "window_bound",
]

SCHEMA_VERSION: Final = 1
DB_FILENAME: Final = "console.db"

INCIDENT_KINDS: Final = frozenset({"compromised-instance", "compromised-account"})
INCIDENT_STATUSES: Final = frozenset({"open", "closed"})
MARKS: Final = frozenset({"cleared", "flagged"})
JOURNAL_STATES: Final = frozenset(
    {"intent", "sent", "done", "noop_already", "not_found", "forbidden", "failed", "unknown"}
)
JOURNAL_PENDING_STATES: Final = ("intent", "sent", "unknown")
BLOCKED_STATES: Final = (
    "blocked",
    "banned",
    "deactivated",
    "ldap_blocked",
    "blocked_pending_approval",
)
BOT_USER_TYPES: Final = frozenset(
    {
        "project_bot",
        "group_bot",
        "alert_bot",
        "support_bot",
        "visual_review_bot",
        "migration_bot",
        "security_bot",
        "automation_bot",
        "security_policy_bot",
        "admin_bot",
        "suggested_reviewers_bot",
        "llm_bot",
        "duo_code_review_bot",
        "ghost",
        "import_user",
        "placeholder",
        "service_user",
    }
)
FILTERS: Final = frozenset(
    {
        "admins",
        "no_2fa",
        "bots",
        "blocked",
        "created_in_window",
        "signed_in_in_window",
        "unreviewed",
        "flagged",
        "cleared",
        "risky",
    }
)
ZERO_HASH: Final = "0" * 64


class StoreError(RuntimeError):
    """The store cannot be used (newer schema, unsafe path, bad argument)."""


class StoreCorruptError(StoreError):
    """``PRAGMA quick_check`` reported damage."""


# --------------------------------------------------------------------------- helpers


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_CANONICAL_TS: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")
_UTC_TS: Final = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(?:Z|z|\+00:00|\+0000)\Z", re.ASCII
)


def normalize_ts(value: object) -> str | None:
    """ISO-8601 → ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, so that timestamps compare as strings.

    Dates (``YYYY-MM-DD``) are kept as they are; anything unparseable is returned unchanged
    (as a string) rather than lost.  ``None``/``""`` → ``None``.
    """
    if value is None or value == "":
        return None
    s = str(value)
    if _CANONICAL_TS.match(s):
        return s
    m = _UTC_TS.match(s)
    if m:
        return f"{m[1]}.{(m[2] or '')[1:4].ljust(3, '0')}Z"
    if len(s) == 10 and s[4:5] == "-" and s[7:8] == "-":
        return s
    try:
        dt = datetime.fromisoformat(s.replace("z", "Z"))
    except ValueError:
        return s
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def window_bound(value: object, *, end: bool) -> str | None:
    """Like :func:`normalize_ts`, but a bare date becomes the start or the end of that UTC day."""
    ts = normalize_ts(value)
    if ts is not None and len(ts) == 10:
        return ts + ("T23:59:59.999Z" if end else "T00:00:00.000Z")
    return ts


def canonical_json(value: object) -> str:
    """Sorted keys, ASCII only, no whitespace: the form that the journal chain hashes."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def _dbstr(value: object) -> str | None:
    """A string SQLite can store: lone surrogates (invalid UTF-8) become U+FFFD."""
    if value is None:
        return None
    s = value if isinstance(value, str) else str(value)
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return s


def _opt_bool(value: object) -> int | None:
    if value is None:
        return None
    return 1 if value else 0


def _opt_int(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def user_kind(user: Mapping[str, Any]) -> Literal["human", "bot", "service"]:
    """``service`` for service accounts, ``bot`` for bot/internal users, else ``human``."""
    user_type = user.get("user_type")
    if user_type == "service_account":
        return "service"
    if user.get("bot") or user_type in BOT_USER_TYPES:
        return "bot"
    return "human"


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    title: str
    kind: str
    profile: str | None
    instance_url: str
    subjects: tuple[str, ...]
    window_start: str | None
    window_end: str | None
    status: str
    created_at: str
    updated_at: str
    last_active_at: str

    @property
    def window(self) -> tuple[str | None, str | None]:
        return (self.window_start, self.window_end)


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    name: str
    email: str | None
    state: str | None
    is_admin: bool
    two_factor: bool | None
    kind: str
    user_type: str | None
    external: bool | None
    created_at: str | None
    last_sign_in_at: str | None
    current_sign_in_at: str | None
    last_activity_on: str | None
    current_sign_in_ip: str | None
    last_sign_in_ip: str | None
    sign_in_count: int | None
    risk: int
    risk_reasons: tuple[str, ...]
    mark: str | None
    note: str | None


USER_COLUMNS: Final[tuple[str, ...]] = tuple(UserRow.__dataclass_fields__)
SORT_KEYS: Final = frozenset(USER_COLUMNS) | {"risk", "mark"}


@dataclass(frozen=True, slots=True)
class UserQuery:
    search: str = ""
    filters: frozenset[str] = frozenset()
    sort: str = "id"
    descending: bool = False
    window: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Mark:
    object_type: str
    object_id: int | str
    mark: str | None
    note: str | None
    updated_at: str


@dataclass(frozen=True, slots=True)
class ReviewProgress:
    reviewed: int
    total: int
    root_reviewed: bool


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    incident_id: int
    action: str
    target_type: str
    target_id: int | str
    target_label: str
    params: dict[str, Any]
    state: str
    pre_state: Any
    post_state: Any
    http_status: int | None
    request_id: str | None
    error: str | None
    t_intent: str
    t_sent: str | None
    t_done: str | None
    prev_hash: str
    hash: str
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- schema

_SCHEMA_V1: Final = """
CREATE TABLE incidents (
    id             INTEGER PRIMARY KEY,
    title          TEXT NOT NULL,
    kind           TEXT NOT NULL,
    profile        TEXT,
    instance_url   TEXT NOT NULL,
    subjects       TEXT NOT NULL DEFAULT '[]',
    window_start   TEXT,
    window_end     TEXT,
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    last_active_at TEXT NOT NULL
);
CREATE INDEX incidents_active ON incidents (status, last_active_at);

CREATE TABLE users (
    incident_id        INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    id                 INTEGER NOT NULL,
    username           TEXT NOT NULL DEFAULT '',
    name               TEXT NOT NULL DEFAULT '',
    email              TEXT,
    state              TEXT,
    is_admin           INTEGER NOT NULL DEFAULT 0,
    two_factor         INTEGER,
    kind               TEXT NOT NULL DEFAULT 'human',
    user_type          TEXT,
    external           INTEGER,
    created_at         TEXT,
    last_sign_in_at    TEXT,
    current_sign_in_at TEXT,
    last_activity_on   TEXT,
    current_sign_in_ip TEXT,
    last_sign_in_ip    TEXT,
    sign_in_count      INTEGER,
    risk               INTEGER NOT NULL DEFAULT 0,
    risk_reasons       TEXT NOT NULL DEFAULT '[]',
    search_text        TEXT NOT NULL DEFAULT '',
    fetched_at         TEXT,
    detail_at          TEXT,
    PRIMARY KEY (incident_id, id)
) WITHOUT ROWID;
CREATE INDEX users_username ON users (incident_id, username COLLATE NOCASE);
CREATE INDEX users_created ON users (incident_id, created_at);

CREATE TABLE user_raw (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    id          INTEGER NOT NULL,
    list_json   TEXT,
    detail_json TEXT,
    PRIMARY KEY (incident_id, id)
);

CREATE TABLE marks (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    object_type TEXT NOT NULL,
    object_id   NOT NULL,  -- no declared type: ints stay ints, strings stay strings
    mark        TEXT CHECK (mark IS NULL OR mark IN ('cleared', 'flagged')),
    note        TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (incident_id, object_type, object_id)
);

CREATE TABLE ui_state (
    incident_id INTEGER NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (incident_id, key)
);

CREATE TABLE cache (
    incident_id INTEGER NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    fetched_at  TEXT NOT NULL,
    PRIMARY KEY (incident_id, key)
);

CREATE TABLE journal (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id),
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    NOT NULL,  -- no declared type (no affinity conversion)
    target_label TEXT NOT NULL DEFAULT '',
    params       TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL CHECK (state IN ('intent', 'sent', 'done', 'noop_already',
                                                'not_found', 'forbidden', 'failed', 'unknown')),
    pre_state    TEXT,
    post_state   TEXT,
    http_status  INTEGER,
    request_id   TEXT,
    error        TEXT,
    t_intent     TEXT NOT NULL,
    t_sent       TEXT,
    t_done       TEXT,
    extra        TEXT NOT NULL DEFAULT '{}',
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX journal_incident_state ON journal (incident_id, state);

CREATE TABLE journal_chain (
    seq         INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL,
    entry_id    INTEGER NOT NULL,
    record      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX journal_chain_incident ON journal_chain (incident_id, seq);
"""

_JOURNAL_JSON_FIELDS: Final = frozenset({"params", "pre_state", "post_state", "extra"})
_JOURNAL_UPDATABLE: Final = frozenset(
    {
        "pre_state",
        "post_state",
        "http_status",
        "request_id",
        "error",
        "t_sent",
        "t_done",
        "extra",
        "target_label",
    }
)
_INCIDENT_UPDATABLE: Final = frozenset(
    {
        "title",
        "kind",
        "profile",
        "instance_url",
        "subjects",
        "window_start",
        "window_end",
        "status",
    }
)

_USER_SELECT: Final = (
    "SELECT u.id, u.username, u.name, u.email, u.state, u.is_admin, u.two_factor, u.kind, "
    "u.user_type, u.external, u.created_at, u.last_sign_in_at, u.current_sign_in_at, "
    "u.last_activity_on, u.current_sign_in_ip, u.last_sign_in_ip, u.sign_in_count, u.risk, "
    "u.risk_reasons, m.mark, m.note FROM users u LEFT JOIN marks m "
    "ON m.incident_id = u.incident_id AND m.object_type = 'user' AND m.object_id = +u.id "
)

_SORT_SQL: Final[dict[str, str]] = {
    **{col: f"u.{col}" for col in USER_COLUMNS if col not in ("mark", "note")},
    "username": "u.username COLLATE NOCASE",
    "name": "u.name COLLATE NOCASE",
    "email": "u.email COLLATE NOCASE",
    "mark": "coalesce(m.mark, '')",
    "note": "coalesce(m.note, '')",
}


def _row_to_user(r: Sequence[Any]) -> UserRow:
    return UserRow(
        id=r[0],
        username=r[1],
        name=r[2],
        email=r[3],
        state=r[4],
        is_admin=bool(r[5]),
        two_factor=None if r[6] is None else bool(r[6]),
        kind=r[7],
        user_type=r[8],
        external=None if r[9] is None else bool(r[9]),
        created_at=r[10],
        last_sign_in_at=r[11],
        current_sign_in_at=r[12],
        last_activity_on=r[13],
        current_sign_in_ip=r[14],
        last_sign_in_ip=r[15],
        sign_in_count=r[16],
        risk=r[17],
        risk_reasons=() if r[18] == "[]" else tuple(json.loads(r[18])),
        mark=r[19],
        note=r[20],
    )


def _row_to_incident(r: Sequence[Any]) -> Incident:
    return Incident(
        id=r[0],
        title=r[1],
        kind=r[2],
        profile=r[3],
        instance_url=r[4],
        subjects=tuple(json.loads(r[5])),
        window_start=r[6],
        window_end=r[7],
        status=r[8],
        created_at=r[9],
        updated_at=r[10],
        last_active_at=r[11],
    )


_INCIDENT_COLS: Final = (
    "id, title, kind, profile, instance_url, subjects, window_start, window_end, status, "
    "created_at, updated_at, last_active_at"
)
_JOURNAL_COLS: Final = (
    "id, incident_id, action, target_type, target_id, target_label, params, state, pre_state, "
    "post_state, http_status, request_id, error, t_intent, t_sent, t_done, prev_hash, hash, extra"
)
_SELECT_INCIDENTS: Final = f"SELECT {_INCIDENT_COLS} FROM incidents"  # noqa: S608
_SELECT_JOURNAL: Final = f"SELECT {_JOURNAL_COLS} FROM journal"  # noqa: S608


def _loads_opt(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _row_to_journal(r: Sequence[Any]) -> JournalEntry:
    return JournalEntry(
        id=r[0],
        incident_id=r[1],
        action=r[2],
        target_type=r[3],
        target_id=r[4],
        target_label=r[5],
        params=json.loads(r[6]),
        state=r[7],
        pre_state=_loads_opt(r[8]),
        post_state=_loads_opt(r[9]),
        http_status=r[10],
        request_id=r[11],
        error=r[12],
        t_intent=r[13],
        t_sent=r[14],
        t_done=r[15],
        prev_hash=r[16],
        hash=r[17],
        extra=json.loads(r[18]),
    )


def _user_values(
    incident_id: int, user: Mapping[str, Any], fetched_at: str | None
) -> tuple[Any, ...]:
    username = _dbstr(user.get("username")) or ""
    name = _dbstr(user.get("name")) or ""
    email = _dbstr(user.get("email"))
    search = "\n".join((username, name, email or "")).casefold()
    two_factor = user.get("two_factor_enabled", user.get("two_factor"))
    return (
        incident_id,
        _opt_int(user.get("id")),
        username,
        name,
        email,
        _dbstr(user.get("state")),
        1 if user.get("is_admin") else 0,
        _opt_bool(two_factor),
        user_kind(user),
        _dbstr(user.get("user_type")),
        _opt_bool(user.get("external")),
        normalize_ts(user.get("created_at")),
        normalize_ts(user.get("last_sign_in_at")),
        normalize_ts(user.get("current_sign_in_at")),
        _dbstr(user.get("last_activity_on")),
        _dbstr(user.get("current_sign_in_ip")),
        _dbstr(user.get("last_sign_in_ip")),
        _opt_int(user.get("sign_in_count")),
        search,
        fetched_at,
    )


_UPSERT_USERS: Final = """
INSERT INTO users (incident_id, id, username, name, email, state, is_admin, two_factor, kind,
                   user_type, external, created_at, last_sign_in_at, current_sign_in_at,
                   last_activity_on, current_sign_in_ip, last_sign_in_ip, sign_in_count,
                   search_text, fetched_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (incident_id, id) DO UPDATE SET
    username = excluded.username,
    name = excluded.name,
    email = coalesce(excluded.email, users.email),
    state = excluded.state,
    is_admin = excluded.is_admin,
    two_factor = coalesce(excluded.two_factor, users.two_factor),
    kind = excluded.kind,
    user_type = coalesce(excluded.user_type, users.user_type),
    external = coalesce(excluded.external, users.external),
    created_at = coalesce(excluded.created_at, users.created_at),
    last_sign_in_at = coalesce(excluded.last_sign_in_at, users.last_sign_in_at),
    current_sign_in_at = coalesce(excluded.current_sign_in_at, users.current_sign_in_at),
    last_activity_on = coalesce(excluded.last_activity_on, users.last_activity_on),
    current_sign_in_ip = coalesce(excluded.current_sign_in_ip, users.current_sign_in_ip),
    last_sign_in_ip = coalesce(excluded.last_sign_in_ip, users.last_sign_in_ip),
    sign_in_count = coalesce(excluded.sign_in_count, users.sign_in_count),
    search_text = excluded.search_text,
    fetched_at = coalesce(excluded.fetched_at, users.fetched_at)
"""


# --------------------------------------------------------------------------- the store


class Store:
    """Thread-safe facade over one SQLite file (one connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str | None = None) -> Store:
        """Open (creating if needed) the store at ``path`` (default: ``state_dir()/console.db``).

        Creates the parent directory 0700 and the file 0600, migrates the schema and runs
        ``PRAGMA quick_check``.  Raises :class:`StoreCorruptError` or :class:`StoreError`.
        """
        p = Path(path) if path is not None else state_dir() / DB_FILENAME
        private_dir(p.parent)
        _ensure_private_file(p)
        store = cls(p)
        con = store._conn()
        result = con.execute("PRAGMA quick_check").fetchone()
        if not result or result[0] != "ok":
            store.close()
            raise StoreCorruptError(f"database check failed: {result[0] if result else '?'}")
        store._migrate(con)
        store._tighten_sidecars()
        return store

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
        with self._lock:
            self._closed = True
            conns, self._connections = self._connections, []
        for con in conns:
            with contextlib.suppress(sqlite3.Error):
                con.close()
        self._local = threading.local()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is not None:
            return con
        if self._closed:
            raise StoreError("store is closed")
        con = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=5.0
        )
        con.execute("PRAGMA busy_timeout = 5000")
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()
        if not mode or str(mode[0]).lower() != "wal":
            con.close()
            raise StoreError(f"cannot enable WAL on {self.path} (got {mode})")
        con.execute("PRAGMA synchronous = FULL")
        con.execute("PRAGMA foreign_keys = ON")
        self._local.con = con
        with self._lock:
            self._connections.append(con)
        return con

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        con = self._conn()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def _migrate(self, con: sqlite3.Connection) -> None:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}; this console understands "
                f"up to {SCHEMA_VERSION}. Use a newer console or another --state-dir."
            )
        if version == SCHEMA_VERSION:
            return
        # executescript commits implicitly, so run each step, then stamp the version.
        for target in range(version, SCHEMA_VERSION):
            con.execute("BEGIN IMMEDIATE")
            try:
                current = con.execute("PRAGMA user_version").fetchone()[0]
                if current != target:  # another process migrated concurrently
                    con.execute("ROLLBACK")
                    continue
                _run_migration(con, target)
                con.execute(f"PRAGMA user_version = {target + 1}")
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise

    def _tighten_sidecars(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = Path(f"{self.path}{suffix}")
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
                    os.chmod(p, 0o600)

    @property
    def schema_version(self) -> int:
        return int(self._conn().execute("PRAGMA user_version").fetchone()[0])

    # -- incidents ---------------------------------------------------------------------------

    def create_incident(
        self,
        title: str,
        kind: str,
        profile: str | None,
        instance_url: str,
        window_start: str | None,
        window_end: str | None,
        subjects: Iterable[str] = (),
    ) -> Incident:
        if kind not in INCIDENT_KINDS:
            raise StoreError(f"incident kind must be one of {sorted(INCIDENT_KINDS)}")
        now = _now()
        with self._write() as con:
            cur = con.execute(
                "INSERT INTO incidents (title, kind, profile, instance_url, subjects, "
                "window_start, window_end, status, created_at, updated_at, last_active_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
                (
                    _dbstr(title),
                    kind,
                    _dbstr(profile),
                    _dbstr(instance_url),
                    _dumps([str(s) for s in subjects]),
                    window_bound(window_start, end=False),
                    window_bound(window_end, end=True),
                    now,
                    now,
                    now,
                ),
            )
            new_id = int(cur.lastrowid or 0)
        incident = self.get_incident(new_id)
        assert incident is not None
        return incident

    def list_incidents(self, status: str | None = "open") -> list[Incident]:
        """Incidents (``status=None`` for all), most recently active first."""
        sql = _SELECT_INCIDENTS
        args: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        sql += " ORDER BY last_active_at DESC, id DESC"
        return [_row_to_incident(r) for r in self._conn().execute(sql, args)]

    def get_incident(self, incident_id: int) -> Incident | None:
        r = (
            self._conn()
            .execute(_SELECT_INCIDENTS + " WHERE id = ?", (incident_id,))
            .fetchone()
        )
        return _row_to_incident(r) if r else None

    def update_incident(self, incident_id: int, **fields: Any) -> Incident:
        unknown = set(fields) - _INCIDENT_UPDATABLE
        if unknown:
            raise StoreError(f"cannot update incident fields {sorted(unknown)}")
        if "kind" in fields and fields["kind"] not in INCIDENT_KINDS:
            raise StoreError(f"incident kind must be one of {sorted(INCIDENT_KINDS)}")
        if "status" in fields and fields["status"] not in INCIDENT_STATUSES:
            raise StoreError("incident status must be 'open' or 'closed'")
        values: dict[str, Any] = {}
        for key, value in fields.items():
            if key == "subjects":
                values[key] = _dumps([str(s) for s in value])
            elif key in ("window_start", "window_end"):
                values[key] = window_bound(value, end=key == "window_end")
            else:
                values[key] = _dbstr(value)
        now = _now()
        values["updated_at"] = now
        values["last_active_at"] = now
        assignments = ", ".join(f"{k} = ?" for k in values)
        with self._write() as con:
            cur = con.execute(
                f"UPDATE incidents SET {assignments} WHERE id = ?",  # noqa: S608 (keys checked)
                (*values.values(), incident_id),
            )
            if cur.rowcount != 1:
                raise StoreError(f"no incident #{incident_id}")
        incident = self.get_incident(incident_id)
        assert incident is not None
        return incident

    def touch_incident(self, incident_id: int) -> None:
        with self._write() as con:
            con.execute(
                "UPDATE incidents SET last_active_at = ? WHERE id = ?", (_now(), incident_id)
            )

    def _window(self, incident_id: int, q: UserQuery | None) -> tuple[str | None, str | None]:
        if q is not None and q.window is not None:
            return (window_bound(q.window[0], end=False), window_bound(q.window[1], end=True))
        inc = self.get_incident(incident_id)
        return inc.window if inc else (None, None)

    # -- users -------------------------------------------------------------------------------

    def upsert_users(
        self, incident_id: int, users: Iterable[Mapping[str, Any]], fetched_at: str
    ) -> int:
        """Insert or refresh users from ``GET /users`` JSON; returns how many were written.

        Fields the list response lacks (IPs, ``sign_in_count``) never overwrite values that
        :meth:`upsert_user_detail` filled in; risk and marks are untouched.
        """
        fetched = normalize_ts(fetched_at)
        rows = []
        raws = []
        for user in users:
            values = _user_values(incident_id, user, fetched)
            if values[1] is None:
                continue
            rows.append(values)
            raws.append((incident_id, values[1], _dumps(user)))
        if not rows:
            return 0
        with self._write() as con:
            con.executemany(_UPSERT_USERS, rows)
            con.executemany(
                "INSERT INTO user_raw (incident_id, id, list_json) VALUES (?, ?, ?) "
                "ON CONFLICT (incident_id, id) DO UPDATE SET list_json = excluded.list_json",
                raws,
            )
        return len(rows)

    def upsert_user_detail(self, incident_id: int, user: Mapping[str, Any]) -> None:
        """Merge a ``GET /users/:id`` response (adds IPs and ``sign_in_count``)."""
        values = _user_values(incident_id, user, None)
        if values[1] is None:
            raise StoreError("user detail without an id")
        now = _now()
        with self._write() as con:
            con.execute(_UPSERT_USERS, values)
            con.execute(
                "UPDATE users SET detail_at = ? WHERE incident_id = ? AND id = ?",
                (now, incident_id, values[1]),
            )
            con.execute(
                "INSERT INTO user_raw (incident_id, id, detail_json) VALUES (?, ?, ?) "
                "ON CONFLICT (incident_id, id) DO UPDATE SET detail_json = excluded.detail_json",
                (incident_id, values[1], _dumps(user)),
            )

    def user_raw(self, incident_id: int, user_id: int) -> dict[str, Any] | None:
        """The stored GitLab JSON: the detail response merged over the list response."""
        r = (
            self._conn()
            .execute(
                "SELECT list_json, detail_json FROM user_raw WHERE incident_id = ? AND id = ?",
                (incident_id, user_id),
            )
            .fetchone()
        )
        if r is None:
            return None
        merged: dict[str, Any] = {}
        for text in r:
            if text:
                merged.update(json.loads(text))
        return merged

    def _where(
        self, incident_id: int, q: UserQuery | None
    ) -> tuple[str, list[Any], bool]:
        """WHERE clause, its arguments and whether the marks join is needed."""
        clauses = ["u.incident_id = ?"]
        args: list[Any] = [incident_id]
        need_marks = False
        if q is None:
            return " WHERE " + clauses[0], args, False
        unknown = set(q.filters) - FILTERS
        if unknown:
            raise StoreError(f"unknown user filters {sorted(unknown)}")
        if q.search:
            term = q.search.casefold()
            clauses.append(
                "(instr(u.search_text, ?) > 0 OR instr(lower(coalesce(u.current_sign_in_ip, "
                "'')), ?) > 0 OR instr(lower(coalesce(u.last_sign_in_ip, '')), ?) > 0)"
            )
            args += [term, term, term]
        f = q.filters
        if "admins" in f:
            clauses.append("u.is_admin = 1")
        if "no_2fa" in f:
            clauses.append("u.two_factor = 0")
        if "bots" in f:
            clauses.append("u.kind IN ('bot', 'service')")
        if "blocked" in f:
            clauses.append(f"u.state IN ({', '.join('?' * len(BLOCKED_STATES))})")
            args += list(BLOCKED_STATES)
        if "risky" in f:
            clauses.append("u.risk > 0")
        if "created_in_window" in f or "signed_in_in_window" in f:
            start, end = self._window(incident_id, q)
            lo, hi = start or "", end or "9999"

            def between(col: str) -> str:
                args.extend([lo, hi])
                return f"(u.{col} >= ? AND u.{col} <= ?)"

            if "created_in_window" in f:
                clauses.append(between("created_at"))
            if "signed_in_in_window" in f:
                clauses.append(
                    f"({between('current_sign_in_at')} OR {between('last_sign_in_at')})"
                )
        if "unreviewed" in f:
            clauses.append("m.mark IS NULL")
            need_marks = True
        if "flagged" in f:
            clauses.append("m.mark = 'flagged'")
            need_marks = True
        if "cleared" in f:
            clauses.append("m.mark = 'cleared'")
            need_marks = True
        return " WHERE " + " AND ".join(clauses), args, need_marks

    _MARK_JOIN: Final = (
        " LEFT JOIN marks m ON m.incident_id = u.incident_id AND m.object_type = 'user'"
        " AND m.object_id = +u.id"
    )

    def count_users(self, incident_id: int, q: UserQuery | None = None) -> int:
        where, args, need_marks = self._where(incident_id, q)
        join = self._MARK_JOIN if need_marks else ""
        sql = "SELECT count(*) FROM users u" + join + where  # noqa: S608
        return int(self._conn().execute(sql, args).fetchone()[0])

    def user_ids(self, incident_id: int, q: UserQuery) -> list[int]:
        """Filtered, searched and sorted ids (ties broken by id): the virtual table's index."""
        if q.sort not in SORT_KEYS:
            raise StoreError(f"unknown sort key {q.sort!r}")
        where, args, need_marks = self._where(incident_id, q)
        need_marks = need_marks or q.sort in ("mark", "note")
        direction = "DESC" if q.descending else "ASC"
        order = f" ORDER BY {_SORT_SQL[q.sort]} {direction}"
        if q.sort != "id":
            order += ", u.id ASC"
        join = self._MARK_JOIN if need_marks else ""
        sql = "SELECT u.id FROM users u" + join + where + order  # noqa: S608
        return [r[0] for r in self._conn().execute(sql, args)]

    def users_by_ids(self, incident_id: int, ids: Sequence[int]) -> list[UserRow]:
        """Rows for ``ids`` in the same order (unknown ids are skipped)."""
        found: dict[int, UserRow] = {}
        con = self._conn()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            sql = _USER_SELECT + f"WHERE u.incident_id = ? AND u.id IN ({marks})"
            for r in con.execute(sql, (incident_id, *chunk)):
                found[r[0]] = _row_to_user(r)
        return [found[i] for i in ids if i in found]

    def get_user(self, incident_id: int, user_id: int) -> UserRow | None:
        rows = self.users_by_ids(incident_id, [user_id])
        return rows[0] if rows else None

    def iter_users(self, incident_id: int, batch: int = 5000) -> Iterator[UserRow]:
        """Every cached user of the incident in id order (for risk computation, exports)."""
        con = self._conn()
        last = -(2**62)
        while True:
            rows = con.execute(
                _USER_SELECT + "WHERE u.incident_id = ? AND u.id > ? ORDER BY u.id LIMIT ?",
                (incident_id, last, batch),
            ).fetchall()
            if not rows:
                return
            for r in rows:
                yield _row_to_user(r)
            last = rows[-1][0]

    def set_risk(
        self,
        incident_id: int,
        risks: Mapping[int, tuple[int, Sequence[str]]],
        *,
        replace: bool = True,
    ) -> None:
        """Store risk scores and reasons; with ``replace`` users not in ``risks`` go to 0."""
        rows = [
            (int(score), _dumps([_dbstr(r) for r in reasons]), incident_id, user_id)
            for user_id, (score, reasons) in risks.items()
        ]
        with self._write() as con:
            if replace:
                con.execute(
                    "UPDATE users SET risk = 0, risk_reasons = '[]' "
                    "WHERE incident_id = ? AND (risk != 0 OR risk_reasons != '[]')",
                    (incident_id,),
                )
            con.executemany(
                "UPDATE users SET risk = ?, risk_reasons = ? WHERE incident_id = ? AND id = ?",
                rows,
            )

    # -- marks -------------------------------------------------------------------------------

    def set_mark(
        self,
        incident_id: int,
        object_type: str,
        object_id: int | str,
        mark: str | None,
        note: str | None = None,
    ) -> None:
        """Set or clear a review mark; a mark of None with no note deletes the row."""
        if mark is not None and mark not in MARKS:
            raise StoreError("mark must be 'cleared', 'flagged' or None")
        if object_type == "user" and isinstance(object_id, str) and object_id.isdigit():
            object_id = int(object_id)  # user marks join on the numeric id
        with self._write() as con:
            if mark is None and note is None:
                con.execute(
                    "DELETE FROM marks WHERE incident_id = ? AND object_type = ? "
                    "AND object_id = ?",
                    (incident_id, object_type, object_id),
                )
                return
            con.execute(
                "INSERT INTO marks (incident_id, object_type, object_id, mark, note, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, object_type, object_id) "
                "DO UPDATE SET mark = excluded.mark, note = excluded.note, "
                "updated_at = excluded.updated_at",
                (incident_id, object_type, object_id, mark, _dbstr(note), _now()),
            )

    def marks(self, incident_id: int, object_type: str) -> dict[int | str, Mark]:
        rows = self._conn().execute(
            "SELECT object_type, object_id, mark, note, updated_at FROM marks "
            "WHERE incident_id = ? AND object_type = ?",
            (incident_id, object_type),
        )
        return {r[1]: Mark(*r) for r in rows}

    def review_progress(self, incident_id: int) -> ReviewProgress:
        con = self._conn()
        total = con.execute(
            "SELECT count(*) FROM users WHERE incident_id = ?", (incident_id,)
        ).fetchone()[0]
        reviewed = con.execute(
            "SELECT count(*) FROM users u JOIN marks m ON m.incident_id = u.incident_id "
            "AND m.object_type = 'user' AND m.object_id = +u.id "
            "WHERE u.incident_id = ? AND m.mark IS NOT NULL",
            (incident_id,),
        ).fetchone()[0]
        root = con.execute(
            "SELECT 1 FROM marks m WHERE m.incident_id = ? AND m.object_type = 'user' "
            "AND m.mark IS NOT NULL AND (m.object_id = 1 OR m.object_id IN "
            "(SELECT id FROM users WHERE incident_id = ? AND username = 'root')) LIMIT 1",
            (incident_id, incident_id),
        ).fetchone()
        return ReviewProgress(int(reviewed), int(total), root is not None)

    # -- UI state and cache ------------------------------------------------------------------

    def save_ui_state(self, incident_id: int | None, key: str, value: Any) -> None:
        """One small transaction; ``incident_id=None`` stores an app-wide key."""
        with self._write() as con:
            con.execute(
                "INSERT INTO ui_state (incident_id, key, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (incident_id, key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (incident_id or 0, key, _dumps(value), _now()),
            )

    def load_ui_state(self, incident_id: int | None) -> dict[str, Any]:
        rows = self._conn().execute(
            "SELECT key, value FROM ui_state WHERE incident_id = ?", (incident_id or 0,)
        )
        return {k: json.loads(v) for k, v in rows}

    def cache_put(self, incident_id: int | None, key: str, value: Any) -> str:
        """Store JSON-able server data; returns the ``fetched_at`` stamp."""
        now = _now()
        with self._write() as con:
            con.execute(
                "INSERT INTO cache (incident_id, key, value, fetched_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (incident_id, key) DO UPDATE SET value = excluded.value, "
                "fetched_at = excluded.fetched_at",
                (incident_id or 0, key, _dumps(value), now),
            )
        return now

    def cache_get(self, incident_id: int | None, key: str) -> tuple[Any, str] | None:
        r = (
            self._conn()
            .execute(
                "SELECT value, fetched_at FROM cache WHERE incident_id = ? AND key = ?",
                (incident_id or 0, key),
            )
            .fetchone()
        )
        return (json.loads(r[0]), r[1]) if r else None

    # -- journal -----------------------------------------------------------------------------

    def _append_chain(
        self, con: sqlite3.Connection, incident_id: int, entry_id: int, record: dict[str, Any]
    ) -> tuple[str, str]:
        prev = con.execute(
            "SELECT hash FROM journal_chain WHERE incident_id = ? ORDER BY seq DESC LIMIT 1",
            (incident_id,),
        ).fetchone()
        prev_hash = prev[0] if prev else ZERO_HASH
        text = canonical_json(record)
        digest = hashlib.sha256((prev_hash + text).encode("ascii")).hexdigest()
        con.execute(
            "INSERT INTO journal_chain (incident_id, entry_id, record, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?)",
            (incident_id, entry_id, text, prev_hash, digest),
        )
        return prev_hash, digest

    def journal_intent(
        self,
        incident_id: int,
        action: str,
        target_type: str,
        target_id: int | str,
        target_label: str = "",
        params: Mapping[str, Any] | None = None,
        pre_state: Any = None,
        *,
        state: str = "intent",
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        """Record (and commit, durably) the intent to act on one target; returns the entry id.

        ``state`` may be ``noop_already`` when a pre-read showed nothing needs doing.
        """
        if state not in JOURNAL_STATES:
            raise StoreError(f"unknown journal state {state!r}")
        now = _now()
        record: dict[str, Any] = {
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "target_label": _dbstr(target_label) or "",
            "params": dict(params or {}),
            "state": state,
            "pre_state": pre_state,
            "t_intent": now,
            "extra": dict(extra or {}),
        }
        if state != "intent":
            record["t_done"] = now
        with self._write() as con:
            cur = con.execute(
                "INSERT INTO journal (incident_id, action, target_type, target_id, target_label, "
                "params, state, pre_state, t_intent, t_done, extra, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '')",
                (
                    incident_id,
                    action,
                    target_type,
                    target_id,
                    record["target_label"],
                    _dumps(record["params"]),
                    state,
                    None if pre_state is None else _dumps(pre_state),
                    now,
                    record.get("t_done"),
                    _dumps(record["extra"]),
                ),
            )
            entry_id = int(cur.lastrowid or 0)
            record = {"entry": entry_id, "incident_id": incident_id, **record}
            prev_hash, digest = self._append_chain(con, incident_id, entry_id, record)
            con.execute(
                "UPDATE journal SET prev_hash = ?, hash = ? WHERE id = ?",
                (prev_hash, digest, entry_id),
            )
        return entry_id

    def journal_update(self, entry_id: int, state: str, **fields: Any) -> JournalEntry:
        """Move an entry to ``state`` and record response fields (committed before returning).

        ``t_sent`` is stamped automatically on ``sent`` and ``t_done`` on any final state.
        """
        if state not in JOURNAL_STATES:
            raise StoreError(f"unknown journal state {state!r}")
        unknown = set(fields) - _JOURNAL_UPDATABLE
        if unknown:
            raise StoreError(f"cannot update journal fields {sorted(unknown)}")
        now = _now()
        changes: dict[str, Any] = {"state": state, **fields}
        if state == "sent" and "t_sent" not in fields:
            changes["t_sent"] = now
        if state not in JOURNAL_PENDING_STATES and "t_done" not in fields:
            changes["t_done"] = now
        if "target_label" in changes:
            changes["target_label"] = _dbstr(changes["target_label"]) or ""
        if "error" in changes and changes["error"] is not None:
            changes["error"] = _dbstr(changes["error"])
        with self._write() as con:
            row = con.execute(
                "SELECT incident_id FROM journal WHERE id = ?", (entry_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no journal entry #{entry_id}")
            incident_id = row[0]
            record = {"entry": entry_id, "incident_id": incident_id, **changes}
            prev_hash, digest = self._append_chain(con, incident_id, entry_id, record)
            columns = {
                k: (_dumps(v) if k in _JOURNAL_JSON_FIELDS and v is not None else v)
                for k, v in changes.items()
            }
            columns["prev_hash"] = prev_hash
            columns["hash"] = digest
            assignments = ", ".join(f"{k} = ?" for k in columns)
            con.execute(
                f"UPDATE journal SET {assignments} WHERE id = ?",  # noqa: S608 (keys checked)
                (*columns.values(), entry_id),
            )
        entry = self.journal_entry(entry_id)
        assert entry is not None
        return entry

    def journal_entry(self, entry_id: int) -> JournalEntry | None:
        r = (
            self._conn()
            .execute(_SELECT_JOURNAL + " WHERE id = ?", (entry_id,))
            .fetchone()
        )
        return _row_to_journal(r) if r else None

    def journal_entries(self, incident_id: int) -> list[JournalEntry]:
        rows = self._conn().execute(
            _SELECT_JOURNAL + " WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [_row_to_journal(r) for r in rows]

    def journal_pending(self, incident_id: int) -> list[JournalEntry]:
        """Entries left in ``intent``, ``sent`` or ``unknown``: re-read them before anything."""
        rows = self._conn().execute(
            _SELECT_JOURNAL + " WHERE incident_id = ? "
            "AND state IN ('intent', 'sent', 'unknown') ORDER BY id",
            (incident_id,),
        )
        return [_row_to_journal(r) for r in rows]

    def journal_head(self, incident_id: int) -> str:
        """The newest chain hash: paste it into the incident ticket as an external anchor."""
        r = (
            self._conn()
            .execute(
                "SELECT hash FROM journal_chain WHERE incident_id = ? ORDER BY seq DESC LIMIT 1",
                (incident_id,),
            )
            .fetchone()
        )
        return str(r[0]) if r else ZERO_HASH

    def journal_problems(self, incident_id: int) -> list[str]:
        """Every inconsistency between the chain records, their hashes and the journal rows."""
        con = self._conn()
        problems: list[str] = []
        expected_prev = ZERO_HASH
        folded: dict[int, dict[str, Any]] = {}
        last_hash: dict[int, tuple[str, str]] = {}
        for seq, entry_id, text, prev_hash, digest in con.execute(
            "SELECT seq, entry_id, record, prev_hash, hash FROM journal_chain "
            "WHERE incident_id = ? ORDER BY seq",
            (incident_id,),
        ):
            if prev_hash != expected_prev:
                problems.append(f"record {seq}: broken link to the previous record")
            recomputed = hashlib.sha256((prev_hash + text).encode("ascii")).hexdigest()
            if recomputed != digest:
                problems.append(f"record {seq}: content does not match its hash")
            try:
                record = json.loads(text)
            except ValueError:
                problems.append(f"record {seq}: not JSON")
                record = {}
            if record.get("entry") != entry_id or record.get("incident_id") != incident_id:
                problems.append(f"record {seq}: names another entry or incident")
            folded.setdefault(entry_id, {}).update(record)
            last_hash[entry_id] = (prev_hash, digest)
            expected_prev = digest
        rows = {e.id: e for e in self.journal_entries(incident_id)}
        for entry_id in sorted(set(rows) - set(folded)):
            problems.append(f"entry {entry_id}: not in the chain")
        for entry_id in sorted(set(folded) - set(rows)):
            problems.append(f"entry {entry_id}: in the chain but missing from the journal")
        for entry_id, entry in rows.items():
            record = folded.get(entry_id)
            if record is None:
                continue
            for key in (
                "action",
                "target_type",
                "target_id",
                "target_label",
                "params",
                "state",
                "pre_state",
                "post_state",
                "http_status",
                "request_id",
                "error",
                "t_intent",
                "t_sent",
                "t_done",
                "extra",
            ):
                default: Any = {} if key in ("params", "extra") else None
                if getattr(entry, key) != record.get(key, default):
                    problems.append(f"entry {entry_id}: {key} differs from the chain")
            if (entry.prev_hash, entry.hash) != last_hash[entry_id]:
                problems.append(f"entry {entry_id}: hash columns differ from the chain")
        return problems

    def verify_chain(self, incident_id: int) -> bool:
        """True if the journal and its hash chain are consistent (see :meth:`journal_problems`)."""
        return not self.journal_problems(incident_id)


def _run_migration(con: sqlite3.Connection, from_version: int) -> None:
    """Run migration ``from_version → from_version + 1`` inside the caller's transaction."""
    if from_version == 0:
        for stmt in _SCHEMA_V1.split(";\n"):
            if stmt.strip():
                con.execute(stmt)
        return
    raise StoreError(f"no migration from schema version {from_version}")


def _ensure_private_file(path: Path) -> None:
    """Create the database file 0600 (never through a symlink) or tighten an existing one."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        os.close(fd)
        st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise StoreError(f"{path} is not a regular file; refusing to open it")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise StoreError(f"{path} is owned by uid {st.st_uid}, not by us")
    if stat.S_IMODE(st.st_mode) != 0o600:
        os.chmod(path, 0o600)
