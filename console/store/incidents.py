"""Incidents: one row per investigation (title, kind, instance, time window, status)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from console.store.connection import StoreBase
from console.store.errors import StoreError
from console.store.values import dbstr, dumps
from console.timeutil import utc_now, window_bound

__all__ = ["INCIDENT_KINDS", "INCIDENT_STATUSES", "Incident", "IncidentStore"]

INCIDENT_KINDS: Final = frozenset({"compromised-instance", "compromised-account"})
INCIDENT_STATUSES: Final = frozenset({"open", "closed"})


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
_INCIDENT_COLS: Final = (
    "id, title, kind, profile, instance_url, subjects, window_start, window_end, status, "
    "created_at, updated_at, last_active_at"
)
_SELECT_INCIDENTS: Final = f"SELECT {_INCIDENT_COLS} FROM incidents"  # noqa: S608


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


class IncidentStore(StoreBase):
    """Create, list, read and update incidents."""

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
        now = utc_now()
        with self._write() as con:
            cur = con.execute(
                "INSERT INTO incidents (title, kind, profile, instance_url, subjects, "
                "window_start, window_end, status, created_at, updated_at, last_active_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
                (
                    dbstr(title),
                    kind,
                    dbstr(profile),
                    dbstr(instance_url),
                    dumps([str(s) for s in subjects]),
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
        r = self._conn().execute(_SELECT_INCIDENTS + " WHERE id = ?", (incident_id,)).fetchone()
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
                values[key] = dumps([str(s) for s in value])
            elif key in ("window_start", "window_end"):
                values[key] = window_bound(value, end=key == "window_end")
            else:
                values[key] = dbstr(value)
        now = utc_now()
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
                "UPDATE incidents SET last_active_at = ? WHERE id = ?",
                (utc_now(), incident_id),
            )
