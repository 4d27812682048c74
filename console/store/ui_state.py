"""UI state: small JSON values per incident (``incident_id=None`` for app-wide keys)."""

from __future__ import annotations

import json
from typing import Any

from console.store.connection import StoreBase
from console.store.values import dumps
from console.timeutil import utc_now

__all__ = ["UiStateStore"]


class UiStateStore(StoreBase):
    """Debounced by the caller; each save is one small transaction."""

    def save_ui_state(self, incident_id: int | None, key: str, value: Any) -> None:
        """One small transaction; ``incident_id=None`` stores an app-wide key."""
        with self._write() as con:
            con.execute(
                "INSERT INTO ui_state (incident_id, key, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (incident_id, key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (incident_id or 0, key, dumps(value), utc_now()),
            )

    def load_ui_state(self, incident_id: int | None) -> dict[str, Any]:
        rows = self._conn().execute(
            "SELECT key, value FROM ui_state WHERE incident_id = ?", (incident_id or 0,)
        )
        return {k: json.loads(v) for k, v in rows}
