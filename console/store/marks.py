"""Review marks: ``cleared`` / ``flagged`` (and a note) per object, and review progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from console.store.connection import StoreBase
from console.store.errors import StoreError
from console.store.values import dbstr
from console.timeutil import utc_now

__all__ = ["MARKS", "Mark", "MarkStore", "ReviewProgress"]

MARKS: Final = frozenset({"cleared", "flagged"})


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


class MarkStore(StoreBase):
    """Marks on users (joined to the users cache by numeric id) and on other objects."""

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
                    "DELETE FROM marks WHERE incident_id = ? AND object_type = ? AND object_id = ?",
                    (incident_id, object_type, object_id),
                )
                return
            con.execute(
                "INSERT INTO marks (incident_id, object_type, object_id, mark, note, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, object_type, object_id) "
                "DO UPDATE SET mark = excluded.mark, note = excluded.note, "
                "updated_at = excluded.updated_at",
                (incident_id, object_type, object_id, mark, dbstr(note), utc_now()),
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
