"""The schema: DDL, ``PRAGMA user_version`` and forward migrations (one transaction each).

The users table is kept lean (no raw JSON) so that filtering, searching and sorting 100,000 rows
is a single fast scan; the raw GitLab JSON lives in ``user_raw``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Final

from console.store.errors import StoreError
from console.store.event_rows import search_text

__all__ = ["SCHEMA_VERSION", "migrate"]

SCHEMA_VERSION: Final = 7

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

# v2: responder notes (incident, user, credential, event) and hand-ticked runbook steps.
_SCHEMA_V2: Final = """
CREATE TABLE notes (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    object_type TEXT NOT NULL CHECK (object_type IN ('incident', 'user', 'credential', 'event')),
    object_id   TEXT NOT NULL,
    text        TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX notes_incident ON notes (incident_id, object_type, object_id);

CREATE TABLE runbook_ticks (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    author      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL,
    PRIMARY KEY (incident_id, key)
);
"""

# v3: the credentials inventory (never a secret value), and audit events behind the virtual
# table: one row per event, scope and incident; the categories an event belongs to; an FTS5
# index over the text a responder searches; and the time windows already fetched per scope.
_SCHEMA_V3: Final = """
CREATE TABLE audit_events (
    rid            INTEGER PRIMARY KEY,
    incident_id    INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    scope          TEXT NOT NULL,
    id             INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    author_id      INTEGER,
    author_name    TEXT NOT NULL DEFAULT '',
    entity_type    TEXT NOT NULL DEFAULT '',
    entity_id      INTEGER,
    entity_path    TEXT NOT NULL DEFAULT '',
    event_name     TEXT NOT NULL DEFAULT '',
    category       TEXT NOT NULL DEFAULT '',
    cat_mask       INTEGER NOT NULL DEFAULT 0,
    target_type    TEXT NOT NULL DEFAULT '',
    target_id      TEXT NOT NULL DEFAULT '',
    target_details TEXT NOT NULL DEFAULT '',
    ip_address     TEXT NOT NULL DEFAULT '',
    summary        TEXT NOT NULL DEFAULT '',
    details        TEXT NOT NULL DEFAULT '{}',
    UNIQUE (incident_id, scope, id)
);
CREATE INDEX audit_events_time ON audit_events (incident_id, created_at, id);
CREATE INDEX audit_events_author ON audit_events (incident_id, author_id, created_at);
CREATE INDEX audit_events_ip ON audit_events (incident_id, ip_address, created_at);
CREATE INDEX audit_events_name ON audit_events (incident_id, event_name, created_at);
-- Categories are bits of cat_mask; the bit of each name is assigned once, here.
CREATE TABLE audit_category_bits (
    name TEXT PRIMARY KEY,
    bit  INTEGER NOT NULL UNIQUE CHECK (bit BETWEEN 0 AND 62)
);
CREATE VIRTUAL TABLE audit_events_fts USING fts5 (
    author_name, entity_path, event_name, target_details, ip_address, summary, details,
    content = 'audit_events', content_rowid = 'rid',
    tokenize = "unicode61 tokenchars '.-_@:'"
);
CREATE TRIGGER audit_events_ai AFTER INSERT ON audit_events BEGIN
    INSERT INTO audit_events_fts (rowid, author_name, entity_path, event_name, target_details,
                                  ip_address, summary, details)
    VALUES (new.rid, new.author_name, new.entity_path, new.event_name, new.target_details,
            new.ip_address, new.summary, new.details);
END;
CREATE TRIGGER audit_events_ad AFTER DELETE ON audit_events BEGIN
    INSERT INTO audit_events_fts (audit_events_fts, rowid, author_name, entity_path, event_name,
                                  target_details, ip_address, summary, details)
    VALUES ('delete', old.rid, old.author_name, old.entity_path, old.event_name,
            old.target_details, old.ip_address, old.summary, old.details);
END;
CREATE TABLE credentials (
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    owner        TEXT NOT NULL DEFAULT '',
    owner_type   TEXT NOT NULL DEFAULT '',
    owner_id     INTEGER,
    scopes       TEXT NOT NULL DEFAULT '[]',
    created_at   TEXT,
    last_used_at TEXT,
    expires_at   TEXT,
    state        TEXT NOT NULL DEFAULT '',
    protected    INTEGER,
    flags        TEXT NOT NULL DEFAULT '',
    rotate_hint  TEXT NOT NULL DEFAULT '',
    extra        TEXT NOT NULL DEFAULT '{}',
    rank         INTEGER NOT NULL DEFAULT 0,
    urgency      INTEGER NOT NULL DEFAULT 0,
    flag_count   INTEGER NOT NULL DEFAULT 0,
    search_text  TEXT NOT NULL DEFAULT '',
    fetched_at   TEXT NOT NULL,
    PRIMARY KEY (incident_id, key)
) WITHOUT ROWID;
CREATE INDEX credentials_kind ON credentials (incident_id, kind);
CREATE INDEX credentials_owner ON credentials (incident_id, owner_id);
CREATE TABLE audit_windows (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    start       TEXT NOT NULL,
    end         TEXT NOT NULL,
    fetched_at  TEXT NOT NULL,
    PRIMARY KEY (incident_id, scope, start, end)
)
"""


# v4: whole plans journaled before their first request (console.store.plans).
_SCHEMA_V4: Final = """
CREATE TABLE action_plans (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    action      TEXT NOT NULL,
    params      TEXT NOT NULL DEFAULT '{}',
    title       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE INDEX action_plans_incident ON action_plans (incident_id, id);

CREATE TABLE plan_steps (
    plan_id      INTEGER NOT NULL REFERENCES action_plans (id),
    idx          INTEGER NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    NOT NULL,  -- no declared type (no affinity conversion)
    target_label TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT 'planned'
                 CHECK (state IN ('planned', 'started', 'refused', 'dropped', 'superseded')),
    entry_id     INTEGER REFERENCES journal (id),
    note         TEXT,
    PRIMARY KEY (plan_id, idx)
);
CREATE INDEX plan_steps_state ON plan_steps (state, plan_id);
"""


# v5: audit queries at a million events. The time index carries the scope and the category
# mask, so a category filter, its count and the per-category counts read only this narrow
# index, never the wide rows (details JSON); author names are looked up case-insensitively.
_SCHEMA_V5: Final = """
CREATE INDEX audit_events_time_cats
    ON audit_events (incident_id, created_at, id, scope, cat_mask);
DROP INDEX audit_events_time;
CREATE INDEX audit_events_author_name
    ON audit_events (incident_id, author_name COLLATE NOCASE, created_at);
"""


# v6: the full-text index is written in bulk. A per-row trigger cost about 190 µs an event
# (against about 50 µs for the same rows indexed by one INSERT … SELECT per transaction), so
# the writer (:meth:`EventStore.upsert_events`) indexes each transaction's new rows itself, in
# that same transaction: the index and the table commit together, and a crash can never leave
# stored rows unsearchable. The index is rebuilt with prefix indexes for one to three
# characters, so a short search reads one posting list instead of merging every term that
# starts with what was typed. Deleting still goes through a trigger (rare, and needs the old
# values). Events are also counted per incident, scope and category mask, in the same
# transaction as the rows, so the unfiltered total, a category key's count and the category bar
# are a few summary rows instead of a pass over a million.
_SCHEMA_V6: Final = """
CREATE TABLE audit_event_counts (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    cat_mask    INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (incident_id, scope, cat_mask)
) WITHOUT ROWID;
INSERT INTO audit_event_counts (incident_id, scope, cat_mask, n)
    SELECT incident_id, scope, cat_mask, count(*) FROM audit_events
    GROUP BY incident_id, scope, cat_mask;
DROP TRIGGER audit_events_ai;
DROP TABLE audit_events_fts;
CREATE VIRTUAL TABLE audit_events_fts USING fts5 (
    author_name, entity_path, event_name, target_details, ip_address, summary, details,
    content = 'audit_events', content_rowid = 'rid',
    tokenize = "unicode61 tokenchars '.-_@:'",
    prefix = '1 2 3'
);
INSERT INTO audit_events_fts (audit_events_fts) VALUES ('rebuild');
"""


# v7: the search index reads ``search_text`` (the details' values no other indexed column
# holds, :func:`console.store.event_rows.search_text`) instead of the details' JSON: half the
# index, and a third less time to store an event. Existing rows get theirs from the same
# function, registered for the migration only. The ``:target`` and ``:entity`` filters (and
# the inventory's cross-links, one target per credential) read partial indexes that leave out
# the events about users: those are the sign-ins, nearly all of a large log, and a user's
# events are found through the author index.
_SCHEMA_V7: Final = """
CREATE INDEX audit_events_target ON audit_events (incident_id, target_type, target_id)
    WHERE target_type != 'User';
CREATE INDEX audit_events_entity ON audit_events (incident_id, entity_type, entity_id)
    WHERE entity_type != 'User';
ALTER TABLE audit_events ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE audit_events SET search_text = console_search_text(
    details, author_name, entity_path, event_name, target_details, ip_address, summary);
DROP TRIGGER audit_events_ad;
DROP TABLE audit_events_fts;
CREATE VIRTUAL TABLE audit_events_fts USING fts5 (
    author_name, entity_path, event_name, target_details, ip_address, summary, search_text,
    content = 'audit_events', content_rowid = 'rid',
    tokenize = "unicode61 tokenchars '.-_@:'",
    prefix = '1 2 3'
);
INSERT INTO audit_events_fts (audit_events_fts) VALUES ('rebuild');
CREATE TRIGGER audit_events_ad AFTER DELETE ON audit_events BEGIN
    INSERT INTO audit_events_fts (audit_events_fts, rowid, author_name, entity_path, event_name,
                                  target_details, ip_address, summary, search_text)
    VALUES ('delete', old.rid, old.author_name, old.entity_path, old.event_name,
            old.target_details, old.ip_address, old.summary, old.search_text);
END;
"""


def _search_text_sql(details: str | None, *columns: str | None) -> str:
    try:
        parsed = json.loads(details or "{}")
    except ValueError:
        parsed = details or ""
    return search_text(parsed, tuple(c or "" for c in columns))


def migrate(con: sqlite3.Connection, path: Path) -> None:
    """Bring the database at ``path`` up to :data:`SCHEMA_VERSION` (refuses a newer one)."""
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} has schema version {version}; this console understands "
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


def _run_migration(con: sqlite3.Connection, from_version: int) -> None:
    """Run migration ``from_version → from_version + 1`` inside the caller's transaction."""
    steps = {
        0: _SCHEMA_V1,
        1: _SCHEMA_V2,
        2: _SCHEMA_V3,
        3: _SCHEMA_V4,
        4: _SCHEMA_V5,
        5: _SCHEMA_V6,
        6: _SCHEMA_V7,
    }
    if from_version == 6:
        con.create_function("console_search_text", 7, _search_text_sql, deterministic=True)
    if from_version in steps:
        for stmt in _statements(steps[from_version]):
            con.execute(stmt)
        return
    raise StoreError(f"no migration from schema version {from_version}")


def _statements(script: str) -> list[str]:
    """Split DDL into statements; a trigger body's inner ``;`` stays with its ``END``."""
    out: list[str] = []
    pending = ""
    for part in script.split(";\n"):
        pending = f"{pending};\n{part}" if pending else part
        head = pending.lstrip().upper()
        if head.startswith("CREATE TRIGGER") and not pending.rstrip().upper().endswith("END"):
            continue
        if pending.strip():
            out.append(pending)
        pending = ""
    return out
