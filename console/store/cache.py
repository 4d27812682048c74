"""Cached server data: JSON values per incident and key, with the time they were fetched."""

from __future__ import annotations

import json
from typing import Any

from console.store.connection import StoreBase
from console.store.values import dumps
from console.timeutil import utc_now

__all__ = ["CacheStore"]


class CacheStore(StoreBase):
    """``cache_put`` / ``cache_get``: lets panes show the last fetch at once and rescore offline."""

    def cache_put(self, incident_id: int | None, key: str, value: Any) -> str:
        """Store JSON-able server data; returns the ``fetched_at`` stamp."""
        now = utc_now()
        with self._write() as con:
            con.execute(
                "INSERT INTO cache (incident_id, key, value, fetched_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (incident_id, key) DO UPDATE SET value = excluded.value, "
                "fetched_at = excluded.fetched_at",
                (incident_id or 0, key, dumps(value), now),
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
