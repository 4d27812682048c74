"""Responder notes: free text on the incident, a user, a credential or an audit event.

Each note keeps who wrote it and when, so the timeline and the report can show it; notes are
append-only (a correction is a new note), like a case file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from console.store.connection import StoreBase
from console.store.errors import StoreError
from console.store.values import dbstr
from console.timeutil import utc_now

__all__ = ["NOTE_OBJECTS", "Note", "NoteStore"]

NOTE_OBJECTS: Final = frozenset({"incident", "user", "credential", "event"})
MAX_NOTE_CHARS: Final = 10_000


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    incident_id: int
    object_type: str
    object_id: str
    text: str
    author: str
    created_at: str


def _row_to_note(r: Sequence[Any]) -> Note:
    return Note(int(r[0]), int(r[1]), r[2], str(r[3]), r[4], r[5], r[6])


class NoteStore(StoreBase):
    """``add_note`` / ``notes``: one row per note, never edited in place."""

    def add_note(
        self,
        incident_id: int,
        object_type: str,
        object_id: int | str,
        text: str,
        author: str,
    ) -> Note:
        if object_type not in NOTE_OBJECTS:
            raise StoreError(f"a note is on one of {sorted(NOTE_OBJECTS)}")
        body = (dbstr(text) or "").strip()
        if not body:
            raise StoreError("a note needs some text")
        if len(body) > MAX_NOTE_CHARS:
            raise StoreError(f"a note is at most {MAX_NOTE_CHARS} characters")
        now = utc_now()
        with self._write() as con:
            cur = con.execute(
                "INSERT INTO notes (incident_id, object_type, object_id, text, author, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (incident_id, object_type, str(object_id), body, dbstr(author) or "", now),
            )
            note_id = int(cur.lastrowid or 0)
        return Note(note_id, incident_id, object_type, str(object_id), body, author, now)

    def notes(
        self,
        incident_id: int,
        object_type: str | None = None,
        object_id: int | str | None = None,
    ) -> list[Note]:
        """The incident's notes, oldest first (optionally those on one kind or one object)."""
        sql = (
            "SELECT id, incident_id, object_type, object_id, text, author, created_at "
            "FROM notes WHERE incident_id = ?"
        )
        args: list[Any] = [incident_id]
        if object_type is not None:
            sql += " AND object_type = ?"
            args.append(object_type)
        if object_id is not None:
            sql += " AND object_id = ?"
            args.append(str(object_id))
        sql += " ORDER BY created_at, id"
        return [_row_to_note(r) for r in self._conn().execute(sql, args)]
