"""The schema: DDL, ``PRAGMA user_version`` and forward migrations (one transaction each).

The users table is kept lean (no raw JSON) so that filtering, searching and sorting 100,000 rows
is a single fast scan; the raw GitLab JSON lives in ``user_raw``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from console.store.errors import StoreError

__all__ = ["SCHEMA_VERSION", "migrate"]

SCHEMA_VERSION: Final = 2

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
    steps = {0: _SCHEMA_V1, 1: _SCHEMA_V2}
    if from_version in steps:
        for stmt in steps[from_version].split(";\n"):
            if stmt.strip():
                con.execute(stmt)
        return
    raise StoreError(f"no migration from schema version {from_version}")
