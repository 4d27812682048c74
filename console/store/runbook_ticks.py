"""Runbook ticks: steps the console cannot perform, ticked (or an open item closed) by hand.

One row per incident and key (a step key such as ``instance.open_ports``, or an open item's key
such as ``open:unblock:42``), with who ticked it, when and a note. Steps the console performs
tick themselves from the journal, marks and cache (:mod:`console.runbook`); this table only
holds what a person attested.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.store.connection import StoreBase
from console.store.errors import StoreError
from console.store.values import dbstr
from console.timeutil import utc_now

__all__ = ["RunbookTick", "RunbookTickStore"]


@dataclass(frozen=True, slots=True)
class RunbookTick:
    key: str
    author: str
    note: str
    at: str


class RunbookTickStore(StoreBase):
    """``tick_runbook`` / ``untick_runbook`` / ``runbook_ticks``."""

    def tick_runbook(self, incident_id: int, key: str, author: str, note: str = "") -> RunbookTick:
        """Record that ``author`` did (or closed) ``key`` now; ticking again replaces the note."""
        if not key or len(key) > 200:
            raise StoreError("a runbook key is 1-200 characters")
        if not (author or "").strip():
            raise StoreError("a hand tick needs the responder's name")
        now = utc_now()
        with self._write() as con:
            con.execute(
                "INSERT INTO runbook_ticks (incident_id, key, author, note, at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (incident_id, key) DO UPDATE SET "
                "author = excluded.author, note = excluded.note, at = excluded.at",
                (incident_id, key, dbstr(author.strip()), dbstr(note) or "", now),
            )
        return RunbookTick(key, author.strip(), note or "", now)

    def untick_runbook(self, incident_id: int, key: str) -> None:
        with self._write() as con:
            con.execute(
                "DELETE FROM runbook_ticks WHERE incident_id = ? AND key = ?", (incident_id, key)
            )

    def runbook_ticks(self, incident_id: int) -> dict[str, RunbookTick]:
        rows = self._conn().execute(
            "SELECT key, author, note, at FROM runbook_ticks WHERE incident_id = ?",
            (incident_id,),
        )
        return {r[0]: RunbookTick(r[0], r[1], r[2], r[3]) for r in rows}
